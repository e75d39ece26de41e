"""Secrets: rotation with grace, and redaction in the audit log."""

from __future__ import annotations

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.eventstore import InvalidInput
from tests.helpers import subscribe
from tests.subscriptions import URL, log_length, reveal


def test_rotation_keeps_the_old_secret_valid_for_its_grace(
    system: WebhookSystem, clock: ManualClock
) -> None:
    saved = subscribe(system, URL)
    rotated = system.subscriptions.rotate_secret(saved.subscription.id, grace="1h")
    assert rotated.secret not in (None, saved.secret)
    sub = reveal(system, saved.subscription.id)
    rotated_at = clock.now
    assert sub.valid_secrets(rotated_at) == [rotated.secret, saved.secret]
    assert sub.valid_secrets(clock.advance(minutes=59, seconds=59)) == [
        rotated.secret,
        saved.secret,
    ]
    assert sub.valid_secrets(clock.advance(seconds=2)) == [rotated.secret]


def test_rotation_grace_defaults_to_24_hours(system: WebhookSystem, clock: ManualClock) -> None:
    saved = subscribe(system, URL)
    rotated = system.subscriptions.rotate_secret(saved.subscription.id)
    sub = reveal(system, saved.subscription.id)
    assert sub.valid_secrets(clock.advance(hours=23, minutes=59)) == [rotated.secret, saved.secret]
    assert sub.valid_secrets(clock.advance(minutes=2)) == [rotated.secret]


@pytest.mark.parametrize("grace", ["abc", "-1s", "1.5h", "721h"])
def test_rotation_refuses_a_bad_grace_and_stores_nothing(system: WebhookSystem, grace: str) -> None:
    saved = subscribe(system, URL)
    before = log_length(system)
    with pytest.raises(InvalidInput, match=r"^grace") as refused:
        system.subscriptions.rotate_secret(saved.subscription.id, grace=grace)
    assert refused.value.fields == ("grace",)
    assert log_length(system) == before
    assert reveal(system, saved.subscription.id).secrets[0].value == saved.secret


def test_secrets_and_header_values_are_redacted_in_the_audit_log(system: WebhookSystem) -> None:
    saved = subscribe(system, URL, headers={"Authorization": "Bearer t0k3n"})
    rotated = system.subscriptions.rotate_secret(saved.subscription.id)
    system.subscriptions.update(saved.subscription.id, headers=["X-Api-Key: k3y"])
    audit = b"\n".join(r.replayed() for r in system.replay(internal=True))
    for secret in (saved.secret, rotated.secret, "t0k3n", "k3y"):
        assert secret is not None and secret.encode() not in audit
    assert b"[redacted]" in audit
