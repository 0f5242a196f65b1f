"""HTTP POSTs to a messaging platform's API, retried with backoff.

Network errors, 429 and 5xx answers are retried; other answers are final. Logs name the channel,
the HTTP status and the platform's error code, never the URL, phone numbers or message text.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional

import aiohttp

logger = logging.getLogger(__name__)
RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))


def _error_code(body: Any) -> Optional[str]:
    """The platform's error code from a JSON error body (Graph API or Twilio), if any."""
    if not isinstance(body, dict):
        return None
    error = body.get("error") if isinstance(body.get("error"), dict) else body
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if isinstance(code, (int, str)) and str(code).isalnum() else None


class Poster:
    """Sends POST requests with retries over one lazily created aiohttp session.

    Args:
        channel: Channel name for the logs.
        attempts: Tries per request (at least 1).
        base_delay: Seconds before the first retry; doubled after each failure.
        timeout: Seconds one attempt may take.
    """

    def __init__(
        self, channel: str, attempts: int = 4, base_delay: float = 0.5, timeout: float = 10.0
    ) -> None:
        self.channel = channel
        self.attempts = max(1, attempts)
        self.base_delay = base_delay
        self.timeout = timeout
        self._session: Optional[aiohttp.ClientSession] = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def post(
        self,
        url: str,
        *,
        json: Optional[Dict[str, Any]] = None,
        data: Optional[Dict[str, str]] = None,
        headers: Optional[Dict[str, str]] = None,
        auth: Optional[aiohttp.BasicAuth] = None,
    ) -> bool:
        """POST ``json`` or form ``data``; ``True`` once the API accepted it (2xx).

        Returns:
            ``False`` when the API refused it or every attempt failed (logged).
        """
        problem = ""
        for attempt in range(1, self.attempts + 1):
            try:
                async with self._client().post(
                    url, json=json, data=data, headers=headers, auth=auth
                ) as reply:
                    if 200 <= reply.status < 300:
                        return True
                    try:
                        body = await reply.json(content_type=None)
                    except (ValueError, aiohttp.ClientError):
                        body = None
                    code = _error_code(body)
                    problem = f"HTTP {reply.status}" + (f", error code {code}" if code else "")
                    if reply.status not in RETRY_STATUSES:
                        logger.error("%s: the API refused a message (%s)", self.channel, problem)
                        return False
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                problem = type(exc).__name__
            if attempt < self.attempts:
                delay = self.base_delay * 2 ** (attempt - 1)
                logger.warning(
                    "%s: sending failed (%s), attempt %d of %d; retrying in %.1f s",
                    self.channel,
                    problem,
                    attempt,
                    self.attempts,
                    delay,
                )
                await asyncio.sleep(delay)
        logger.error(
            "%s: a message could not be sent after %d attempts (%s)",
            self.channel,
            self.attempts,
            problem,
        )
        return False

    async def close(self) -> None:
        """Close the HTTP session (a later :meth:`post` opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
