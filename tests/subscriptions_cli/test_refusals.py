"""Hostile input to `create` and `update`: refused in one line, and nothing stored."""

from __future__ import annotations

import pytest

from tests.subscriptions_cli import BASE, LOCAL_URL, audit, create, listed, refused, without

PRIVATE_HOSTS = [
    "127.0.0.1",
    "10.0.0.1",
    "192.168.1.1",
    "172.16.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[fe80::1]",
    "[fc00::1]",
    "2130706433",
    "0x7f.1",
    "017700000001",
    "127.1",
]


HOSTILE: dict[str, tuple[list[str], str]] = {
    "missing name": (without("--name"), "--name is required"),
    "empty name": (["--name", "", *without("--name")], "--name"),
    "missing url": (without("--url"), "--url is required"),
    "neither scope": (without("--context"), "exactly one of --context ID and --organization ID"),
    "both scopes": ([*BASE, "--organization", "org_acme"], "not both"),
    "ftp url": (["--url", "ftp://93.184.216.34/hook", *without("--url")], "not http or https"),
    "url without scheme": (["--url", "hooks.example.com/x", *without("--url")], "not http"),
    "url without host": (["--url", "https:///hook", *without("--url")], "has no host"),
    "url with user:password": (
        ["--url", "https://user:pw@93.184.216.34/", *without("--url")],
        "holds credentials",
    ),
    **{
        f"private {host}": (["--url", f"http://{host}/hook", *without("--url")], "--allow-private")
        for host in PRIVATE_HOSTS
    },
    **{
        f"header {name}": ([*BASE, "--header", header], fragment)
        for name, header, fragment in [
            ("name with space", "X Api Key: v", "not a valid token"),
            ("name ending in space", "X-Api : v", "not a valid token"),
            ("empty name", ": v", "not a valid token"),
            ("without colon", "Authorization Bearer x", "has no ':'"),
            ("value with CR", "X-Api: a\rb", "line break"),
            ("value with LF", "X-Api: a\nInjected: 1", "line break"),
            ("value with NUL", "X-Api: a\x00b", "NUL"),
            ("Content-Type", "Content-Type: text/plain", "--content-type"),
            ("Content-Length", "content-length: 1", "set by signin-webhooks"),
            ("Host", "Host: evil.example", "set by signin-webhooks"),
            ("Transfer-Encoding", "Transfer-Encoding: chunked", "set by signin-webhooks"),
            ("Connection", "Connection: close", "set by signin-webhooks"),
            ("User-Agent", "User-Agent: x", "set by signin-webhooks"),
            ("webhook-id", "webhook-id: x", "reserved for webhook signing"),
            ("Webhook-Signature", "Webhook-Signature: v1,x", "reserved for webhook signing"),
            ("webhook-timestamp", "WEBHOOK-TIMESTAMP: 1", "reserved for webhook signing"),
        ]
    },
    "header given twice": (
        [*BASE, "--header", "X-Api: 1", "--header", "x-api: 2"],
        "given twice",
    ),
    **{
        f"{option} {value!r}": ([*BASE, option, value], option)
        for option, values in [
            ("--event", ["signin.session.nope", "signin.nothing.*", "session.*", "", "dhcp"]),
            ("--max-events", ["abc", "0", "1000001", "-1", "1.5", "1e3", ""]),
            ("--max-bytes", ["abc", "65535", "67108865", "16MiB", "-1", ""]),
            ("--flush-interval", ["25h", "-1s", "abc", "1.5h", "24h1ms", "10", "1m1h", ""]),
            ("--retry-schedule", ["", "2m,,4m", "abc", "0", "25h", "2m;4m", ",", "1s," * 51]),
            ("--timeout", ["0", "abc", "2h", "-5s"]),
        ]
        for value in values
    },
    **{
        f"content type {value!r}": ([*BASE, "--content-type", value], "content type")
        for value in [
            "text/plain",
            "application/xml",
            "text/html",
            "*/*",
            "application/*",
            "application/json; charset=latin-1",
            "application/x-www-form-urlencoded",
            "json",
            "",
        ]
    },
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_input_to_create_is_refused_and_nothing_is_stored(case: str) -> None:
    create()
    before_log, before_list = audit(), listed()
    args, fragment = HOSTILE[case]
    assert fragment in refused("subscriptions", "create", *args)
    assert audit() == before_log
    assert listed() == before_list


UPDATE_HOSTILE = {
    "empty name": ["--name", ""],
    "both scopes": ["--context", "c", "--organization", "o"],
    "private url": ["--url", "http://[::ffff:127.0.0.1]/"],
    "url with credentials": ["--url", "https://a:b@93.184.216.34/"],
    "reserved header": ["--header", "Host: x"],
    "header value with LF": ["--header", "X-Api: a\nb"],
    "unknown event": ["--event", "signin.session.nope"],
    "max-events out of range": ["--max-events", "0"],
    "max-bytes not a number": ["--max-bytes", "lots"],
    "flush-interval 25h": ["--flush-interval", "25h"],
    "retry schedule": ["--retry-schedule", "2m,,4m"],
    "content type": ["--content-type", "text/plain"],
}


@pytest.mark.parametrize("case", UPDATE_HOSTILE)
def test_hostile_input_to_update_is_refused_and_nothing_is_stored(case: str) -> None:
    sub_id = create()["id"]
    before_log, before_list = audit(), listed()
    refused("subscriptions", "update", sub_id, *UPDATE_HOSTILE[case])
    assert audit() == before_log
    assert listed() == before_list


def test_the_refusal_of_a_private_address_says_how_to_allow_it() -> None:
    line = refused("subscriptions", "create", *without("--url"), "--url", LOCAL_URL)
    assert line == (
        "endpoint host '127.0.0.1' is 127.0.0.1, a loopback address; to deliver inside your own "
        "network run `signin-webhooks settings set allow_private_networks true` "
        "or pass --allow-private-networks"
    )
