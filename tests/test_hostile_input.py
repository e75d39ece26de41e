"""Hostile input: whatever a publisher or an operator sends is either taken whole or refused
with a clear report, and a refusal leaves the log exactly as it was.

Property-based: random bytes, random JSON and random valid events with random extra fields go
into `publish`, through the command line and the Python API; random strings go into every option
of `subscriptions create`. Last, the address check at connection time: a host name whose DNS
answer turns private after the subscription was saved is blocked before any connection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import Result
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from signin_webhooks.eventstore import CATALOGUE, EVENT_TYPES, InvalidInput
from tests.endpoint import Endpoint, Reply, closed_port_url
from tests.helpers import PREFIX, assert_reported, invoke, wait_until

ASSIGNED = {"id", "occurred_at", "sequence", "recorded_at"}
ENVELOPE = {"type", "organization_id", "context_id", *ASSIGNED}
PRIMER = {
    "id": "primer",
    "type": "signin.dhcp.granted",
    "organization_id": "org_acme",
    "context_id": "ctx_lobby",
    "mac": "3c:22:fb:10:aa:01",
    "ip": "10.20.0.17",
}
PUBLIC_ADDRESS = "93.184.216.34"
BASE = ["--name", "CRM", "--url", f"https://{PUBLIC_ADDRESS}/hook", "--context", "ctx_lobby"]
EXAMPLES = settings(max_examples=150, deadline=None)


# -- helpers ---------------------------------------------------------------------------------


def cli(db: Path, *args: str, input: bytes | None = None) -> Result:
    return invoke("--db", str(db), *args, input=input)


def replayed_lines(db: Path, *args: str) -> list[bytes]:
    """`replay` output split on newlines only: U+2028 or U+0085 inside a string is no line end."""
    result = cli(db, "replay", *args)
    assert result.exit_code == 0, result.stderr
    return [line for line in result.stdout_bytes.split(b"\n") if line]


def assert_refused(result: Result, *, one_line: bool = False) -> list[str]:
    """Exit 2, nothing on stdout, every stderr line prefixed, never a traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = assert_reported(result.stderr)
    if one_line:
        assert len(lines) == 1, result.stderr
    return lines


def log_of(db: Path) -> list[bytes]:
    """Every record of the log, internal ones included, as `replay --all` prints it."""
    with WebhookSystem(db, deliver=False) as system:
        return [record.replayed() for record in system.replay(internal=True)]


@contextlib.contextmanager
def primed_db() -> Iterator[Path]:
    """A fresh database holding one event, so that 'nothing appended' is a real comparison."""
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "hooks.db"
        with WebhookSystem(db, deliver=False) as system:
            system.publish(PRIMER)
        yield db


def spelled(text: str | bytes) -> Any:
    """JSON read with every number kept as it is spelled, so `1.50` and `1.5` differ."""
    return json.loads(
        text,
        parse_int=lambda s: ("number", s),
        parse_float=lambda s: ("number", s),
        parse_constant=lambda s: ("number", s),
    )


def sent_objects(data: bytes) -> list[Any]:
    """What the publisher sent, read without the product: an object, an array, or NDJSON."""
    text = data.decode("utf-8").lstrip(" \t\r\n\ufeff")
    try:
        whole = spelled(text)
    except ValueError:
        return [spelled(line) for line in text.split("\n") if line.strip()]
    return whole if isinstance(whole, list) else [whole]


def appended(sent: list[Any]) -> list[dict[str, Any]]:
    """The objects a call appends: a repeated id within the call is a duplicate of the first."""
    seen, kept = set(), []
    for obj in sent:
        if "id" in obj:
            if obj["id"] in seen:
                continue
            seen.add(obj["id"])
        kept.append(obj)
    return kept


def assert_replayed_intact(sent: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> None:
    """Each replayed event is the published object, field for field and number for number,
    plus only the fields the log assigns."""
    assert len(replayed) == len(sent)
    for obj, got in zip(sent, replayed, strict=True):
        assert {k: v for k, v in got.items() if k in obj} == obj
        assert {"sequence", "recorded_at"} <= set(got) - set(obj) <= ASSIGNED


def take_or_refuse_via_cli(data: bytes) -> None:
    """The oracle for one publish through the command line."""
    with primed_db() as db:
        before = log_of(db)
        result = cli(db, "publish", "--json", input=data)
        if result.exit_code != 0:
            event("refused")
            assert_refused(result)
            assert log_of(db) == before
            return
        event("accepted")
        assert "Traceback" not in result.stderr
        report = json.loads(result.stdout)
        sent = sent_objects(data)
        expected = appended(sent)
        assert report["appended"] == len(expected)
        assert report["duplicates"] == len(sent) - len(expected)
        lines = replayed_lines(db, "--after-sequence", "1")
        assert_replayed_intact(expected, [spelled(line) for line in lines])


# -- strategies ------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
some_text = st.text(min_size=1, max_size=40)
event_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True)
zones = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
times = st.datetimes(
    min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=zones
).map(dt.datetime.isoformat)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event of any type, perhaps with its own id and time, and random extra fields."""
    kind = draw(st.sampled_from(EVENT_TYPES))
    required = CATALOGUE[kind][1]
    obj: dict[str, Any] = {
        "type": kind,
        "organization_id": draw(some_text),
        "context_id": draw(some_text),
        **{field: draw(some_text) for field in required},
    }
    if draw(st.booleans()):
        obj["id"] = draw(event_ids)
    if draw(st.booleans()):
        obj["occurred_at"] = draw(times)
    extra_keys = st.text(max_size=12).filter(lambda k: k not in ENVELOPE and k not in required)
    extras = draw(st.dictionaries(extra_keys, json_values, max_size=6))
    return {**obj, **extras}


@st.composite
def tampered_events(draw: st.DrawFn) -> Any:
    """A valid event with a few fields dropped or replaced by anything at all."""
    obj = draw(valid_events())
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        key = draw(st.sampled_from(sorted(set(obj) | ENVELOPE)))
        if key in obj and draw(st.booleans()):
            del obj[key]
        else:
            obj[key] = draw(json_values)
    return obj


def encoded(objects: list[Any], style: str, framing: str) -> bytes:
    dump = {
        "compact": lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=False),
        "ascii": lambda o: json.dumps(o, separators=(",", ":")),
        "spaced": lambda o: json.dumps(o),
        "pretty": lambda o: json.dumps(o, indent=2, ensure_ascii=False),
    }[style]
    if framing == "object":
        return dump(objects[0]).encode()
    if framing == "array":
        return dump(objects).encode()
    return "\n".join(dump(o).replace("\n", " ") for o in objects).encode() + b"\n"


styles = st.sampled_from(["compact", "ascii", "spaced", "pretty"])
framings = st.sampled_from(["object", "array", "ndjson"])


@st.composite
def publish_inputs(draw: st.DrawFn) -> bytes:
    objects = draw(st.lists(tampered_events() | json_values, min_size=1, max_size=4))
    return encoded(objects, draw(styles), draw(framings))


@st.composite
def mangled_bytes(draw: st.DrawFn) -> bytes:
    """Valid input with bytes flipped, cut out or slipped in."""
    events = draw(st.lists(valid_events(), min_size=1, max_size=3))
    data = bytearray(encoded(events, "compact", draw(framings)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        match draw(st.sampled_from(["flip", "cut", "insert"])):
            case "flip" if at < len(data):
                data[at] = draw(st.integers(min_value=0, max_value=255))
            case "cut":
                del data[at : at + draw(st.integers(min_value=1, max_value=8))]
            case _:
                data[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


# -- publish: random input, through the command line and the Python API ----------------------


@EXAMPLES
@given(st.binary(max_size=400) | mangled_bytes())
def test_random_bytes_into_publish_are_taken_whole_or_refused_leaving_the_log_as_it_was(
    data: bytes,
) -> None:
    take_or_refuse_via_cli(data)


@EXAMPLES
@given(publish_inputs())
def test_random_json_into_publish_is_taken_whole_or_refused_leaving_the_log_as_it_was(
    data: bytes,
) -> None:
    take_or_refuse_via_cli(data)


@EXAMPLES
@given(st.lists(tampered_events() | json_values, min_size=1, max_size=4), st.booleans())
def test_the_python_api_takes_random_json_whole_or_refuses_it_leaving_the_log_as_it_was(
    objects: list[Any], as_text: bool
) -> None:
    data: Any = encoded(objects, "spaced", "array") if as_text else objects
    with primed_db() as db, WebhookSystem(db, deliver=False) as system:
        before = [r.replayed() for r in system.replay(internal=True)]
        try:
            result = system.publish(data)
        except InvalidInput as refusal:
            event("refused")
            assert str(refusal).strip()
            assert [r.replayed() for r in system.replay(internal=True)] == before
            return
        event("accepted")
        sent = [json.loads(json.dumps(o)) for o in objects]
        expected = appended(sent)
        assert result.appended == len(expected)
        replayed = [json.loads(r.replayed()) for r in system.replay(after_sequence=1)]
        assert_replayed_intact(expected, replayed)


@EXAMPLES
@given(st.lists(valid_events(), min_size=1, max_size=4), styles, framings)
def test_valid_events_with_random_extra_fields_are_replayed_byte_for_byte(
    events: list[dict[str, Any]], style: str, framing: str
) -> None:
    events = appended(events)  # a repeated id would be a duplicate, not a second event
    if framing == "object":
        events = events[:1]
    data = encoded(events, style, framing)
    with primed_db() as db:
        result = cli(db, "publish", "--json", input=data)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["appended"] == len(events)
        lines = replayed_lines(db, "--after-sequence", "1")

    assert_replayed_intact([spelled(json.dumps(e)) for e in events], [spelled(x) for x in lines])
    if style in ("compact", "ascii"):  # sent compact: kept to the byte, the assigned fields added
        for event, line in zip(events, lines, strict=True):
            sent = encoded([event], style, "object")
            assert line.startswith(sent[:-1] + b",")
            assert set(json.loads(b"{" + line[len(sent) :])) <= ASSIGNED


# -- subscriptions create: random strings in every option ------------------------------------

OPTIONS = {
    "--name": st.text(max_size=30),
    "--description": st.text(max_size=30),
    "--url": st.from_regex(
        r"https?://[a-z0-9.\-\[\]:@%]{0,20}(:[0-9]{0,6})?/[^ ]{0,10}", fullmatch=True
    ),
    "--context": st.text(max_size=30),
    "--event": st.from_regex(r"(signin\.)?[a-z.*]{0,20}", fullmatch=True),
    "--header": st.from_regex(r"[A-Za-z\-_ ]{0,10}:[ -~\r\n\t\x00]{0,12}", fullmatch=True),
    "--content-type": st.from_regex(
        r"[a-z\-+*]{0,12}/[a-z\-+*]{0,12}(; ?[a-z]+=[a-z0-9\-\"]*)?", fullmatch=True
    ),
    "--max-events": st.from_regex(r"[-+ ]?[0-9_.eE]{0,9}", fullmatch=True),
    "--max-bytes": st.from_regex(r"[-+ ]?[0-9_.eE]{0,10}( ?[KkMm]i?B)?", fullmatch=True),
    "--flush-interval": st.from_regex(r"([-+]?[0-9.]{0,4}(ms|[smhd])?){0,3}", fullmatch=True),
    "--retry-schedule": st.from_regex(r"([-+]?[0-9.]{0,4}(ms|[smhd])?[,;]?){0,6}", fullmatch=True),
    "--timeout": st.from_regex(r"[-+]?[0-9.]{0,5}(ms|[smhd])?", fullmatch=True),
}
VALID = {
    "--name": ["CRM", " Compliance feed ", "名前"],
    "--description": ["", "Guest sign-ins for the CRM"],
    "--url": ["https://hooks.example.com/h", f"http://{PUBLIC_ADDRESS}:8080/x?y=1"],
    "--context": ["ctx_1", "Lobby Wi-Fi"],
    "--event": ["*", "signin.session.*", "signin.dhcp.granted"],
    "--header": ["X-Api-Key: abc", "Authorization: Bearer t0k3n"],
    "--content-type": ["application/json", "application/x-ndjson", "application/ce+json"],
    "--max-events": ["1", "20000", "1000000"],
    "--max-bytes": ["65536", "67108864"],
    "--flush-interval": ["0s", "20m", "24h", "1h30m"],
    "--retry-schedule": ["2m,4m", "1s"],
    "--timeout": ["30s", "1m", "500ms"],
}
REPEATABLE = ("--event", "--header")
# What a terminal can hand over: any text, and argv bytes that are not UTF-8, which Python
# passes on as lone surrogates.
undecodable = st.integers(min_value=0x80, max_value=0xFF).map(lambda b: chr(0xDC00 + b))
anything = st.text(st.characters(codec="utf-8") | undecodable, max_size=30)


def public_dns(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """DNS that finds every name, at a public address, and fails as the real one on bad names."""
    host.encode("idna")
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port))]


@st.composite
def option_values(draw: st.DrawFn) -> list[tuple[str, str]]:
    chosen = draw(st.lists(st.sampled_from(sorted(OPTIONS)), min_size=1, max_size=3, unique=True))
    pairs = []
    for option in chosen:
        values = st.sampled_from(VALID[option]) | OPTIONS[option] | anything
        count = draw(st.integers(min_value=1, max_value=3)) if option in REPEATABLE else 1
        pairs += [(option, draw(values)) for _ in range(count)]
    return pairs


@pytest.fixture
def operator_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One database for all examples, holding one subscription: each example compares the state
    before and after its own command, so they need no database of their own."""
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)
    db = tmp_path / "hooks.db"
    with mock.patch.object(socket, "getaddrinfo", public_dns):
        assert cli(db, "subscriptions", "create", *BASE).exit_code == 0
    return db


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pairs=option_values())
def test_random_strings_in_any_option_of_create_are_saved_or_refused_with_one_line(
    operator_db: Path, pairs: list[tuple[str, str]]
) -> None:
    db = operator_db
    given_options = {option for option, _ in pairs}
    args = [arg for i, arg in enumerate(BASE) if BASE[i - i % 2] not in given_options]
    args += [text for pair in pairs for text in pair]
    listed = ["subscriptions", "list", "--all", "--json"]
    with mock.patch.object(socket, "getaddrinfo", public_dns):
        before_list, before_log = cli(db, *listed).stdout, replayed_lines(db, "--all")
        result = cli(db, "subscriptions", "create", "--json", *args)

        if result.exit_code != 0:
            event("refused")
            assert_refused(result, one_line=True)
            assert cli(db, *listed).stdout == before_list
            assert replayed_lines(db, "--all") == before_log
            return
        event("saved")
        assert all(text.startswith(f"{PREFIX}warning: ") for text in result.stderr.splitlines())
        created = json.loads(result.stdout)
        assert created["secret"].startswith("whsec_")
        shown = json.loads(cli(db, "subscriptions", "show", created["id"], "--json").stdout)
        url = dict(pairs).get("--url", BASE[3])
        assert shown["url"] == url == created["url"]
        after = json.loads(cli(db, *listed).stdout)
        assert [s["id"] for s in after] == [s["id"] for s in json.loads(before_list)] + [
            created["id"]
        ]
        assert replayed_lines(db, "--all")[:-1] == before_log  # one event more, nothing else


def test_a_value_that_is_not_utf8_is_one_clear_line_and_nothing_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "hooks.db"
    for option in ("--name", "--description", "--context"):
        args = [arg for i, arg in enumerate(BASE) if BASE[i - i % 2] != option]
        result = cli(db, "subscriptions", "create", *args, option, "caf\udce9")
        assert "UTF-8" in assert_refused(result, one_line=True)[0]
    assert cli(db, "replay", "--all").stdout == ""


# -- addresses: DNS rebinding ----------------------------------------------------------------


class Rebinding:
    """A resolver that answers a public address once (when the subscription is saved) and
    `later` every time after (when the delivery connects)."""

    def __init__(self, later: list[str]) -> None:
        self.later = later
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return [PUBLIC_ADDRESS] if len(self.asked) == 1 else list(self.later)


def wait_for_attempt(system: WebhookSystem, sub_id: str, timeout: float = 5.0) -> Any:
    def first_attempt() -> Any:
        for delivery in system.deliveries.list(subscription_id=sub_id):
            _, attempts = system.deliveries.get(delivery.id)
            if attempts:
                return attempts[0]
        return None

    return wait_until(first_attempt, "a delivery attempt", timeout, interval=0.02)


@pytest.mark.parametrize(
    "later",
    [["127.0.0.1"], ["::ffff:127.0.0.1"], ["0.0.0.0"], [PUBLIC_ADDRESS, "127.0.0.1"]],
    ids=["loopback", "ipv4-mapped-loopback", "unspecified", "private-among-public"],
)
def test_a_host_whose_dns_answer_turns_private_after_saving_is_blocked_at_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, later: list[str]
) -> None:
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)
    resolver = Rebinding(later)
    system = WebhookSystem(tmp_path / "hooks.db", resolver=resolver, allow_private_networks=False)
    with Endpoint() as endpoint, system:
        saved = system.subscriptions.create(
            name="rebinding",
            url=endpoint.url_for("/hook", host="hooks.rebind.example"),
            context="ctx_lobby",
            max_events=1,
            timeout="2s",
        )
        # the save-time check saw a public address, reached by plain http (so warned of that)
        assert [w for w in saved.warnings if "is plain http to a public address" not in w] == []
        system.publish(PRIMER)

        attempt = wait_for_attempt(system, saved.subscription.id)

        assert attempt.error_kind == "blocked_address"
        assert attempt.status is None
        assert len(resolver.asked) >= 2
        assert set(resolver.asked) == {"hooks.rebind.example"}
        assert endpoint.connections == 0
        assert endpoint.requests == []


# -- logs: what a run logs never holds a secret or a header value ----------------------------

HOSTILE_HEADER_VALUES = [
    "Bearer t0k3n-of-the-crm",
    'quoted "value" = with spaces',
    '{"json": ["inside", 1]}',
    "back\\slash\\es",
    "l\xe4t\xedn-1-s\xebcret",
    "%s %d {} ${HOME} $(id)",
    "\t tab-led",
]


def written_forms(value: str) -> set[str]:
    """A value as it is, and as a JSON or a quoted text log line would spell it."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_logs_of_a_run_with_failures_name_every_attempt_and_no_secret_or_header_value(
    tmp_path: Path, command: str, log_format: str
) -> None:
    db = tmp_path / "hooks.db"
    secrets_given: list[str] = []
    with contextlib.ExitStack() as stack:
        failing = stack.enter_context(Endpoint(Reply(500, {"X-Echo": "a"}, b"no")))
        moved = stack.enter_context(Endpoint(Reply(302, {"Location": "http://127.0.0.1:9/"})))
        gone = stack.enter_context(Endpoint(Reply(410)))
        fine = stack.enter_context(Endpoint())
        urls = [e.url_for("/hook?token=in-the-query") for e in (failing, moved, gone, fine)]
        for n, url in enumerate([*urls, closed_port_url()]):
            headers = [f"X-Key-{i}: {v}" for i, v in enumerate(HOSTILE_HEADER_VALUES)]
            created = json.loads(cli(
                db, "--allow-private-networks", "subscriptions", "create", "--json",
                "--name", f"hostile {n}", "--url", url, "--context", "ctx_lobby",
                "--max-events", "1", "--flush-interval", "0", "--retry-schedule", "1h",
                *[arg for h in headers for arg in ("--header", h)],
            ).stdout)  # fmt: skip
            rotated = json.loads(
                cli(db, "subscriptions", "rotate-secret", created["id"], "--json").stdout
            )
            secrets_given += [created["secret"], rotated["secret"]]
        cli(db, "publish", "-", input=json.dumps(PRIMER | {"context_id": "ctx_lobby"}).encode())
        process = subprocess.Popen(
            [command, "--db", str(db), "--allow-private-networks", "run", "--log-format",
             log_format],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            with WebhookSystem(db, deliver=False) as reader:

                def attempted() -> list[Any] | None:
                    found = [
                        a for d in reader.deliveries.list() for a in reader.deliveries.get(d.id)[1]
                    ]
                    return found if len(found) == 5 else None

                attempts = wait_until(attempted, "one attempt per subscription", timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            _, log = process.communicate(timeout=60)
    assert process.returncode == 0, log
    assert {a.error_kind for a in attempts} == {
        None, "http_status", "redirect", "connection_refused"
    }  # fmt: skip
    for attempt in attempts:
        assert f"{attempt.batch_id}" in log and "attempt" in log
    if log_format == "json":
        lines = [json.loads(line) for line in log.splitlines()]
        logged = {(x["delivery"], x["attempt"]) for x in lines if x["event"] == "attempt"}
        assert logged == {(a.batch_id, a.attempt) for a in attempts}
    forbidden = {form for v in HOSTILE_HEADER_VALUES for form in written_forms(v.strip())}
    forbidden |= {s for secret in secrets_given for s in (secret, secret.removeprefix("whsec_"))}
    forbidden.add("in-the-query")
    assert [f for f in forbidden if f in log] == []
