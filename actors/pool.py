"""The delivery pool: delivery actors that never run short, so that endpoints hanging until their
timeout hold up no one but their own subscriptions.

A subscription has at most one attempt in flight, so attempts at once never outnumber the
subscriptions with a batch to send. Attempts to one endpoint (its URL's host and port) take at
most twice `per_host` actors at once, `per_host` being the transport's cap on connections to one
address and port: as many on the wire as it lets, and as many more reading their body or
recording what came of theirs meanwhile. The others wait here, in the order they came, without a
thread, and a member whose attempt ends goes straight on with the next one waiting for the same
endpoint. The wait counts towards each
attempt's `timeout`, as a wait for a connection does. The pool keeps `warm` actors ready and
starts another whenever every one is busy: a hanging attempt costs its own actor (a thread with a
small stack) and never a place another endpoint waits for. The transport still holds the cap on
the address actually connected to (`connections.HostSlots`), whatever names lead there.

The pool is not an actor of its own: a batcher hands its job straight to an idle member, and a
member takes the next job or puts itself back when its attempt ends, each under the pool's lock.
An attempt costs two messages (the job to a member, the outcome to its batcher) at most, and one
when it waited for its endpoint.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

import pykka

from signin_webhooks.actors import metrics
from signin_webhooks.eventstore import SigninWebhooksError
from signin_webhooks.eventstore.endpoints import cached_endpoint

if TYPE_CHECKING:  # its members are delivery actors, which put themselves back here
    from signin_webhooks.actors.delivery import DeliveryActor, Job

Member: TypeAlias = pykka.ActorRef["DeliveryActor"]


@dataclass(frozen=True)
class Turn:
    """A job given to a member: `since` is when it was submitted (monotonic time), the start of
    its attempt's `timeout`."""

    job: Job
    since: float
    endpoint: tuple[str, ...]


@dataclass
class _Lane:
    """The attempts to one endpoint: how many members make one, and the jobs waiting."""

    running: int = 0
    waiting: deque[Turn] = field(default_factory=deque)


def endpoint_of(url: str) -> tuple[str, ...]:
    """The endpoint an attempt goes to, as its URL names it (a URL the transport refuses is an
    endpoint of its own, and its attempt records the refusal)."""
    try:
        target = cached_endpoint(url)
    except SigninWebhooksError:
        return (url,)
    return (target.scheme, target.host, str(target.port))


class DeliveryPool:
    """Hands each job to an idle delivery actor, starting one if none is idle, or queues it while
    twice `per_host` attempts to its endpoint are under way; beyond `warm` idle ones, a member
    that comes free is stopped."""

    def __init__(
        self, start_member: Callable[[DeliveryPool], Member], warm: int, per_host: int
    ) -> None:
        self.start_member = start_member
        self.warm = warm
        self.per_endpoint = 2 * per_host
        self._lock = threading.Lock()
        self._idle: list[Member] = []
        self._members: set[Member] = set()
        self._lanes: dict[tuple[str, ...], _Lane] = {}
        self._starting = 0
        self._stopped = False
        for _ in range(warm):
            member = self.start_member(self)
            self._members.add(member)
            self._idle.append(member)

    def submit(self, job: Job) -> None:
        """Give `job` to an idle member, or to a new one (started outside the lock: a thread
        start takes a while), or queue it behind the attempts to its endpoint; once stopped, the
        job stays pending in the log."""
        endpoint = endpoint_of(job.subscription.fields.url)
        turn = Turn(job, time.monotonic(), endpoint)
        with self._lock:
            if self._stopped:
                return
            lane = self._lanes.get(endpoint)
            if lane is None:
                lane = self._lanes[endpoint] = _Lane()
            if lane.running >= self.per_endpoint:
                lane.waiting.append(turn)
                metrics.POOL_WAITING.inc()
                return
            lane.running += 1
        handed = False
        try:
            handed = self._hand(turn)
        finally:
            if not handed:  # stopped meanwhile, or no member could start
                with self._lock:
                    self._leave(endpoint)

    def next(self, member: Member, done: Turn) -> Turn | None:
        """A member's attempt ended: the next job waiting for the same endpoint, for it to make
        at once; else None, and the member waits for a job, or stops beyond `warm`."""
        with self._lock:
            lane = self._lanes[done.endpoint]
            if lane.waiting and not self._stopped:
                metrics.POOL_WAITING.dec()
                return lane.waiting.popleft()
            self._leave(done.endpoint)
            if self._stopped or member not in self._members:
                return None
            if len(self._idle) < self.warm:
                self._idle.append(member)
                return None
            self._members.discard(member)
        member.stop(block=False)
        return None

    def _leave(self, endpoint: tuple[str, ...]) -> None:
        """One attempt to `endpoint` fewer under way (the pool's lock held)."""
        lane = self._lanes[endpoint]
        lane.running -= 1
        if not lane.running:
            del self._lanes[endpoint]

    def _hand(self, turn: Turn) -> bool:
        """Whether a member took `turn` (not once the pool is stopped)."""
        while True:
            with self._lock:
                if self._stopped:
                    return False
                member = self._idle.pop() if self._idle else None
                if member is None:
                    self._starting += 1
            if member is None:
                member = self._start()
                if member is None:
                    return False
            try:
                member.tell(turn)
                return True
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

    def idle(self) -> bool:
        """Whether no member is busy with an attempt (and so no job waits for one)."""
        with self._lock:
            return len(self._idle) == len(self._members) and not self._starting

    def stop(self) -> None:
        """Stop every member; each finishes the attempt it has in flight first, and the jobs
        still waiting stay pending in the log."""
        with self._lock:
            self._stopped = True
            members, self._members, self._idle = list(self._members), set(), []
            for lane in self._lanes.values():  # they stay pending in the log
                metrics.POOL_WAITING.dec(len(lane.waiting))
                lane.waiting.clear()
        for member in members:
            member.stop()
