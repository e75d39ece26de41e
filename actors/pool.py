"""The delivery pool: a bounded set of delivery actors, and a cap on connections per host, so
that endpoints hanging until their timeout hold up no one but their own subscriptions."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any
from urllib.parse import urlsplit

import pykka

from signin_webhooks.actors.delivery import Job
from signin_webhooks.actors.runtime import Listener


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


class DeliveryPool(Listener):
    """Hands each job to an idle delivery actor unless its host is at its cap; jobs for a busy
    host wait in that host's queue while other hosts' jobs go ahead."""

    def __init__(self, connections_per_host: int) -> None:
        super().__init__()
        self.cap = connections_per_host
        self.idle: deque[pykka.ActorRef[Any]] = deque()
        self.waiting: dict[str, deque[Job]] = defaultdict(deque)
        self.busy: dict[str, int] = defaultdict(int)
        self.members: list[pykka.ActorRef[Any]] = []

    def handle(self, message: Job | tuple[pykka.ActorRef[Any], str] | list[Any]) -> None:
        if isinstance(message, list):  # the members, once, right after start
            self.members += message
            self.idle.extend(message)
        elif isinstance(message, Job):
            self.waiting[host_of(message.subscription.fields.url)].append(message)
        else:  # a member is free again
            member, host = message
            self.busy[host] -= 1
            self.idle.append(member)
        self._dispatch()

    def _dispatch(self) -> None:
        for host in list(self.waiting):
            queue = self.waiting[host]
            while queue and self.idle and self.busy[host] < self.cap:
                try:
                    self.idle.popleft().tell((queue.popleft(), host))
                except pykka.ActorDeadError:  # stopping: the job stays pending in the log
                    continue
                self.busy[host] += 1
            if not queue:
                del self.waiting[host]
