"""One FAQ service per action-server process, loaded lazily and used off the event loop.

rasa-sdk imports every module under ``actions/`` and runs ``async`` actions on its Sanic event
loop, so nothing here loads at import time, and every CPU-bound call (model load, query encoding,
search) runs in a small thread pool.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, TypeVar

from knowledge.config import Settings
from knowledge.service import FaqService

T = TypeVar("T")
logger = logging.getLogger(__name__)

_lock = threading.Lock()
_service: Optional[FaqService] = None
_pool: Optional[ThreadPoolExecutor] = None


def _state() -> "tuple[FaqService, ThreadPoolExecutor]":
    global _service, _pool
    with _lock:
        if _service is None or _pool is None:
            settings = Settings.from_env()
            _service = FaqService(settings)
            _pool = ThreadPoolExecutor(settings.encode_workers, thread_name_prefix="faq")
        return _service, _pool


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking function in the action server's worker threads."""
    _, pool = _state()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))


async def service() -> FaqService:
    """The warmed-up FAQ service (loads index and model on first use, off the event loop).

    Once loaded, it is returned at once: no round trip through the worker threads per message.
    """
    svc, _ = _state()
    if not svc.ready:
        await call(svc.warm_up)
    return svc


def warm_up_in_background() -> None:
    """Load index, model and language identifier in a daemon thread, before the first patient.

    Called when the action server imports this package; the import itself stays instant. A
    failure is logged here and raised again to the first action that needs the service.
    """

    def load() -> None:
        try:
            _state()[0].warm_up()
        except Exception as exc:  # the first action call reports it to Rasa
            logger.error("FAQ service warm-up failed: %s", exc)

    threading.Thread(target=load, name="faq-warm-up", daemon=True).start()
