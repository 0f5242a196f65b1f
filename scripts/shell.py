"""``make shell``: ``rasa shell`` for staff, with the action server running beside it."""

from __future__ import annotations

import subprocess
import sys

from scripts.stack import BIN, MODEL_DIR, ROOT, Stack, free_port


def main() -> int:
    """Start the action server on a free port, run ``rasa shell``, stop the action server."""
    stack = Stack(rasa_port=free_port(), action_port=free_port(), log_dir=ROOT / "var" / "logs")
    print("shell: starting the action server...", flush=True)
    stack.start_actions()
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
                "bot/endpoints.yml",
                "--port",
                str(stack.rasa_port),
            ],
            cwd=ROOT,
            env=stack.env,
        )
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
