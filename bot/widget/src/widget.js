// The chat widget: launcher button, chat panel, and the conversation over Rasa's socket.io channel.
//
// Events (see bot/channels/socketio.py): the widget sends `session_request {session_id}` and
// `user_uttered {message, session_id}`; the server answers `session_confirm <id>`, one
// `bot_uttered {text, quick_replies?, custom?}` per bot message, `bot_turn_end` when it has
// answered a message, and `input_error {error}` for a message it refused.

import { io } from "socket.io-client";
import { readableOn } from "./config.js";
import { h, messageNode } from "./render.js";
import { openStore } from "./storage.js";
import { CSS } from "./styles.js";

const GREET = "/greet";
const MAX_SEND_CHARS = 20000; // the server cuts messages much shorter (and says so)
const TYPING_TIMEOUT_MS = 60000;

function toRecord(message) {
  if (!message || typeof message !== "object") return null;
  const custom = message.custom && typeof message.custom === "object" ? message.custom : {};
  const replies = Array.isArray(message.quick_replies) ? message.quick_replies : [];
  const buttons = replies
    .filter((b) => b && typeof b.title === "string" && typeof b.payload === "string")
    .map((b) => ({ title: b.title, payload: b.payload }));
  const text = typeof message.text === "string" ? message.text : "";
  if (!text && !buttons.length) return null;
  const handoff = custom.handoff && typeof custom.handoff === "object" ? custom.handoff : {};
  return {
    from: "bot",
    text,
    buttons: buttons.length ? buttons : undefined,
    kind: typeof custom.kind === "string" ? custom.kind : undefined,
    reference: typeof handoff.reference === "string" ? handoff.reference : undefined,
  };
}

export class Widget {
  constructor(config) {
    this.config = config;
    this.strings = config.strings;
    this.store = openStore(
      config.storage,
      `faqbot-widget:${config.serverUrl}`,
      config.historyLimit,
      config.historyMaxAgeMinutes,
    );
    this.socket = null;
    this.ready = false;
    this.queue = [];
    this.pending = 0;
    this.typingTimer = null;
    this.pinned = null; // an emergency message stays in view while the rest of its turn arrives
  }

  mount(parent = document.body) {
    const { config, strings } = this;
    const side = config.position === "left" ? "fb-left" : "fb-right";
    this.host = h("div", { id: "faqbot-widget", lang: config.lang });
    const root = this.host.attachShadow({ mode: "open" });
    const style = h("style", { text: CSS });
    this.launcher = h("button", {
      type: "button",
      class: `fb-launcher ${side}`,
      "aria-expanded": "false",
      "aria-controls": "fb-panel",
      text: strings.launcher,
      onclick: () => this.open(),
    });
    this.log = h("div", {
      class: "fb-log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      "aria-label": strings.log,
      tabindex: "0",
    });
    this.status = h("p", { class: "fb-status", role: "status" });
    this.typing = h(
      "p",
      { class: "fb-typing", role: "status", hidden: true },
      h("span", { class: "fb-dots", "aria-hidden": "true" }, h("span"), h("span"), h("span")),
      " ",
      strings.typing,
    );
    this.input = h("textarea", {
      id: "fb-input",
      class: "fb-input",
      rows: "2",
      placeholder: strings.placeholder,
      autocomplete: "off",
      onkeydown: (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.submit();
        }
      },
    });
    const form = h(
      "form",
      {
        class: "fb-form",
        onsubmit: (event) => {
          event.preventDefault();
          this.submit();
        },
      },
      h(
        "div",
        { class: "fb-field" },
        h("label", { for: "fb-input", text: strings.inputLabel }),
        this.input,
      ),
      h("button", { type: "submit", class: "fb-send", text: strings.send }),
    );
    this.panel = h(
      "section",
      {
        id: "fb-panel",
        class: `fb-panel ${side}`,
        role: "dialog",
        "aria-modal": "false",
        "aria-labelledby": "fb-title",
        hidden: true,
        onkeydown: (event) => {
          if (event.key === "Escape") {
            event.preventDefault();
            this.close();
          }
        },
      },
      h(
        "div",
        { class: "fb-header" },
        h("h2", { id: "fb-title", class: "fb-title", text: config.title }),
        h("button", {
          type: "button",
          class: "fb-new",
          "aria-label": strings.newChat,
          text: strings.newChatShort,
          onclick: () => this.restart(),
        }),
        h("button", {
          type: "button",
          class: "fb-close",
          "aria-label": strings.close,
          text: "✕",
          onclick: () => this.close(),
        }),
      ),
      strings.emergencyNote ? h("p", { class: "fb-notice", text: strings.emergencyNote }) : null,
      this.status,
      this.log,
      this.typing,
      form,
    );
    const wrapper = h("div", { class: "fb-root" }, this.launcher, this.panel);
    wrapper.style.setProperty("--fb-font-size", `${config.fontSize}px`);
    wrapper.style.setProperty("--fb-primary", config.colors.primary);
    wrapper.style.setProperty("--fb-on-primary", readableOn(config.colors.primary));
    wrapper.style.setProperty("--fb-background", config.colors.background);
    wrapper.style.setProperty("--fb-text", config.colors.text);
    root.append(style, wrapper);
    // History goes in before the widget is on the page, so screen readers don't read it all out.
    if (config.disclaimer) this.log.append(h("p", { class: "fb-intro", text: config.disclaimer }));
    for (const record of this.store.state.history) this.render(record);
    this.refreshChoices();
    parent.append(this.host);
    if (this.store.state.open || config.open) this.open({ focus: false });
  }

  open({ focus = true } = {}) {
    this.panel.hidden = false;
    this.launcher.hidden = true;
    this.launcher.setAttribute("aria-expanded", "true");
    this.store.state.open = true;
    this.store.save();
    this.scrollToEnd();
    this.connect();
    if (focus) this.input.focus();
  }

  close() {
    this.panel.hidden = true;
    this.launcher.hidden = false;
    this.launcher.setAttribute("aria-expanded", "false");
    this.store.state.open = false;
    this.store.save();
    this.launcher.focus();
  }

  connect() {
    if (this.socket) return;
    this.setStatus(this.strings.connecting);
    const socket = io(this.config.serverUrl, {
      path: this.config.socketPath,
      transports: this.config.transports,
    });
    this.socket = socket;
    socket.on("connect", () => {
      this.setStatus("");
      socket.emit("session_request", { session_id: this.store.state.sessionId });
    });
    socket.on("session_confirm", (id) => this.confirmed(id));
    socket.on("bot_uttered", (message) => this.received(message));
    socket.on("bot_turn_end", () => this.turnEnded());
    socket.on("input_error", (data) => {
      const reason = data && typeof data.error === "string" ? data.error : "";
      this.setStatus(`${this.strings.inputError} ${reason}`.trim());
      this.turnEnded();
    });
    socket.on("disconnect", () => {
      this.ready = false;
      this.setTyping(false, true);
      this.setStatus(this.strings.offline);
    });
    socket.on("connect_error", () => {
      this.ready = false;
      this.setTyping(false, true);
      this.setStatus(this.strings.unreachable);
    });
  }

  confirmed(id) {
    if (typeof id !== "string" || !id) return;
    const state = this.store.state;
    if (state.sessionId !== id) {
      state.sessionId = id;
      this.store.save();
    }
    this.ready = true;
    this.setStatus("");
    if (this.config.greet && !state.greeted && !state.history.length) {
      state.greeted = true;
      this.store.save();
      this.queue.unshift(GREET);
      this.setTyping(true);
    }
    this.flush();
  }

  flush() {
    while (this.ready && this.queue.length) {
      const message = this.queue.shift();
      this.socket.emit("user_uttered", { message, session_id: this.store.state.sessionId });
    }
  }

  submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.send(text.slice(0, MAX_SEND_CHARS), text);
  }

  /** Send `payload` to the bot and show `shown` as the patient's message. */
  send(payload, shown) {
    this.pinned = null;
    this.append({ from: "user", text: shown });
    this.queue.push(payload);
    this.setTyping(true);
    this.connect();
    this.flush();
  }

  received(message) {
    const record = toRecord(message);
    if (!record) return;
    this.setStatus("");
    this.append(record);
  }

  append(record) {
    const state = this.store.state;
    state.history.push(record);
    this.store.save();
    const node = this.render(record);
    if (record.kind === "emergency") this.pinned = node;
    this.refreshChoices();
    this.scrollToEnd();
  }

  render(record) {
    const node = messageNode(record, {
      strings: this.strings,
      disclaimer: this.config.disclaimer,
      onChoice: (button) => {
        this.send(button.payload, button.title);
        this.input.focus();
      },
    });
    this.log.append(node);
    return node;
  }

  /** Only the buttons of the latest message can be used; older ones are disabled. */
  refreshChoices() {
    const messages = this.log.querySelectorAll(".fb-msg");
    messages.forEach((message, index) => {
      const latest = index === messages.length - 1;
      for (const button of message.querySelectorAll(".fb-choice")) button.disabled = !latest;
    });
  }

  turnEnded() {
    this.pending = Math.max(0, this.pending - 1);
    if (!this.pending) this.setTyping(false, true);
  }

  setTyping(on, reset = false) {
    if (on) this.pending += 1;
    if (reset) this.pending = 0;
    clearTimeout(this.typingTimer);
    this.typing.hidden = this.pending === 0;
    if (this.pending) {
      this.typingTimer = setTimeout(() => this.setTyping(false, true), TYPING_TIMEOUT_MS);
    }
  }

  restart() {
    this.store.clear();
    this.store.state.open = true;
    for (const message of this.log.querySelectorAll(".fb-msg")) message.remove();
    this.queue = [];
    this.setTyping(false, true);
    this.store.save();
    if (this.socket && this.socket.connected) {
      this.ready = false;
      this.socket.emit("session_request", { session_id: null });
    }
    this.input.focus();
  }

  setStatus(text) {
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  scrollToEnd() {
    if (this.pinned && this.pinned.isConnected) {
      const offset =
        this.pinned.getBoundingClientRect().top - this.log.getBoundingClientRect().top;
      this.log.scrollTop += offset - 8;
    } else {
      this.log.scrollTop = this.log.scrollHeight;
    }
  }
}
