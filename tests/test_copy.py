"""`copy --from --to`: a log moved from SQLite to PostgreSQL and back, sequences and bytes as they
are, the projections rebuilt; a copy of a copy replays identically."""

from __future__ import annotations

from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import Store, copying
from signin_webhooks.eventstore.deliveries import AttemptRecorded
from tests.backends import BACKENDS
from tests.helpers import event, invoke, one_error_line, subscribe, wait_for_facts

pytestmark = pytest.mark.parametrize("backend", BACKENDS[1:], indirect=True)


def everything(location) -> dict[str, Any]:
    """What a log holds and what its projections show."""
    with WebhookSystem(location, deliver=False) as system:
        return {
            "records": list(system.replay(internal=True)),
            "last": system.store.log.last_sequence(),
            "subscriptions": system.subscriptions.list(include_deleted=True),
            "deliveries": system.deliveries.list(limit=1000),
            "counts": system.event_counts(),
            "settings": system.settings.show(),
        }


def test_a_log_copied_to_postgresql_and_back_replays_identically(
    tmp_path, database, endpoints, clock
):
    original, back = tmp_path / "original.db", tmp_path / "back.db"
    endpoint = endpoints()
    with WebhookSystem(original, clock=clock, allow_private_networks=True) as system:
        sub_id = subscribe(system, endpoint, max_events=2).subscription.id
        gone = subscribe(system, endpoint, name="gone").subscription.id
        system.subscriptions.delete(gone)
        system.settings.set("delivery_retention", "96h")
        system.publish([event(f"e{i}", extra={"amount": 1.50, "name": "\u00e9"}) for i in range(5)])
        wait_for_facts(system, AttemptRecorded, sub_id, 2)
    before = everything(original)

    there = invoke("copy", "--from", str(original), "--to", database)
    again = invoke("copy", "--from", database, "--to", str(back))

    assert there.exit_code == 0, there.stderr
    assert again.exit_code == 0, again.stderr
    assert f"through sequence {before['last']}" in there.stdout
    assert everything(database) == before
    assert everything(back) == before
    with WebhookSystem(database, deliver=False) as copied:
        assert copied.publish(event("next")).first_sequence == before["last"] + 1


def test_a_copy_into_a_database_that_holds_a_log_is_refused_and_changes_nothing(tmp_path, database):
    source = tmp_path / "source.db"
    with WebhookSystem(source, deliver=False) as system:
        system.publish(event("a"))
    with WebhookSystem(database, deliver=False) as system:
        system.publish([event("x"), event("y")])

    result = invoke("copy", "--from", str(source), "--to", database)

    assert result.exit_code == 2
    assert "already holds a log (up to sequence 2)" in one_error_line(result.stderr)
    assert [r.id for r in everything(database)["records"]] == ["x", "y"]


def test_a_copy_from_a_file_that_does_not_exist_is_refused(tmp_path, database):
    result = invoke("copy", "--from", str(tmp_path / "nothing.db"), "--to", database)

    assert result.exit_code == 2
    assert "no such database file" in one_error_line(result.stderr)
    assert not (tmp_path / "nothing.db").exists()


def test_a_copy_taken_while_the_source_changes_is_the_log_of_one_moment(
    tmp_path, database, monkeypatch
):
    with WebhookSystem(database, deliver=False) as system:
        system.publish([event(f"e{i}") for i in range(6)])
    source, destination = Store(database), Store(tmp_path / "copy.db")
    monkeypatch.setattr(copying, "PAGE", 2)
    read = source.log.read
    pages = 0

    def read_then_change(*args, **kwargs):
        nonlocal pages
        yield from read(*args, **kwargs)
        pages += 1
        if pages == 1:  # between the copy's first and second page another worker compacts
            with WebhookSystem(database, deliver=False) as other:  # and publishes
                other.store.db.conn.execute("DELETE FROM events WHERE sequence IN (3, 4)")
                other.publish(event("later"))

    monkeypatch.setattr(source.log, "read", read_then_change)
    try:
        copied = copying.copy_log(source, destination)
    finally:
        source.close()
        destination.close()

    assert (copied.events, copied.last_sequence) == (6, 6)
    assert [r.id for r in everything(tmp_path / "copy.db")["records"]] == [
        f"e{i}" for i in range(6)
    ]
