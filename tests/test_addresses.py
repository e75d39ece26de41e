"""Endpoints on loopback, private or other non-public addresses are refused in every spelling."""

from __future__ import annotations

import ipaddress
import socket
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from signin_webhooks.actors.addresses import (
    BlockedAddress,
    ResolutionFailed,
    check_endpoint,
    is_public,
    parse_ip_literal,
    resolve_checked,
    system_resolver,
)
from signin_webhooks.cli.app import in_options
from signin_webhooks.eventstore.errors import InvalidInput, SigninWebhooksError
from tests.helpers import FakeDns

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1::"


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"the resolver was asked about {host!r}, an address literal")


LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.0.0.2",
    "2130706433",
    "0x7f000001",
    "0X7F000001",
    "017700000001",
    "127.1",
    "0x7f.1",
    "127.0.1",
    "0x7f.0.0.01",
    "0177.0.0.1",
    "127.000.000.001",
    "127.0.0.1.",
    "[::1]",
    "::1",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "::ffff:7f00:1",
    "[::127.0.0.1]",
    "2002:7f00:1::",
    "64:ff9b::127.0.0.1",
    "::ffff:0:127.0.0.1",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_refused_without_asking_dns(host: str) -> None:
    with pytest.raises(BlockedAddress, match="loopback") as refused:
        resolve_checked(host, 443, resolver=no_dns, allow_private=False)
    assert f"endpoint host {host!r}" in str(refused.value)


def test_decimal_integer_spelling_of_loopback_is_refused() -> None:
    with pytest.raises(BlockedAddress, match=r"'2130706433' is 127\.0\.0\.1, a loopback address"):
        resolve_checked("2130706433", 80, resolver=no_dns, allow_private=False)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.0.0.01", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("0", "0.0.0.0"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("[::1]", "::1"),
        ("[fe80::1%25eth0]", "fe80::1%eth0"),
        ("[fe80::1%eth0]", "fe80::1%eth0"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("[2606:2800:220:1:0:0:0:0]", PUBLIC_V6),
    ],
)
def test_address_literals_are_read_in_every_spelling(host: str, address: str) -> None:
    assert str(parse_ip_literal(host)) == address


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "localhost",
        "1.2.3.4.5",
        "127.0.0.256",
        "256.1",
        "0x",
        "08",
        "0x7f.example",
        "127..1",
        "[2130706433]",
        "[example.com]",
        "",
        "1e100.net",
    ],
)
def test_host_names_and_invalid_literals_are_not_addresses(host: str) -> None:
    assert parse_ip_literal(host) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="compares with glibc inet_aton")
@given(st.text(alphabet="0123456789abcdefxX.", min_size=1, max_size=16))
def test_ipv4_literals_are_read_as_the_c_library_reads_them(text: str) -> None:
    assume(not text.endswith("."))  # a URL's one trailing dot is dropped on purpose
    try:
        expected = ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        expected = None
    assert parse_ip_literal(text) == expected


NOT_PUBLIC = {
    "0.0.0.0": "unspecified",
    "0.1.2.3": "reserved",
    "10.0.0.1": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "127.0.0.1": "loopback",
    "169.254.169.254": "link-local",
    "169.254.0.1": "link-local",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "broadcast",
    "192.0.0.8": "reserved",
    "192.0.2.1": "documentation",
    "198.51.100.7": "documentation",
    "203.0.113.9": "documentation",
    "198.18.0.1": "benchmarking",
    "192.88.99.1": "reserved",
    "::": "unspecified",
    "::1": "loopback",
    "fe80::1": "link-local",
    "fec0::1": "site-local",
    "fc00::1": "unique local",
    "fd12:3456:789a::1": "unique local",
    "ff02::1": "multicast",
    "ff0e::1": "multicast",
    "2001:db8::1": "documentation",
    "3fff::1": "documentation",
    "2001:2::1": "benchmarking",
    "100::1": "reserved",
    "64:ff9b:1::a00:1": "private",
    "::ffff:10.0.0.1": "private",
    "::ffff:169.254.169.254": "link-local",
    "::ffff:0.0.0.0": "unspecified",
    "::10.0.0.1": "private",
    "2002:a00:1::": "private",
    "2002:a9fe:a9fe::1": "link-local",
    "64:ff9b::10.0.0.1": "private",
    "64:ff9b::a9fe:a9fe": "link-local",
    # Teredo: server 65.54.227.120, client 10.0.0.1 (stored inverted as f5ff:fffe).
    "2001:0:4136:e378:8000:63bf:f5ff:fffe": "private",
    # Teredo: server 192.168.0.1, client a public address.
    "2001:0:c0a8:1::a247:27dd": "private",
}


@pytest.mark.parametrize(("address", "kind"), NOT_PUBLIC.items())
def test_non_public_addresses_are_refused_naming_their_kind(address: str, kind: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    dns = FakeDns({"hooks.example": [address]})
    with pytest.raises(BlockedAddress, match=kind) as refused:
        resolve_checked("hooks.example", 443, resolver=dns, allow_private=False)
    assert refused.value.host == "hooks.example"
    assert str(ipaddress.ip_address(refused.value.address)) == str(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC_V4,
        "8.8.8.8",
        "1.1.1.1",
        "100.128.0.1",
        "172.32.0.1",
        PUBLIC_V6,
        "2001:4860:4860::8888",
        "::ffff:93.184.216.34",
        "2002:5db8:d822::1",
        "64:ff9b::93.184.216.34",
        "2001:0:4136:e378:8000:63bf:a247:27dd",
    ],
)
def test_public_addresses_are_accepted(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))
    dns = FakeDns({"hooks.example": [address]})
    resolved = resolve_checked("hooks.example", 443, resolver=dns, allow_private=False)
    assert resolved == [str(ipaddress.ip_address(address))]


def test_the_resolver_is_asked_for_the_host_and_port() -> None:
    dns = FakeDns({"hooks.example": [PUBLIC_V4]})
    resolve_checked("hooks.example", 8443, resolver=dns, allow_private=False)
    assert dns.asked == [("hooks.example", 8443)]


def test_one_private_answer_among_public_ones_is_enough_to_refuse() -> None:
    dns = FakeDns({"rebind.example": [PUBLIC_V4, PUBLIC_V6, "10.0.0.7"]})
    with pytest.raises(BlockedAddress, match=r"resolves to 10\.0\.0\.7, a private address"):
        resolve_checked("rebind.example", 443, resolver=dns, allow_private=False)


def test_the_refusal_says_how_to_allow_private_networks() -> None:
    dns = FakeDns({"localhost": ["127.0.0.1"]})
    with pytest.raises(BlockedAddress) as refused:
        resolve_checked("localhost", 80, resolver=dns, allow_private=False)
    assert str(refused.value) == (
        "endpoint host 'localhost' resolves to 127.0.0.1, a loopback address; "
        "to deliver inside your own network run "
        "`settings.set('allow_private_networks', 'true')` or pass allow_private_networks"
    )
    assert in_options(refused.value) == (
        "endpoint host 'localhost' resolves to 127.0.0.1, a loopback address; "
        "to deliver inside your own network run "
        "`signin-webhooks settings set allow_private_networks true` "
        "or pass --allow-private-networks"
    )


def test_allowing_private_networks_returns_the_private_addresses() -> None:
    dns = FakeDns({"db.internal": ["10.0.0.7", "fd00::7", "10.0.0.7"]})
    resolved = resolve_checked("db.internal", 80, resolver=dns, allow_private=True)
    assert resolved == ["10.0.0.7", "fd00::7"]


def test_a_literal_is_returned_normalised_for_connecting() -> None:
    resolved = resolve_checked("0x7f.1", 80, resolver=no_dns, allow_private=True)
    assert resolved == ["127.0.0.1"]


def test_an_unknown_host_fails_to_resolve_naming_the_host() -> None:
    with pytest.raises(ResolutionFailed, match=r"cannot resolve host 'nowhere\.example'"):
        resolve_checked("nowhere.example", 443, resolver=FakeDns({}), allow_private=False)


def test_an_empty_answer_fails_to_resolve() -> None:
    dns = FakeDns({"empty.example": []})
    with pytest.raises(ResolutionFailed, match="no addresses"):
        resolve_checked("empty.example", 443, resolver=dns, allow_private=True)


def test_a_resolver_answer_that_is_not_an_address_fails_to_resolve() -> None:
    dns = FakeDns({"odd.example": ["not-an-ip"]})
    with pytest.raises(ResolutionFailed, match="not an IP address"):
        resolve_checked("odd.example", 443, resolver=dns, allow_private=True)


def test_resolution_errors_are_product_errors() -> None:
    assert issubclass(BlockedAddress, SigninWebhooksError)
    assert issubclass(ResolutionFailed, SigninWebhooksError)


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_ports_outside_1_to_65535_are_refused(port: int) -> None:
    with pytest.raises(InvalidInput, match="port"):
        resolve_checked(PUBLIC_V4, port, resolver=no_dns, allow_private=False)


def test_the_system_resolver_finds_localhost_and_it_is_refused() -> None:
    addresses = system_resolver("localhost", 80)
    assert addresses
    assert len(addresses) == len(set(addresses))
    with pytest.raises(BlockedAddress, match="loopback"):
        resolve_checked("localhost", 80, resolver=system_resolver, allow_private=False)


@pytest.mark.parametrize(
    ("url", "asked"),
    [
        ("https://hooks.example/x", ("hooks.example", 443)),
        ("http://hooks.example/x", ("hooks.example", 80)),
        ("https://Hooks.Example:8443/x", ("hooks.example", 8443)),
    ],
)
def test_an_endpoint_resolves_its_host_on_the_default_or_given_port(
    url: str, asked: tuple[str, int]
) -> None:
    dns = FakeDns({"hooks.example": [PUBLIC_V4]})
    assert check_endpoint(url, resolver=dns, allow_private=False) == [PUBLIC_V4]
    assert dns.asked == [asked]


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f.1:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::1]:9000/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1%25eth0]/",
    ],
)
def test_an_endpoint_url_on_a_private_literal_is_refused(url: str) -> None:
    with pytest.raises(BlockedAddress):
        check_endpoint(url, resolver=no_dns, allow_private=False)


def test_an_endpoint_url_on_a_public_literal_is_accepted() -> None:
    url = f"https://[{PUBLIC_V6}]:8443/x"
    assert check_endpoint(url, resolver=no_dns, allow_private=False) == [PUBLIC_V6]


def test_an_invalid_endpoint_url_is_refused_before_resolving() -> None:
    with pytest.raises(InvalidInput, match="credentials"):
        check_endpoint("https://u:p@hooks.example/", resolver=no_dns, allow_private=False)
