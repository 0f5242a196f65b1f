// The widget's stylesheet (inside its shadow root, so the page's CSS neither leaks in nor out).
// Colours meet WCAG AA (4.5:1) with the defaults; the primary colour's text colour is computed.

export const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.fb-root {
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  font-size: var(--fb-font-size);
  line-height: 1.5;
  color: var(--fb-text);
}
.fb-sr {
  position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap;
}
button { font: inherit; cursor: pointer; }
button:focus-visible, textarea:focus-visible, .fb-log:focus-visible {
  outline: 3px solid #1a1a1a; outline-offset: 2px; box-shadow: 0 0 0 5px #ffbf47;
}
.fb-launcher {
  position: fixed; bottom: 16px; z-index: 2147483000;
  padding: 0.7em 1.1em; border: 2px solid transparent; border-radius: 999px;
  background: var(--fb-primary); color: var(--fb-on-primary); font-weight: 600;
  box-shadow: 0 4px 14px rgba(0, 0, 0, 0.3);
}
.fb-panel {
  position: fixed; bottom: 16px; z-index: 2147483001;
  width: min(420px, calc(100vw - 16px)); height: min(640px, calc(100vh - 32px));
  display: flex; flex-direction: column;
  background: var(--fb-background); border: 1px solid #6b6b6b; border-radius: 12px;
  box-shadow: 0 8px 28px rgba(0, 0, 0, 0.35); overflow: hidden;
}
.fb-right { right: 16px; }
.fb-left { left: 16px; }
.fb-panel[hidden], .fb-launcher[hidden], .fb-typing[hidden] { display: none; }
.fb-header {
  display: flex; align-items: center; gap: 0.5em; padding: 0.5em 0.75em;
  background: var(--fb-primary); color: var(--fb-on-primary);
}
.fb-title { flex: 1; margin: 0; font-size: 1.1em; font-weight: 700; }
.fb-header button {
  background: transparent; color: inherit; border: 2px solid currentColor;
  border-radius: 8px; padding: 0.15em 0.5em; min-height: 44px; min-width: 44px;
}
.fb-notice { margin: 0; padding: 0.4em 0.9em; font-size: 0.85em; background: #fff4d6; color: #3d2c00;
  border-bottom: 1px solid #d9c48a; }
.fb-status { margin: 0; padding: 0 0.9em; font-size: 0.85em; color: #7a2600; }
.fb-status:empty { display: none; }
.fb-log { flex: 1; overflow-y: auto; padding: 0.75em; display: flex; flex-direction: column;
  gap: 0.6em; }
.fb-intro { margin: 0; padding: 0.4em 0.6em; font-size: 0.9em; color: #2b3540;
  border: 1px solid #c9d1d9; border-radius: 8px; background: #f8f9fa; }
.fb-msg { max-width: 92%; padding: 0.55em 0.8em; border-radius: 12px; overflow-wrap: anywhere; }
.fb-msg p { margin: 0.25em 0; white-space: pre-line; }
.fb-user { align-self: flex-end; background: var(--fb-primary); color: var(--fb-on-primary); }
.fb-bot { align-self: flex-start; background: #eef1f4; color: #1a1a1a; border: 1px solid #c9d1d9; }
.fb-quote { margin: 0.4em 0; padding: 0.3em 0.7em; border-left: 4px solid var(--fb-primary);
  background: #ffffff; color: #1a1a1a; white-space: pre-line; }
.fb-source { font-size: 0.9em; color: #2b3540; }
.fb-source-label { font-weight: 700; }
.fb-source cite { font-style: normal; }
.fb-note { font-size: 0.85em; color: #3b4450; border-top: 1px solid #c9d1d9; padding-top: 0.4em; }
.fb-reference { margin-top: 0.5em !important; padding: 0.4em 0.6em; background: #ffffff;
  border: 2px dashed #1a1a1a; border-radius: 8px; color: #1a1a1a; }
.fb-reference-code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1.15em;
  letter-spacing: 0.06em; white-space: nowrap; }
.fb-emergency { background: #b00020; color: #ffffff; border: 3px solid #5c0011; max-width: 100%; }
.fb-emergency .fb-alert-title { font-size: 1.1em; text-transform: uppercase; letter-spacing: 0.05em; }
.fb-choices { display: flex; flex-direction: column; gap: 0.4em; margin-top: 0.5em; }
.fb-choice {
  text-align: left; padding: 0.5em 0.75em; min-height: 44px; border-radius: 8px;
  border: 2px solid var(--fb-primary); background: #ffffff; color: #1a1a1a;
}
.fb-choice:hover:not(:disabled) { background: #e3ecf6; }
.fb-choice:disabled { cursor: default; color: #555555; border-color: #8a8a8a; background: #f4f4f4; }
.fb-typing { margin: 0; padding: 0.2em 0.9em 0.4em; color: #3b4450; font-size: 0.9em; }
.fb-dots span { display: inline-block; width: 0.45em; height: 0.45em; margin-right: 0.2em;
  border-radius: 50%; background: #3b4450; animation: fb-blink 1.2s infinite ease-in-out; }
.fb-dots span:nth-child(2) { animation-delay: 0.2s; }
.fb-dots span:nth-child(3) { animation-delay: 0.4s; }
@keyframes fb-blink { 0%, 80%, 100% { opacity: 0.25; } 40% { opacity: 1; } }
@media (prefers-reduced-motion: reduce) { .fb-dots span { animation: none; } }
.fb-form { display: flex; gap: 0.5em; align-items: flex-end; padding: 0.6em 0.75em;
  border-top: 1px solid #c9d1d9; }
.fb-form label { display: block; font-size: 0.85em; font-weight: 600; margin-bottom: 0.2em; }
.fb-field { flex: 1; }
.fb-input { width: 100%; min-height: 2.8em; max-height: 8em; resize: vertical; padding: 0.4em 0.5em;
  font: inherit; color: #1a1a1a; background: #ffffff; border: 2px solid #6b6b6b; border-radius: 8px; }
.fb-send { min-height: 44px; padding: 0.4em 1em; border-radius: 8px; border: 2px solid transparent;
  background: var(--fb-primary); color: var(--fb-on-primary); font-weight: 600; }
@media (max-width: 480px) {
  .fb-panel { right: 0; left: 0; bottom: 0; width: 100vw; height: 100vh; border-radius: 0; }
}
`;
