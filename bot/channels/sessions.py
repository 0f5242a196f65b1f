"""Widget session ids issued by the server and proven with a secret (HMAC-SHA256).

A session id is ``<32 hex>.<signature>``; the conversation is ``widget:<32 hex>``. A client can
only continue a conversation whose id the server gave it: an id it made up (another visitor's
conversation id, a WhatsApp number) fails the check and gets a new session instead. The secret is
``FAQBOT_SESSION_SECRET``; when unset, one is generated once into ``var/secrets/session.key``
(readable by the owner only), which every Rasa server started from this folder shares.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from pathlib import Path
from typing import Optional

from knowledge.config import PROJECT_ROOT, Settings

SECRET_FILE = PROJECT_ROOT / "var" / "secrets" / "session.key"
SIGNATURE_CHARS = 32


class SessionSigner:
    """Issues and checks signed session ids."""

    def __init__(self, secret: bytes) -> None:
        """``secret``: at least 16 bytes.

        Raises:
            ValueError: The secret is too short.
        """
        if len(secret) < 16:
            raise ValueError("the session secret must have at least 16 bytes")
        self._secret = secret

    def _sign(self, session: str) -> str:
        digest = hmac.new(self._secret, session.encode("ascii"), hashlib.sha256).hexdigest()
        return digest[:SIGNATURE_CHARS]

    def issue(self) -> str:
        """A new signed session id."""
        session = uuid.uuid4().hex
        return f"{session}.{self._sign(session)}"

    def verify(self, token: object) -> Optional[str]:
        """The session a signed id names, or ``None`` if it is not one this server issued."""
        if not isinstance(token, str) or len(token) != 33 + SIGNATURE_CHARS:
            return None
        session, dot, signature = token.partition(".")
        if not dot or len(session) != 32 or any(c not in "0123456789abcdef" for c in session):
            return None
        if not hmac.compare_digest(
            signature.encode("ascii", "replace"), self._sign(session).encode()
        ):
            return None
        return session


def session_secret(settings: Settings, path: Path = SECRET_FILE) -> bytes:
    """``FAQBOT_SESSION_SECRET``, else the generated secret in ``path`` (made on first use)."""
    if settings.session_secret:
        return settings.session_secret.encode("utf-8")
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    generated = secrets.token_hex(32).encode("ascii")
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(generated)
    try:
        os.link(tmp, path)  # fails if another server made it first: then use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes().strip()
