"""The delivery pool: delivery actors that never run short, so that endpoints hanging until their
timeout hold up no one but their own subscriptions.

A subscription has at most one attempt in flight, so attempts at once never outnumber the
subscriptions with a batch to send. The pool keeps `warm` actors ready and starts another
whenever every one is busy: a hanging attempt costs its own actor (a thread with a small stack)
and never a place another subscription waits for. Connections per endpoint are capped once, in
the transport, on the address actually connected to (`connections.HostSlots`).

The pool is not an actor of its own: a batcher hands its job straight to an idle member, and a
member puts itself back when its attempt ends, each under the pool's lock. An attempt costs two
messages (the job to a member, the outcome to its batcher), not four.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

import pykka

if TYPE_CHECKING:  # its members are delivery actors, which put themselves back here
    from signin_webhooks.actors.delivery import DeliveryActor, Job

Member: TypeAlias = pykka.ActorRef["DeliveryActor"]


class DeliveryPool:
    """Hands each job to an idle delivery actor, starting one if none is idle; beyond `warm`
    idle ones, a member that comes free is stopped."""

    def __init__(self, start_member: Callable[[DeliveryPool], Member], warm: int) -> None:
        self.start_member = start_member
        self.warm = warm
        self._lock = threading.Lock()
        self._idle: list[Member] = []
        self._members: set[Member] = set()
        self._starting = 0
        self._stopped = False
        for _ in range(warm):
            member = self.start_member(self)
            self._members.add(member)
            self._idle.append(member)

    def submit(self, job: Job) -> None:
        """Give `job` to an idle member, or to a new one (started outside the lock: a thread
        start takes a while); once stopped, the job stays pending in the log."""
        while True:
            with self._lock:
                if self._stopped:
                    return
                member = self._idle.pop() if self._idle else None
                if member is None:
                    self._starting += 1
            if member is None:
                member = self._start()
                if member is None:
                    return
            try:
                member.tell(job)
                return
            except pykka.ActorDeadError:  # stopped meanwhile: try another
                with self._lock:
                    self._members.discard(member)

    def _start(self) -> Member | None:
        """A new member, counted busy until it is one of the members; None if stopped meanwhile."""
        member = None
        try:
            member = self.start_member(self)
        finally:
            with self._lock:
                self._starting -= 1
                stopped = self._stopped
                if member is not None and not stopped:
                    self._members.add(member)
        if stopped and member is not None:
            member.stop()
            return None
        return member

    def free(self, member: Member) -> None:
        """A member's attempt ended: it waits for the next job, or stops beyond `warm`."""
        with self._lock:
            if self._stopped or member not in self._members:
                return
            if len(self._idle) < self.warm:
                self._idle.append(member)
                return
            self._members.discard(member)
        member.stop(block=False)

    def idle(self) -> bool:
        """Whether no member is busy with an attempt."""
        with self._lock:
            return len(self._idle) == len(self._members) and not self._starting

    def stop(self) -> None:
        """Stop every member; each finishes the attempt it has in flight first."""
        with self._lock:
            self._stopped = True
            members, self._members, self._idle = list(self._members), set(), []
        for member in members:
            member.stop()
