// Entry point of dist/faqbot-widget.js. The clinic's page includes
//
//   <script>window.faqbotWidgetConfig = { title: "Ask the clinic" };</script>
//   <script src="https://BOT-SERVER/webhooks/widget/faqbot-widget.js" defer></script>
//
// The config object is optional; the server defaults to the origin the script came from.

import { resolveConfig, scriptOrigin } from "./config.js";
import { Widget } from "./widget.js";

const script = document.currentScript;

function start() {
  if (window.FaqbotWidget && window.FaqbotWidget.instance) return;
  const config = resolveConfig(window.faqbotWidgetConfig, scriptOrigin(script));
  const widget = new Widget(config);
  window.FaqbotWidget = { instance: widget, open: () => widget.open(), close: () => widget.close() };
  widget.mount();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
