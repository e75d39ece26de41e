"""A subscription's deliveries in the order they go out: the first few in memory, the rest
left in the log, so that memory does not grow with a backlog behind a failing endpoint."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import msgspec

from signin_webhooks.actors.runtime import Recorder
from signin_webhooks.eventstore.deliveries import Delivery

IN_MEMORY = 32  # deliveries held per subscription; the rest are read back when their turn comes
WITH_RANGES = 2  # of those, the first ones keep their event ranges from their seal until sent,
FEW_RANGES = 4  # and so does any with this few (a small batch, or one of consecutive events)


def light(delivery: Delivery) -> Delivery:
    """A delivery without its event ranges (the bulk of it), read again when it is sent."""
    if len(delivery.ranges) <= FEW_RANGES:
        return delivery
    return msgspec.structs.replace(delivery, ranges=[])


class DeliveryQueue:
    def __init__(self, recorder: Recorder, subscription_id: str, unsettled: list[Delivery]):
        self.recorder = recorder
        self.subscription_id = subscription_id
        self.items: deque[Delivery] = deque(light(d) for d in unsettled[:IN_MEMORY])
        self.spilled = len(unsettled) > IN_MEMORY  # more wait in the log

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self) -> Iterator[Delivery]:
        return iter(self.items)

    @property
    def head(self) -> Delivery:
        return self.items[0]

    def append(self, delivery: Delivery) -> None:
        """A batch just sealed: it is in the log already, so past the limit it stays there.
        Near the head it keeps its ranges, so they are not read back from the log to send it."""
        if self.spilled or len(self.items) >= IN_MEMORY:
            self.spilled = True
        else:
            self.items.append(delivery if len(self.items) < WITH_RANGES else light(delivery))

    def insert_next(self, delivery: Delivery, *, behind_head: bool) -> None:
        self.items.insert(1 if behind_head else 0, light(delivery))

    def pop(self) -> None:
        self.items.popleft()
        if self.spilled and len(self.items) < IN_MEMORY // 2:
            self._refill()

    def keep_only(self, delivery_id: str | None) -> list[Delivery]:
        """Drop every delivery but `delivery_id` (the one in flight); returns those dropped,
        those left in the log included."""
        if self.spilled:
            known = {d.id for d in self.items}
            self.items.extend(d for d in self.recorder.unsettled(self.subscription_id)
                              if d.id not in known)  # fmt: skip
            self.spilled = False
        dropped = [d for d in self.items if d.id != delivery_id]
        self.items = deque(d for d in self.items if d.id == delivery_id)
        return dropped

    def with_ranges(self, delivery: Delivery) -> Delivery:
        """The delivery as the deliverer needs it, its ranges read back from its seal."""
        if delivery.ranges or delivery.body is not None:
            return delivery
        return msgspec.structs.replace(delivery, ranges=self.recorder.ranges(delivery))

    def _refill(self) -> None:
        known = {d.id for d in self.items}
        room = IN_MEMORY - len(self.items)
        waiting, self.spilled = self.recorder.next_unsettled(self.subscription_id, known, room)
        self.items.extend(light(d) for d in waiting)
