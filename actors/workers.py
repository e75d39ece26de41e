"""Several workers on one PostgreSQL log: this worker's leases, renewed on a thread of their own,
and its fair share of the subscriptions claimed and handed back as workers come and go.

Each round renews what this worker owns, tells the router of any lease lost (a pause longer than
the lease), claims free subscriptions up to an even share of those not deleted among the live
workers, and hands back what is over it, each once its batcher has finished the attempt in flight.
"""

from __future__ import annotations

import collections
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from signin_webhooks.eventstore import Store
from signin_webhooks.eventstore.errors import StoreError
from signin_webhooks.eventstore.ids import short_id
from signin_webhooks.eventstore.leases import LeaseLost, Leases
from signin_webhooks.eventstore.subscriptions import Subscriptions

log = logging.getLogger(__name__)
ROUNDS_PER_LEASE = 3  # renewed three times within a lease: one late round loses nothing
ATTEMPT_MARGIN = 2.0  # seconds a lease must outlast an attempt's timeout by: clocks drift


@dataclass(frozen=True)
class Adopt:
    """This worker now owns the subscription: start its batcher from the history."""

    subscription_id: str


@dataclass(frozen=True)
class Drop:
    """The lease is gone (another worker owns it now): stop the batcher at once."""

    subscription_id: str


@dataclass(frozen=True)
class HandBack:
    """Give the subscription to another worker once its attempt in flight ends."""

    subscription_id: str
    keeper: LeaseKeeper


class Told(Protocol):
    """What the keeper tells of what this worker adopts, drops and hands back: the router's
    ActorRef (the router imports this module)."""

    def tell(self, message: Adopt | Drop | HandBack) -> None: ...


class LeaseKeeper:
    """This worker's leases; the fence every seal and attempt it records passes."""

    def __init__(self, location: str, duration: float) -> None:
        self.name = f"pid {os.getpid()} on {socket.gethostname()}"
        self.store = Store(location, background=True)
        self.leases = Leases(self.store.db, short_id("wkr_"), self.name, duration)
        self.duration = duration
        self.held: dict[str, int] = {}  # subscription -> fencing token
        self.until: dict[str, float] = {}  # subscription -> when its lease ends, at the latest
        self.handing_back: set[str] = set()
        # subscription -> its batchers running in this worker: one, or for a moment two (one
        # dropped with its lease, still stopping, and the next, started under a new token)
        self.batching: collections.Counter[str] = collections.Counter()
        self.router: Told | None = None
        self._lock = threading.Lock()
        self._claiming = threading.Lock()
        self._poked = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    @property
    def channel(self) -> str:
        return self.leases.channel

    def start(self, router: Told) -> None:
        """One round now, so the router has its batchers before the first event is routed;
        then a round every third of a lease, or sooner when poked."""
        self.router = router
        self.round()
        self._thread.start()

    def poke(self) -> None:
        """Leases were handed back somewhere, or a subscription was created: look again."""
        self._poked.set()

    def tokens(self, subscription_ids: Iterable[str]) -> dict[str, int]:
        """The tokens to check a record against; refused at once for one not owned."""
        with self._lock:
            missing = [s for s in subscription_ids if s not in self.held]
            if missing:
                raise LeaseLost(f"this worker does not own {missing[0]}; another worker does")
            return {s: self.held[s] for s in subscription_ids}

    def check(self, conn: Any, subscription_ids: Iterable[str]) -> None:
        self.leases.check(conn, self.tokens(set(subscription_ids)))

    def owns(self, subscription_id: str) -> bool:
        with self._lock:
            return subscription_id in self.held

    def token(self, subscription_id: str) -> int | None:
        """The fencing token this worker holds the subscription under, if it does."""
        with self._lock:
            return self.held.get(subscription_id)

    def ready(self, subscription_id: str, token: int | None, seconds: float) -> None:
        """Called just before an attempt is sent: this worker still holds the subscription
        under `token` (the one its batcher started under), for `seconds` more, the attempt's
        timeout; if the lease would run out sooner it is extended first. Raises LeaseLost
        otherwise, and nothing is sent: no attempt starts once its lease is gone, and none
        outlasts it, so a new owner never sends while this one still does."""
        needed = seconds + ATTEMPT_MARGIN
        with self._lock:
            if token is None or self.held.get(subscription_id) != token:
                raise LeaseLost(
                    f"this worker's lease on {subscription_id} is gone; another worker delivers"
                    " it now"
                )
            if self.until[subscription_id] - time.monotonic() >= needed:
                return
        asked = time.monotonic()
        try:
            with self.store.errors():
                left = self.leases.extend(subscription_id, token, needed)
        except StoreError:  # the session ended (a restart): extending twice is extending once
            with self.store.errors():
                left = self.leases.extend(subscription_id, token, needed)
        with self._lock:
            if left is None or self.held.get(subscription_id) != token:
                raise LeaseLost(
                    f"this worker's lease on {subscription_id} (token {token}) ran out before"
                    " the attempt; another worker delivers it now"
                )
            self.until[subscription_id] = asked + left

    def claim(self, subscription_id: str) -> bool:
        """Own a subscription, if no other worker took it first: whether this worker owns it
        now. The router (meeting its creation) and a round may both reach for it at once; one
        claim goes at a time, and the second finds it owned here already."""
        with self._claiming:
            if self.owns(subscription_id):
                return True
            asked = time.monotonic()
            with self.store.errors():
                got = self.leases.claim(subscription_id)
            if got is None:
                return False
            token, left = got
            with self._lock:
                self.held[subscription_id] = token
                self.until[subscription_id] = asked + left
            return True

    def round(self) -> None:
        with self.store.errors():
            with self._lock:  # a claim made while renewing is not among the lost
                before = dict(self.held)
            asked = time.monotonic()  # the server's now() is later: the lease ends no sooner
            renewed = self.leases.renew()
            with self._lock:
                lost = [
                    s
                    for s, token in before.items()
                    if renewed.get(s, (0, 0.0))[0] != token and self.held.get(s) == token
                ]
                for sub_id in lost:
                    del self.held[sub_id]
                    self.handing_back.discard(sub_id)
                for sub_id, (token, left) in renewed.items():
                    if self.held.get(sub_id) == token:
                        self.until[sub_id] = max(self.until.get(sub_id, 0.0), asked + left)
            for sub_id in lost:
                log.warning("the lease on %s ran out; another worker delivers it now", sub_id)
                self._tell(Drop(sub_id))
            live = [s.id for s in Subscriptions.all(self.store.project(Subscriptions()))]
            self._hand_back_deleted(set(live), before)
            share = self.leases.fair_share(len(live))
            with self._lock:
                kept = [s for s in self.held if s in set(live) and s not in self.handing_back]
            if len(kept) < share:
                self._claim(live, share - len(kept))
            elif len(kept) > share:
                self._hand_back_over(kept[: len(kept) - share])

    def _tell(self, message: Adopt | Drop | HandBack) -> None:
        assert self.router is not None  # `start` gives it before the first round
        self.router.tell(message)

    def _claim(self, live: list[str], wanted: int) -> None:
        taken = self.leases.taken()
        free = [s for s in live if s not in taken and s not in self.held]
        random.shuffle(free)  # workers claiming at once mostly reach for different ones
        for sub_id in free:
            if wanted <= 0:
                return
            if self.claim(sub_id):
                self._tell(Adopt(sub_id))
                wanted -= 1

    def _hand_back_over(self, excess: list[str]) -> None:
        with self._lock:
            self.handing_back.update(excess)
        for sub_id in excess:
            self._tell(HandBack(sub_id, self))

    def _hand_back_deleted(self, live: set[str], before: dict[str, int]) -> None:
        """The leases of deleted subscriptions that no batcher here delivers. A deleted
        subscription's batcher still records the attempt in flight, and the cancellations after
        it, under its lease: it hands the lease back itself as it stops (`stopped`). Only leases
        held `before` the round read `live`: one claimed since (the router meeting a creation)
        may be of a subscription newer than `live`."""
        with self._lock:
            gone = {
                s: t
                for s, t in self.held.items()
                if before.get(s) == t and s not in live and s not in self.batching
            }
            for sub_id in gone:
                del self.held[sub_id]
        self.leases.hand_back(gone)

    def started(self, subscription_id: str) -> int | None:
        """A batcher starts delivering the subscription here; the token it delivers under."""
        with self._lock:
            self.batching[subscription_id] += 1
            return self.held.get(subscription_id)

    def stopped(self, subscription_id: str, *, deleted: bool) -> None:
        """The subscription's batcher has stopped; that of a deleted one hands its lease back."""
        with self._lock:
            self.batching[subscription_id] -= 1
            if self.batching[subscription_id] <= 0:
                del self.batching[subscription_id]
        if deleted:
            self.handed_back(subscription_id)

    def handed_back(self, subscription_id: str) -> None:
        """Called by the batcher once it has stopped for good: the lease is free now."""
        with self._lock:
            token = self.held.pop(subscription_id, None)
            self.handing_back.discard(subscription_id)
        if token is not None:
            try:
                with self.store.errors():
                    self.leases.hand_back({subscription_id: token})
            except Exception:
                log.exception("handing back %s failed; its lease runs out", subscription_id)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._poked.wait(self.duration / ROUNDS_PER_LEASE)
            self._poked.clear()
            if self._stopping.is_set():
                return
            try:
                self.round()
            except Exception:
                log.exception("keeping the leases failed; trying again")

    def stop(self) -> None:
        """No more rounds; the leases are kept until `leave`, after the batchers stopped."""
        self._stopping.set()
        self._poked.set()
        if self._thread.is_alive():
            self._thread.join()

    def leave(self) -> None:
        """Hand everything back at once, for the other workers to claim."""
        try:
            with self.store.errors():
                self.leases.leave()
        except Exception:
            log.exception("handing back the leases failed; they run out in %gs", self.duration)
        finally:
            with self._lock:
                self.held.clear()
            self.store.close()
