"""Publishing over HTTP: the requests that arrive while a commit is on its way to disk are
appended together, with one commit for them all, each still all or none with its own report.

Each commit waits for the disk; without this, eight clients sending one event each would take
turns waiting. Nothing is held back: a request alone is appended as soon as it arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from signin_webhooks.cli.api.backend import Backend
from signin_webhooks.eventstore import AppendResult, Published

Check = Callable[[list[Published]], None]


class Publisher:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._waiting: list[tuple[bytes, Check, asyncio.Future[AppendResult]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def publish(self, data: bytes, check: Check) -> AppendResult:
        done: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((data, check, done))
        if self._draining is None:
            self._draining = asyncio.ensure_future(self._drain())
        return await done

    async def _drain(self) -> None:
        try:
            while self._waiting:
                calls, self._waiting = self._waiting, []
                answers: list[AppendResult | BaseException]
                try:
                    answers = list(
                        await self.backend.call(
                            self.backend.system.publish_each, [(d, c) for d, c, _ in calls]
                        )
                    )
                except BaseException as e:  # the store failed: every caller hears of it
                    answers = [e] * len(calls)
                for (_, _, done), answer in zip(calls, answers, strict=True):
                    if isinstance(answer, BaseException):
                        done.set_exception(answer)
                    else:
                        done.set_result(answer)
        finally:
            self._draining = None
