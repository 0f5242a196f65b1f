"""``make shell``: ``rasa shell`` for staff, with the action server running beside it.

``rasa shell`` builds none of the project's channels, so the action server's shared secret
(``FAQBOT_ACTION_SECRET``) reaches it as a header of the action endpoint, in an endpoints file
written for this run (readable by its owner only, removed afterwards).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from bot.rasa_patches.action_calls import SECRET_HEADER
from scripts.stack import BIN, MODEL_DIR, ROOT, Stack, free_port


def endpoints_with_secret(secret: str, folder: Path) -> Path:
    """``bot/endpoints.yml`` with the action endpoint sending ``secret``, as a new file."""
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8"))
    action = endpoints.setdefault("action_endpoint", {})
    action["headers"] = {**(action.get("headers") or {}), SECRET_HEADER: secret}
    fd, name = tempfile.mkstemp(prefix="shell-endpoints-", suffix=".yml", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(endpoints, handle)
    return Path(name)


def main() -> int:
    """Start the action server on a free port, run ``rasa shell``, stop the action server."""
    stack = Stack(rasa_port=free_port(), action_port=free_port(), log_dir=ROOT / "var" / "logs")
    print("shell: starting the action server...", flush=True)
    stack.start_actions()
    (ROOT / "var").mkdir(exist_ok=True)
    endpoints = endpoints_with_secret(stack.env["FAQBOT_ACTION_SECRET"], ROOT / "var")
    try:
        stack.wait_ready()
        print(
            "shell: type a question; /stop to quit (the first answer loads the model)", flush=True
        )
        return subprocess.call(
            [
                str(BIN / "rasa"),
                "shell",
                "--model",
                str(MODEL_DIR),
                "--endpoints",
                str(endpoints),
                "--port",
                str(stack.rasa_port),
            ],
            cwd=ROOT,
            env=stack.env,
        )
    except KeyboardInterrupt:
        return 0
    finally:
        endpoints.unlink(missing_ok=True)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
