"""``python -m scripts.rasa_cli``: the ``rasa`` command with the API secret from the environment.

With ``--enable-api`` the HTTP API's JWT secret is read from ``FAQBOT_API_JWT_SECRET``. Rasa 3.6
takes the secret only as ``--jwt-secret``, where every local user can read it (``ps``,
``/proc/<pid>/cmdline``). This entry point adds it to ``sys.argv`` inside the process, which
changes what Rasa parses but not the command line the system shows.
"""

from __future__ import annotations

import sys
from typing import List, Optional

from knowledge.config import ConfigError, Settings


def with_secret(argv: List[str], settings: Settings) -> List[str]:
    """``argv`` plus ``--jwt-secret`` when the API is enabled and no secret was given.

    Raises:
        ConfigError: The API is enabled without a usable secret.
    """
    if "--enable-api" not in argv or "--jwt-secret" in argv:
        return argv
    if not settings.api_jwt_secret:
        raise ConfigError("the Rasa HTTP API needs FAQBOT_API_JWT_SECRET")
    return [*argv, "--jwt-secret", settings.api_jwt_secret]


def main(argv: Optional[List[str]] = None) -> None:
    """Run Rasa's own command-line entry point with the secret added."""
    from rasa.__main__ import main as rasa_main

    sys.argv = [
        "rasa",
        *with_secret(list(sys.argv[1:] if argv is None else argv), Settings.from_env()),
    ]
    rasa_main()


if __name__ == "__main__":
    main()
