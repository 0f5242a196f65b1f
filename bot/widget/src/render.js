// Turning messages into DOM nodes. Text is only ever set with textContent (never as HTML).

/** Create an element with attributes and children (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

const OPEN_QUOTE = "“";
const CLOSE_QUOTE = "”";
const SOURCE = /^Source:\s*(.+)$/;

/**
 * Split a bot message into blocks: paragraphs, quotes (“…”), citation lines ("Source: …") and
 * the disclaimer note. The bot writes answers as
 * `lead\n“quote”\nSource: Article › Section\n\ndisclaimer`.
 */
export function blocks(text, disclaimer) {
  const out = [];
  let para = [];
  let quote = null;
  const flush = () => {
    if (!para.length) return;
    const joined = para.join("\n");
    const isNote = disclaimer && joined.trim() === disclaimer.trim();
    out.push({ type: isNote ? "note" : "p", text: joined });
    para = [];
  };
  for (const line of String(text).split("\n")) {
    const trimmed = line.trim();
    if (quote !== null) {
      quote.push(line);
      if (trimmed.endsWith(CLOSE_QUOTE)) {
        out.push({ type: "quote", text: quote.join("\n") });
        quote = null;
      }
      continue;
    }
    if (!trimmed) {
      flush();
      continue;
    }
    const source = SOURCE.exec(trimmed);
    if (source) {
      flush();
      out.push({ type: "source", text: source[1] });
    } else if (trimmed.startsWith(OPEN_QUOTE)) {
      flush();
      if (trimmed.length > 1 && trimmed.endsWith(CLOSE_QUOTE)) {
        out.push({ type: "quote", text: trimmed });
      } else {
        quote = [line];
      }
    } else {
      para.push(line);
    }
  }
  if (quote !== null) out.push({ type: "quote", text: quote.join("\n") });
  flush();
  return out;
}

function blockNode(block, strings) {
  switch (block.type) {
    case "quote":
      return h("blockquote", { class: "fb-quote", text: block.text });
    case "source":
      return h(
        "p",
        { class: "fb-source" },
        h("span", { class: "fb-source-label", text: strings.source }),
        " ",
        h("cite", { text: block.text }),
      );
    case "note":
      return h("p", { class: "fb-note", text: block.text });
    default:
      return h("p", { text: block.text });
  }
}

/**
 * A message of the log. `record` is `{from, text, buttons?, kind?, reference?}`;
 * `onChoice(button)` is called when one of its buttons is pressed.
 */
export function messageNode(record, { strings, disclaimer, onChoice }) {
  if (record.from === "user") {
    return h(
      "div",
      { class: "fb-msg fb-user" },
      h("span", { class: "fb-sr", text: strings.you }),
      h("p", { text: record.text }),
    );
  }
  const emergency = record.kind === "emergency";
  const node = h("div", {
    class: `fb-msg fb-bot${emergency ? " fb-emergency" : ""}`,
    "data-kind": record.kind || null,
    role: emergency ? "alert" : null,
  });
  if (emergency) {
    node.append(h("p", { class: "fb-alert-title" }, h("strong", { text: strings.emergency })));
  } else {
    node.append(h("span", { class: "fb-sr", text: strings.assistant }));
  }
  for (const block of blocks(record.text, disclaimer)) node.append(blockNode(block, strings));
  if (record.reference) {
    node.append(
      h(
        "p",
        { class: "fb-reference" },
        h("span", { text: strings.reference }),
        " ",
        h("strong", { class: "fb-reference-code", text: record.reference }),
      ),
    );
  }
  if (record.buttons && record.buttons.length) {
    const group = h("div", { class: "fb-choices", role: "group", "aria-label": strings.choices });
    for (const button of record.buttons) {
      group.append(
        h("button", {
          type: "button",
          class: "fb-choice",
          text: button.title,
          onclick: () => onChoice(button),
        }),
      );
    }
    node.append(group);
  }
  return node;
}
