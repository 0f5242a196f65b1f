// The widget's configuration: defaults, the page's config object, interface strings and colours.

export const DEFAULT_DISCLAIMER =
  "Please note: I share general information from the clinic's articles. " +
  "It is not medical advice for your situation.";

const STRINGS = {
  en: {
    launcher: "Questions? Chat with us",
    close: "Close chat",
    newChat: "Start a new conversation",
    newChatShort: "New chat",
    log: "Conversation",
    inputLabel: "Type your question",
    placeholder: "Type your question here",
    send: "Send",
    you: "You said:",
    assistant: "Clinic assistant said:",
    typing: "The assistant is typing…",
    connecting: "Connecting…",
    offline: "Connection lost. Trying to reconnect…",
    unreachable:
      "The chat can't reach the clinic's assistant right now. It will keep trying. " +
      "Please contact the clinic directly if you need help now.",
    choices: "Choose one",
    source: "Source:",
    reference: "Your reference number:",
    emergency: "Emergency",
    emergencyNote: "In an emergency, call your local emergency number now.",
    inputError: "Sorry, that message could not be sent:",
  },
};

const DEFAULTS = {
  serverUrl: "",
  socketPath: "/socket.io",
  // Long-polling only: WebSockets fail inside the Rasa 3.6 server's Sanic 21.12 on Python 3.11,
  // so bot/channels/socketio.py offers polling only. It is plenty for a chat.
  transports: ["polling"],
  title: "Ask the clinic",
  language: "en",
  colors: { primary: "#0b5394", background: "#ffffff", text: "#1a1a1a" },
  fontSize: 18,
  position: "right",
  storage: "session", // "session" (default, cleared when the tab closes), "local" or "none"
  historyLimit: 50,
  historyMaxAgeMinutes: 60,
  disclaimer: DEFAULT_DISCLAIMER,
  greet: true,
  open: false,
  strings: {},
};

/** The origin the widget script was loaded from (the bot server), or the page's own origin. */
export function scriptOrigin(script) {
  try {
    if (script && script.src) return new URL(script.src, window.location.href).origin;
  } catch (_) {
    // fall through to the page's origin
  }
  return window.location.origin;
}

/** Merge the page's config object over the defaults; unknown or ill-typed values are ignored. */
export function resolveConfig(page, fallbackServer) {
  const given = page && typeof page === "object" ? page : {};
  const config = { ...DEFAULTS, colors: { ...DEFAULTS.colors } };
  for (const key of Object.keys(DEFAULTS)) {
    if (key === "colors" || key === "strings") continue;
    if (key === "transports") {
      const valid = Array.isArray(given.transports) && given.transports.length &&
        given.transports.every((t) => t === "polling" || t === "websocket");
      if (valid) config.transports = [...given.transports];
      continue;
    }
    if (given[key] !== undefined && typeof given[key] === typeof DEFAULTS[key]) {
      config[key] = given[key];
    }
  }
  if (given.colors && typeof given.colors === "object") {
    for (const key of Object.keys(DEFAULTS.colors)) {
      if (typeof given.colors[key] === "string") config.colors[key] = given.colors[key];
    }
  }
  config.serverUrl = (config.serverUrl || fallbackServer).replace(/\/+$/, "");
  if (!["session", "local", "none"].includes(config.storage)) config.storage = DEFAULTS.storage;
  config.historyLimit = Math.max(1, Math.min(500, Math.floor(config.historyLimit) || 50));
  config.fontSize = Math.max(14, Math.min(32, Number(config.fontSize) || DEFAULTS.fontSize));
  const base = STRINGS[config.language] || STRINGS.en;
  config.strings = { ...STRINGS.en, ...base };
  const translated = given.strings && typeof given.strings === "object";
  // The lang attribute names the language the interface is really in (for screen readers).
  config.lang = STRINGS[config.language] || translated ? config.language : "en";
  if (translated) {
    for (const [key, value] of Object.entries(given.strings)) {
      if (key in config.strings && typeof value === "string") config.strings[key] = value;
    }
  }
  return config;
}

function channel(value) {
  const c = value / 255;
  return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** Relative luminance (WCAG 2) of a #rgb or #rrggbb colour; null for anything else. */
export function luminance(color) {
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(color).trim());
  if (!match) return null;
  let hex = match[1];
  if (hex.length === 3) hex = [...hex].map((c) => c + c).join("");
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** Dark or white text, whichever contrasts more with ``background`` (at least 4.58:1). */
export function readableOn(background) {
  const lum = luminance(background);
  if (lum === null) return "#ffffff";
  const withWhite = 1.05 / (lum + 0.05);
  const withDark = (lum + 0.05) / (luminance("#111111") + 0.05);
  return withWhite >= withDark ? "#ffffff" : "#111111";
}
