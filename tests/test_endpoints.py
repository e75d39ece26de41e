"""A subscription's URL, content type and headers are refused at save time when unusable."""

from __future__ import annotations

import pytest

from signin_webhooks.eventstore.endpoints import (
    Endpoint,
    is_ndjson,
    parse_endpoint,
    validate_content_type,
    validate_headers,
    validate_url,
)
from signin_webhooks.eventstore.errors import InvalidInput


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "http://example.com",
        "HTTPS://Example.COM:8443/hooks?team=1",
        "https://example.com:65535/",
        "https://example.com:1/",
        "https://hooks.example.com./x",
        "http://[2606:2800:220:1::]:8080/x",
        "http://[fe80::1%25eth0]/",
        "http://127.0.0.1:9000/",
    ],
)
def test_http_and_https_urls_are_returned_unchanged(url: str) -> None:
    assert validate_url(url) == url


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("https://example.com/hook", Endpoint("https", "example.com", 443, "/hook", "example.com")),
        ("http://example.com", Endpoint("http", "example.com", 80, "/", "example.com")),
        (
            "HTTPS://Example.COM:8443/hooks?team=1",
            Endpoint("https", "example.com", 8443, "/hooks?team=1", "example.com:8443"),
        ),
        ("http://example.com:80/x", Endpoint("http", "example.com", 80, "/x", "example.com")),
        (
            "http://[2606:2800:220:1::]:8080/x",
            Endpoint("http", "2606:2800:220:1::", 8080, "/x", "[2606:2800:220:1::]:8080"),
        ),
        ("http://[fe80::1%25eth0]/", Endpoint("http", "fe80::1%eth0", 80, "/", "[fe80::1%eth0]")),
    ],
)
def test_a_url_parses_into_what_a_request_to_it_uses(url: str, parsed: Endpoint) -> None:
    assert parse_endpoint(url) == parsed


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "example.com/hook"])
def test_schemes_other_than_http_and_https_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="is not http or https"):
        validate_url(url)


@pytest.mark.parametrize("url", ["http:///hook", "https://:443/", ""])
def test_a_url_without_a_host_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match=r"no host|is empty"):
        validate_url(url)


@pytest.mark.parametrize("url", ["https://user:s3cret@example.com/", "https://token@example.com/"])
def test_credentials_in_the_url_are_refused_pointing_to_a_header(url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_url(url)
    message = str(refused.value)
    assert "custom header instead, e.g. 'Authorization: Bearer ...'" in message
    assert "s3cret" not in message and "token" not in message


@pytest.mark.parametrize(
    "url", ["https://example.com:0/", "https://example.com:65536/", "https://example.com:x/"]
)
def test_ports_outside_1_to_65535_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="port"):
        validate_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://exa mple.com/",
        "https://example.com/a b",
        " https://example.com/",
        "https://example.com/\r\nX-Injected: 1",
        "https://example.com/\x00",
        "https://example.com\t/",
        "https://example\u200b.com/",
    ],
)
def test_whitespace_and_control_characters_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="whitespace or a control character"):
        validate_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://%31%32%37.0.0.1/",  # urllib3 would decode this host to 127.0.0.1
        "http://evil.example\\@127.0.0.1/",  # parsers disagree on which host this is
        "http://a..b/",
        "http://[not-ipv6]/",
        "http://[::1/",
        "http://example.com:80:90/",
    ],
)
def test_hosts_that_parsers_could_read_differently_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        validate_url(url)


def test_a_non_ascii_host_is_refused_with_its_ascii_spelling() -> None:
    with pytest.raises(InvalidInput, match=r"xn--bcher-kva\.example"):
        validate_url("https://bücher.example/")


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "application/cloudevents-batch+json",
        "application/vnd.acme.events+json",
        "text/json",
        "application/json; charset=utf-8",
        'Application/JSON;charset="UTF-8"',
        "application/x-ndjson",
        "application/x-ndjson; charset=utf-8",
    ],
)
def test_json_and_ndjson_content_types_are_accepted(value: str) -> None:
    assert validate_content_type(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "text/plain",
        "application/xml",
        "application/ndjson",
        "*/json",
        "application/*+json",
        "application/jsonp",
        "json",
        "",
        "application/json;",
        "application/json\r\nX-Injected: 1",
    ],
)
def test_other_content_types_are_refused_naming_what_is_accepted(value: str) -> None:
    with pytest.raises(InvalidInput, match=r"application/json.*application/x-ndjson"):
        validate_content_type(value)


def test_a_charset_other_than_utf_8_is_refused() -> None:
    with pytest.raises(InvalidInput, match="bodies are UTF-8"):
        validate_content_type("application/json; charset=iso-8859-1")


def test_ndjson_is_recognised_whatever_its_case_and_parameters() -> None:
    assert is_ndjson("Application/X-NDJSON; charset=utf-8")
    assert not is_ndjson("application/json")
    assert not is_ndjson("application/x-ndjson+json")


def test_cli_header_strings_become_a_mapping_with_values_trimmed() -> None:
    headers = validate_headers(["Authorization: Bearer abc", "X-Team:  blue  ", "X-Empty:"])
    assert headers == {"Authorization": "Bearer abc", "X-Team": "blue", "X-Empty": ""}


def test_a_mapping_from_the_python_api_is_accepted() -> None:
    assert validate_headers({"X-Team": "blue"}) == {"X-Team": "blue"}


def test_a_value_may_hold_colons() -> None:
    assert validate_headers(["X-Url: https://a.example:8443/"]) == {
        "X-Url": "https://a.example:8443/"
    }


def test_a_header_string_without_a_colon_is_refused() -> None:
    with pytest.raises(InvalidInput, match="write it as 'Name: value'"):
        validate_headers(["Authorization Bearer abc"])


def test_a_single_string_instead_of_a_list_is_refused() -> None:
    with pytest.raises(InvalidInput, match="list of 'Name: value'"):
        validate_headers("X-Team: blue")


@pytest.mark.parametrize("name", ["Bad Name", "X-Team ", "", "X(1)", "Ünicode", "X@Y"])
def test_header_names_must_be_tokens(name: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid token"):
        validate_headers({name: "v"})


@pytest.mark.parametrize(
    "name",
    [
        "Content-Type",
        "content-length",
        "HOST",
        "Transfer-Encoding",
        "Connection",
        "User-Agent",
        "webhook-id",
        "Webhook-Signature",
        "WEBHOOK-TIMESTAMP",
        "webhook-anything",
    ],
)
def test_reserved_headers_are_refused_whatever_their_case(name: str) -> None:
    with pytest.raises(InvalidInput, match=f"header '{name}'"):
        validate_headers([f"{name}: x"])


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a\r\nX-Injected: 1", "line break"),
        ("a\rb", "line break"),
        ("a\nb", "line break"),
        ("a\x00b", "NUL"),
        ("a\x01b", "control character"),
        ("a\x7fb", "control character"),
        ("\u20ac", "cannot carry"),
    ],
)
def test_header_values_that_could_break_the_request_are_refused(value: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        validate_headers({"X-Team": value})


def test_a_tab_inside_a_value_is_allowed() -> None:
    assert validate_headers({"X-Team": "a\tb"}) == {"X-Team": "a\tb"}


@pytest.mark.parametrize("given", [["X-Team: a", "x-team: b"], {"X-Team": "a", "X-TEAM": "b"}])
def test_a_header_given_twice_is_refused(given: list[str] | dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match="given twice"):
        validate_headers(given)


@pytest.mark.parametrize(
    "call",
    [
        lambda: validate_url("https://user:pw@example.com/"),
        lambda: validate_content_type("text/plain"),
        lambda: validate_headers(["Host: x"]),
        lambda: validate_headers({"X-A": "a\nb"}),
    ],
)
def test_every_refusal_is_one_line_naming_a_way_out(call) -> None:
    with pytest.raises(InvalidInput) as refused:
        call()
    message = str(refused.value)
    assert "\n" not in message
    assert ":" in message
