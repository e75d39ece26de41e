"""The words the log and the history use for a delivery's status, for what started an attempt,
for an endpoint's health, and for an operational notification's kind and outcome: each set named
once, here, and used as a type everywhere.

The facts in the log hold these words in typed fields (`AttemptRecorded.outcome`, `.trigger`,
`BatchSealed.trigger`, `NotificationAttempted.kind`, `.outcome`), so mypy checks every value
written and every comparison made. msgspec then refuses, as it decodes the log, a word not in
its set. That is safe for every log written so far because a set is only ever added to, never
renamed or cut: tests/test_statuses.py decodes a fact holding each word any release has written,
and fails if one of them is dropped. A log a later release wrote with a word added is refused
here as a fact type it added would be: this release cannot tell what such a delivery is.
"""

from __future__ import annotations

from typing import Literal, get_args

#: pending: sealed, not yet sent or waiting for its turn (or for its subscription's enable);
#: retrying: an attempt failed and another is planned; the last three are settled.
DeliveryStatus = Literal["pending", "retrying", "succeeded", "failed", "cancelled"]
STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)
SETTLED: tuple[DeliveryStatus, ...] = ("succeeded", "failed", "cancelled")

#: What started an attempt: the batcher's own order (schedule), an operator's retry, a
#: recovery, or a test delivery. A seal's trigger is one of schedule, recover and test.
Trigger = Literal["schedule", "retry", "recover", "test"]
TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)

#: An endpoint's health: healthy -> failing -> disabled; a success returns it to healthy.
HealthState = Literal["healthy", "failing", "disabled"]
HEALTH_STATES: tuple[HealthState, ...] = get_args(HealthState)

#: The change of health an operations endpoint is told of (`signin_webhooks.subscription.KIND`):
#: a disable the system made, not one an operator made.
NotificationKind = Literal["failing", "recovered", "disabled"]

#: What came of one attempt to tell it: sent; retrying (another attempt is planned); failed.
NotificationOutcome = Literal["sent", "retrying", "failed"]
