"""Event-type patterns: one rule, read alike by Python, SQLite's GLOB and PostgreSQL's LIKE."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signin_webhooks.eventstore import EVENT_TYPES, InvalidInput
from signin_webhooks.eventstore.event_types import (
    check_patterns,
    matches,
    postgres_like,
    selected,
    sqlite_glob,
)
from tests.backends import SKIP_REASON, server

SESSION = tuple(t for t in EVENT_TYPES if t.startswith("signin.session."))


@pytest.mark.parametrize(
    ("patterns", "event_type", "taken"),
    [
        (["*"], "signin.dhcp.granted", True),
        (["signin.session.*"], "signin.session.created", True),
        (["signin.session.*"], "signin.sessions.created", False),
        (["signin.*"], "signin.session.created", True),
        (["signin.dhcp.granted"], "signin.dhcp.granted", True),
        (["signin.dhcp.granted"], "signin.dhcp.granted.late", False),
        (["signin.se*"], "signin.session.created", False),  # `*` only after a dot, or alone
        (["signin.*.created"], "signin.session.created", False),
        (["signin.dhcp.*", "signin.session.created"], "signin.session.created", True),
        ([], "signin.session.created", False),
    ],
)
def test_a_pattern_takes_its_type_every_type_under_its_dot_or_every_type(
    patterns: list[str], event_type: str, taken: bool
) -> None:
    assert matches(patterns, event_type) is taken


def test_the_selected_types_are_the_catalogues_in_its_order() -> None:
    assert selected(["*"]) == EVENT_TYPES
    assert selected(["signin.session.*"]) == SESSION
    assert selected(["signin.configuration.audit", "signin.dhcp.*"]) == (
        "signin.dhcp.granted",
        "signin.dhcp.expired",
        "signin.configuration.audit",
    )
    assert selected(["signin.nothing"]) == ()


def test_patterns_that_select_a_type_are_kept_each_once() -> None:
    given_patterns = ["signin.session.*", "*", "signin.dhcp.granted", "signin.session.*"]
    assert check_patterns(given_patterns, "events") == tuple(given_patterns[:3])
    assert check_patterns("signin.dhcp.*", "types") == ("signin.dhcp.*",)  # a string is one
    assert check_patterns((), "types") == ()


@pytest.mark.parametrize(
    "pattern",
    ["signin.nothing", "signin.se*", "signin*", "signin.session.created*", "?", "subscription.*"],
)
def test_a_pattern_that_selects_no_type_is_refused_naming_the_field_and_the_types(
    pattern: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_patterns(["*", pattern], "types")
    message = str(refused.value)
    assert message.startswith(f"types {pattern!r} matches no event type; use a type, a pattern")
    assert all(t in message for t in EVENT_TYPES)
    assert refused.value.fields == ("types",)


def test_a_pattern_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidInput, match="events must be event types, not int"):
        check_patterns([1], "events")  # type: ignore[list-item]  # what a host program may pass


# --- the SQL translations select what `matches` selects, on real databases ----------------------

# Dots, the glob and LIKE wildcards and escapes, and a letter or two: where translations go wrong.
_TEXT = st.text(alphabet="ab.*?[]%_\\é", min_size=1, max_size=8)
_TYPES = st.lists(st.one_of(_TEXT, st.sampled_from(EVENT_TYPES)), min_size=1, max_size=12)


@st.composite
def _types_and_patterns(draw: Any) -> tuple[list[str], list[str]]:
    types = draw(_TYPES)
    named = st.sampled_from(types)
    pattern = st.one_of(
        named,  # a type of its own
        named.map(lambda t: t.rpartition(".")[0] + ".*"),  # every type under one's dot
        st.just("*"),
        _TEXT,
        _TEXT.map(lambda t: t + ".*"),
    )
    return types, draw(st.lists(pattern, min_size=1, max_size=3))


def _selected_in_python(types: list[str], patterns: list[str]) -> list[str]:
    return sorted(t for t in types if matches(patterns, t))


@pytest.fixture(scope="module")
def sqlite() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    yield conn
    conn.close()


@given(_types_and_patterns())
@settings(deadline=None)
def test_sqlite_glob_selects_what_matches_selects(
    sqlite: sqlite3.Connection, drawn: tuple[list[str], list[str]]
) -> None:
    types, patterns = drawn
    values = ",".join("(?)" for _ in types)
    where = " OR ".join("column1 GLOB ?" for _ in patterns)
    rows = sqlite.execute(
        f"SELECT column1 FROM (VALUES {values}) WHERE {where}",
        [*types, *map(sqlite_glob, patterns)],
    ).fetchall()
    assert sorted(r[0] for r in rows) == _selected_in_python(types, patterns)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    url = server()
    if url is None:
        pytest.skip(SKIP_REASON)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


@given(_types_and_patterns())
@settings(deadline=None)
def test_postgres_like_selects_what_matches_selects(
    postgres: Any, drawn: tuple[list[str], list[str]]
) -> None:
    types, patterns = drawn
    where = " OR ".join("t LIKE %s" for _ in patterns)
    rows = postgres.execute(
        f"SELECT t FROM unnest(%s::text[]) AS t WHERE {where}",
        [types, *map(postgres_like, patterns)],
    ).fetchall()
    assert sorted(r[0] for r in rows) == _selected_in_python(types, patterns)
