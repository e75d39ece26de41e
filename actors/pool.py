"""The delivery pool: delivery actors that never run short, so that endpoints hanging until their
timeout hold up no one but their own subscriptions.

A subscription has at most one attempt in flight, so attempts at once never outnumber the
subscriptions with a batch to send. The pool keeps `warm` actors ready and starts another
whenever every one is busy: a hanging attempt costs its own actor (a thread with a small stack)
and never a place another subscription waits for. Connections per endpoint are capped once, in
the transport, on the address actually connected to (`connections.HostSlots`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import pykka

from signin_webhooks.actors.delivery import Free, Job
from signin_webhooks.actors.runtime import Idle, Listener

Member = pykka.ActorRef[Any]


class DeliveryPool(Listener):
    """Hands each job to an idle delivery actor, starting one if none is idle; beyond `warm`
    idle ones, a member that comes free is stopped."""

    def __init__(self, start_member: Callable[[Member], Member], warm: int) -> None:
        super().__init__()
        self.start_member = start_member
        self.warm = warm
        self.idle: deque[Member] = deque()
        self.members: set[Member] = set()

    def on_start(self) -> None:
        for _ in range(self.warm):
            self.idle.append(self._start())

    def on_stop(self) -> None:
        """Stop every member; each finishes the attempt it has in flight first."""
        for member in list(self.members):
            member.stop()

    def _start(self) -> Member:
        member = self.start_member(self.actor_ref)
        self.members.add(member)
        return member

    def handle(self, message: Job | Free | Idle) -> Any:
        if isinstance(message, Idle):  # no member busy with an attempt
            return len(self.idle) == len(self.members)
        if isinstance(message, Job):
            while self.idle:
                try:
                    self.idle.popleft().tell(message)
                    return
                except pykka.ActorDeadError:  # stopping: the job stays pending in the log
                    continue
            self._start().tell(message)
        elif len(self.idle) >= self.warm:
            self.members.discard(message.member)
            message.member.stop(block=False)
        else:
            self.idle.append(message.member)
        return None
