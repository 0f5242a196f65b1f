"""Driving the website widget in Debian's headless Chromium with playwright (no download)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
TURN_TIMEOUT_MS = 60_000

# The widget lives in an open shadow root; playwright's CSS selectors pierce it, page scripts don't.
_ROOT = "document.querySelector('#faqbot-widget').shadowRoot"
# A message's visible text, without the screen-reader-only "You said:" / "Clinic assistant said:".
_SHOWN = (
    "const shown = (m) => [...m.children].filter((c) => !c.classList.contains('fb-sr'))"
    ".map((c) => c.innerText).join('\\n');"
)


def shadow(page: Page, script: str) -> Any:
    """Evaluate ``script`` (an expression over ``root``, the widget's shadow root)."""
    return page.evaluate(f"(() => {{ const root = {_ROOT}; {_SHOWN} return {script}; }})()")


def focused(page: Page) -> str:
    """The class of the element with keyboard focus inside the widget ('' when outside it)."""
    return str(shadow(page, "root.activeElement ? root.activeElement.className : ''"))


def bot_count(page: Page) -> int:
    return int(shadow(page, "root.querySelectorAll('.fb-bot').length"))


def wait_for_turn(page: Page, bots_before: int) -> None:
    """Wait until a new bot message arrived and the typing indicator went away."""
    page.wait_for_function(
        f"""([n]) => {{
            const root = {_ROOT};
            return root.querySelectorAll('.fb-bot').length > n
                && root.querySelector('.fb-typing').hidden;
        }}""",
        arg=[bots_before],
        timeout=TURN_TIMEOUT_MS,
    )


def open_widget(page: Page, url: str) -> None:
    """Load the page, open the chat and wait for the bot's greeting."""
    page.goto(url)
    page.get_by_role("button", name="Questions? Chat with us").click()
    wait_for_turn(page, 0)


def ask(page: Page, text: str) -> List[Dict[str, Any]]:
    """Type a question, press Enter, and return the bot messages of the reply."""
    before = bot_count(page)
    page.locator("#fb-input").fill(text)
    page.locator("#fb-input").press("Enter")
    wait_for_turn(page, before)
    return bot_messages(page)[before:]


def bot_messages(page: Page) -> List[Dict[str, Any]]:
    """The bot messages on screen: kind, role, text, citation lines, reference, buttons."""
    return list(
        shadow(
            page,
            """[...root.querySelectorAll('.fb-bot')].map((m) => ({
                kind: m.dataset.kind || null,
                role: m.getAttribute('role'),
                text: shown(m),
                sources: [...m.querySelectorAll('.fb-source')].map((s) => s.innerText),
                quotes: [...m.querySelectorAll('.fb-quote')].map((q) => q.innerText),
                reference: (m.querySelector('.fb-reference-code') || {}).innerText || null,
                buttons: [...m.querySelectorAll('.fb-choice')].map((b) => b.innerText),
            }))""",
        )
    )


def log_texts(page: Page) -> List[str]:
    """Every message in the log, in order, as ``user: ...`` or ``bot: ...``."""
    return list(
        shadow(
            page,
            """[...root.querySelectorAll('.fb-msg')].map((m) =>
                (m.classList.contains('fb-user') ? 'user: ' : 'bot: ') + shown(m))""",
        )
    )


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


# Contrast (WCAG 2) of an element's text over its effective background, computed in the page.
CONTRAST_JS = """(el) => {
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
        const f = (v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    let node = el, bg = null;
    while (node && !bg) {
        const c = rgb(getComputedStyle(node).backgroundColor);
        if (c.length >= 3 && (c.length < 4 || c[3] > 0)) bg = c;
        node = node.parentElement || (node.getRootNode().host || null);
    }
    bg = bg || [255, 255, 255];
    const fg = rgb(getComputedStyle(el).color);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return { ratio: (a + 0.05) / (b + 0.05), size: parseFloat(getComputedStyle(el).fontSize) };
}"""
