"""The system behind the API: every call into it runs on one worker thread, in turn.

The system's log connection takes one transaction at a time; one thread keeps the event loop
free for other requests while a publish waits on the disk, and keeps calls from interleaving.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from signin_webhooks.actors import WebhookSystem

T = TypeVar("T")


class Backend:
    def __init__(self, system: WebhookSystem) -> None:
        self.system = system
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="api")

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._worker.shutdown(wait=True)
