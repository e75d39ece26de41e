"""`replay`: every event with its assigned fields, filters, internal events and counts; and
`catalogue`."""

from __future__ import annotations

import json

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import EVENT_TYPES, Store, format_time
from tests.helpers import assert_reported, event
from tests.publish_cli import NoteRecorded, cli, line, publish, replay


def test_replay_prints_every_event_with_its_assigned_fields_and_unknown_fields(db):
    dhcp = (
        b'{"type":"signin.dhcp.granted","organization_id":"org-1","context_id":"ctx-1",'
        b'"mac":"aa:bb","ip":"10.0.0.1","lease":{"seconds":3600,"price":1.50},"name":"\\u00e9"}'
    )
    publish(
        db,
        b"[" + dhcp + b"," + line(event(2, id="evt-2", occurred_at="2026-01-31T09:00:00Z")) + b"]",
    )

    result = cli(db, "replay")

    first, second = result.stdout.splitlines()
    assert '"lease":{"seconds":3600,"price":1.50},"name":"\\u00e9"' in first
    dhcp, session = json.loads(first), json.loads(second)
    assert (dhcp["sequence"], session["sequence"]) == (1, 2)
    assert dhcp["recorded_at"] == dhcp["occurred_at"]  # occurred_at defaults to publish time
    assert dhcp["id"] and dhcp["recorded_at"].endswith("Z")
    assert session["id"] == "evt-2" and session["occurred_at"] == "2026-01-31T09:00:00Z"
    assert set(session) == {*event(2), "id", "occurred_at", "sequence", "recorded_at"}


@pytest.fixture
def recorded(db, clock) -> list[str]:
    """Four events published a minute apart (on an injected clock); returns their times."""
    times = []
    with WebhookSystem(db, deliver=False, clock=clock) as system:
        for n, (kind, org, ctx) in enumerate(
            [
                ("signin.session.created", "org-a", "ctx-1"),
                ("signin.dhcp.granted", "org-a", "ctx-2"),
                ("signin.session.revoked", "org-b", "ctx-3"),
                ("signin.configuration.audit", "org-a", "ctx-1"),
            ]
        ):
            times.append(format_time(clock.now))
            system.publish(
                {
                    "id": f"evt-{n}",
                    "type": kind,
                    "organization_id": org,
                    "context_id": ctx,
                    "session_id": "s",
                    "mac": "m",
                    "ip": "i",
                    "entity_type": "t",
                    "entity_id": "e",
                    "action": "a",
                }
            )
            clock.advance(minutes=1)
    return times


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], [0, 1, 2, 3]),
        (["--type", "signin.session.*"], [0, 2]),
        (["--type", "signin.dhcp.granted", "--type", "signin.configuration.audit"], [1, 3]),
        (["--organization", "org-a"], [0, 1, 3]),
        (["--context", "ctx-1"], [0, 3]),
        (["--organization", "org-a", "--context", "ctx-2"], [1]),
        (["--after-sequence", "2"], [2, 3]),
        (["--limit", "2"], [0, 1]),
        (["--after-sequence", "1", "--limit", "2"], [1, 2]),
        (["--since", "{1}"], [1, 2, 3]),
        (["--until", "{1}"], [0]),
        (["--since", "{1}", "--until", "{3}"], [1, 2]),
    ],
)
def test_replay_filters(db, recorded, args, expected):
    args = [arg.format(*recorded) for arg in args]

    assert [e["id"] for e in replay(db, *args)] == [f"evt-{n}" for n in expected]


def test_replay_refuses_a_type_that_matches_nothing(db, recorded):
    result = cli(db, "replay", "--type", "signin.nothing")

    assert result.exit_code == 2
    (message,) = assert_reported(result.stderr)
    assert all(t in message for t in EVENT_TYPES)


def test_replay_refuses_a_time_without_a_zone(db, recorded):
    result = cli(db, "replay", "--since", "2026-01-31T09:00:00")

    assert result.exit_code == 2
    assert "time zone" in assert_reported(result.stderr)[0]


def test_replay_all_adds_the_internal_events_with_secrets_redacted(db):
    publish(db, line(event(1)))
    store = Store(db)
    store.log.append_internal([NoteRecorded(note="hello", secret="whsec_c2VjcmV0")])
    store.close()
    publish(db, line(event(2)))

    signin_only = replay(db)
    everything = replay(db, "--all")

    assert [e["sequence"] for e in signin_only] == [1, 3]
    assert [e["type"] for e in everything] == [
        "signin.session.created",
        "test.cli.note_recorded",
        "signin.session.created",
    ]
    internal = everything[1]
    assert internal["note"] == "hello" and internal["sequence"] == 2
    assert internal["secret"] == "[redacted]"
    assert internal["recorded_at"] and internal["id"]
    assert "whsec_c2VjcmV0" not in cli(db, "replay", "--all").stdout


def test_replay_stats_counts_events_per_type_and_context(db, recorded):
    publish(db, line(event(9, organization="org-a", context="ctx-1")))

    result = cli(db, "replay", "--stats", "--json")
    table = cli(db, "replay", "--stats")

    assert json.loads(result.stdout) == [
        {"type": "signin.configuration.audit", "organization_id": "org-a", "context_id": "ctx-1",
         "count": 1},
        {"type": "signin.dhcp.granted", "organization_id": "org-a", "context_id": "ctx-2",
         "count": 1},
        {"type": "signin.session.created", "organization_id": "org-a", "context_id": "ctx-1",
         "count": 2},
        {"type": "signin.session.revoked", "organization_id": "org-b", "context_id": "ctx-3",
         "count": 1},
    ]  # fmt: skip
    assert table.stdout.splitlines()[0].split() == ["TYPE", "ORGANIZATION", "CONTEXT", "COUNT"]
    assert ["signin.session.created", "org-a", "ctx-1", "2"] in [
        row.split() for row in table.stdout.splitlines()
    ]


def test_replay_of_an_empty_log_prints_nothing(db):
    with WebhookSystem(db, deliver=False) as system:
        system.store  # noqa: B018  (opening it creates the empty log)
    result = cli(db, "replay")

    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_catalogue_lists_the_twelve_event_types_with_their_required_fields(tmp_path):
    db = tmp_path / "hooks.db"
    result = cli(db, "catalogue", "--json")
    table = cli(db, "catalogue")

    rows = json.loads(result.stdout)
    required = {r["type"]: r["required"] for r in rows}
    assert len(rows) == 12
    assert required == {
        **{
            f"signin.session.{s}": ["session_id"]
            for s in ("created", "resumed", "requested", "approved", "verified", "denied",
                      "revoked")
        },
        "signin.arenasession.login": ["arena_session_id", "mac"],
        "signin.arenasession.resumed": ["arena_session_id", "mac"],
        "signin.dhcp.granted": ["mac", "ip"],
        "signin.dhcp.expired": ["mac", "ip"],
        "signin.configuration.audit": ["entity_type", "entity_id", "action"],
    }  # fmt: skip
    assert all(r["description"] for r in rows)
    assert all(t in table.stdout for t in required)
    assert not db.exists()  # the catalogue needs no database
