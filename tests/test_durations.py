"""Durations are read and printed the way a person writes them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signin_webhooks.eventstore.durations import (
    format_duration,
    format_duration_list,
    parse_duration,
    parse_duration_list,
)
from signin_webhooks.eventstore.errors import InvalidInput
from signin_webhooks.eventstore.times import parse_time

DAY = 86_400


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("0s", 0),
        ("500ms", 0.5),
        ("30s", 30),
        ("20m", 1200),
        ("90m", 5400),
        ("1h30m", 5400),
        ("2h", 7200),
        ("1h30m15s", 5415),
        ("1s500ms", 1.5),
        ("24h", DAY),
        (" 20m ", 1200),
    ],
)
def test_written_durations_are_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0"),
        (0.5, "500ms"),
        (0.001, "1ms"),
        (30, "30s"),
        (90, "1m30s"),
        (1200, "20m"),
        (5400, "1h30m"),
        (3661.001, "1h1m1s1ms"),
        (DAY, "24h"),
    ],
)
def test_durations_print_the_way_a_person_writes_them(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=400 * DAY * 1000))
def test_printed_durations_read_back_to_the_same_value(ms: int) -> None:
    seconds = ms / 1000
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.integers(min_value=0, max_value=400 * DAY * 1000))
def test_reading_then_printing_gives_the_shortest_spelling(ms: int) -> None:
    text = format_duration(ms / 1000)
    assert format_duration(parse_duration(text)) == text


def test_sub_millisecond_values_print_rounded_to_the_millisecond() -> None:
    assert format_duration(1.0004) == "1s"


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf")])
def test_negative_or_non_finite_values_cannot_be_printed(bad: float) -> None:
    with pytest.raises(ValueError):
        format_duration(bad)


def test_a_bare_number_is_refused_with_a_hint_to_write_units() -> None:
    with pytest.raises(
        InvalidInput, match=r"flush_interval '30' has no unit: write units, e\.g\. 30s"
    ):
        parse_duration("30", what="flush_interval")


def test_a_duration_over_the_maximum_is_refused_naming_the_maximum() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_duration("25h", what="flush_interval", maximum=DAY)
    assert str(refused.value) == "flush_interval '25h' is too long: at most 24h"


def test_the_maximum_itself_is_allowed() -> None:
    assert parse_duration("24h", maximum=DAY) == DAY


def test_a_duration_under_the_minimum_is_refused_naming_the_minimum() -> None:
    with pytest.raises(InvalidInput, match=r"timeout '0' is too short: at least 1s"):
        parse_duration("0", what="timeout", minimum=1)


def test_a_fraction_is_refused_with_the_whole_unit_spelling() -> None:
    with pytest.raises(
        InvalidInput, match=r"'1\.5h' has a fraction: write whole units, e\.g\. 1h30m"
    ):
        parse_duration("1.5h")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("-5s", "is negative"),
        ("abc", "is not a duration"),
        ("5 s", "is not a duration"),
        ("1h 30m", "is not a duration"),
        ("30S", "is not a duration"),
        ("5d", "is not a duration"),
        ("+5s", "is not a duration"),
        ("\u0663\u0660s", "is not a duration"),
        ("30m1h", "largest first"),
        ("1h1h", "largest first"),
        ("0.0001s", "finer than a millisecond"),
        ("9" * 400 + "h", "is too long"),
    ],
)
def test_text_that_is_not_a_duration_is_refused(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem) as refused:
        parse_duration(text, what="timeout")
    message = str(refused.value)
    assert message.startswith("timeout")
    assert "\n" not in message and len(message) < 200


def test_huge_numbers_without_a_maximum_are_refused_rather_than_overflowing() -> None:
    with pytest.raises(InvalidInput, match="too long"):
        parse_duration("9" * 400 + "ms")


def test_a_retry_schedule_reads_as_a_tuple_of_seconds() -> None:
    assert parse_duration_list("2m,4m,8m", what="retry_schedule", maximum=None) == (120, 240, 480)


def test_spaces_after_commas_are_allowed() -> None:
    assert parse_duration_list("2m, 4m", what="retry_schedule", maximum=None) == (120, 240)


@pytest.mark.parametrize("text", ["", " ", "2m,,4m", "2m,4m,", ",2m"])
def test_empty_schedules_and_empty_items_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"retry_schedule .*e\.g\. 2m,4m,8m"):
        parse_duration_list(text, what="retry_schedule", maximum=None)


def test_each_schedule_item_is_held_to_the_maximum() -> None:
    with pytest.raises(InvalidInput, match=r"retry_schedule item '2h' is too long: at most 1h"):
        parse_duration_list("2m,2h", what="retry_schedule", maximum=3600)


def test_a_schedule_prints_back_as_written() -> None:
    assert format_duration_list((120, 240, 480, 960, 1920)) == "2m,4m,8m,16m,32m"


def test_a_time_may_be_given_as_a_time_ago() -> None:
    now = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)
    assert parse_time("90m", now=now) == dt.datetime(2026, 1, 31, 7, 30, tzinfo=dt.UTC)
    assert parse_time("2d", now=now) == dt.datetime(2026, 1, 29, 9, 0, tzinfo=dt.UTC)
    assert parse_time("1d12h", now=now) == dt.datetime(2026, 1, 29, 21, 0, tzinfo=dt.UTC)
    assert parse_time("2026-01-30", now=now) == dt.datetime(2026, 1, 30, tzinfo=dt.UTC)
    for text in ("1x", "d", "9999999999d", "99999999999999h"):
        with pytest.raises(InvalidInput, match="since"):
            parse_time(text, what="since", now=now)
