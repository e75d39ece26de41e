"""Name resolution and the non-public address check, in one place so nothing slips around it.

Every connection resolves through one replaceable `Resolver` (tests make DNS answer what they
need) and is checked here, at subscription save time and again at each connection. Connect to
the addresses `resolve_checked` returns, never to the host name again: then DNS rebinding cannot
swap a public answer for a private one between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable

from signin_webhooks.eventstore.endpoints import is_plain_http, parse_endpoint
from signin_webhooks.eventstore.errors import InvalidInput, SigninWebhooksError, marked

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_HOW_TO_ALLOW = (
    "to deliver inside your own network run "
    "`«settings.set('allow_private_networks', 'true')»` or pass «allow_private_networks»"
)
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_OCTAL = re.compile(r"0[0-7]+")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class BlockedAddress(SigninWebhooksError):
    """An endpoint resolved to an address that private networks must allow first."""

    def __init__(self, message: str, *, host: str = "", address: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.address = address


class ResolutionFailed(SigninWebhooksError):
    """The endpoint's host name did not resolve to any address."""


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer, IPv4 and IPv6, in its preferred order without repeats."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in answers))


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host names by itself, in any spelling a client or OS accepts; else None.

    Covers IPv6 with or without brackets and zone, and the inet_aton forms of IPv4
    (`2130706433`, `0x7f000001`, `017700000001`, `127.1`, `0x7f.0.0.01`...), since any of them
    reaches the same machine as the dotted quad.
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
        if ":" not in text:
            return None
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.replace("%25", "%", 1))
        except ValueError:
            return None
    if text.endswith("."):  # URL parsers drop one trailing dot from an IPv4 host
        text = text[:-1]
    value = _inet_aton(text)
    return None if value is None else ipaddress.IPv4Address(value)


def _inet_aton(text: str) -> int | None:
    """inet_aton(3): 1 to 4 parts, each decimal, 0x hex or 0 octal; the last fills the rest."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        if _HEX.fullmatch(part):
            numbers.append(int(part, 16))
        elif _OCTAL.fullmatch(part):
            numbers.append(int(part, 8))
        elif _DECIMAL.fullmatch(part):
            numbers.append(int(part))
        else:
            return None
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = 0
    for number in leading:
        value = value << 8 | number
    return value << (8 * (4 - len(leading))) | last


def _networks(
    *pairs: tuple[str, str],
) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]:
    return [(ipaddress.ip_network(network), kind) for network, kind in pairs]


_LOOPBACK = "a loopback address"
_PRIVATE = "a private address"
_LINK_LOCAL = "a link-local address"
_RESERVED = "a reserved address"
_DOCUMENTATION = "a documentation address"
_IPV4_RANGES = _networks(
    ("0.0.0.0/32", "an unspecified address"),
    ("0.0.0.0/8", _RESERVED),
    ("10.0.0.0/8", _PRIVATE),
    ("100.64.0.0/10", "a carrier-grade NAT (CGNAT) address"),
    ("127.0.0.0/8", _LOOPBACK),
    ("169.254.0.0/16", _LINK_LOCAL),
    ("172.16.0.0/12", _PRIVATE),
    ("192.0.0.0/24", _RESERVED),
    ("192.0.2.0/24", _DOCUMENTATION),
    ("192.88.99.0/24", _RESERVED),
    ("192.168.0.0/16", _PRIVATE),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", _DOCUMENTATION),
    ("203.0.113.0/24", _DOCUMENTATION),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "a broadcast address"),
    ("240.0.0.0/4", _RESERVED),
)
_IPV6_RANGES = _networks(
    ("::/128", "an unspecified address"),
    ("::1/128", _LOOPBACK),
    ("64:ff9b:1::/48", _PRIVATE),
    ("100::/64", _RESERVED),
    ("2001:2::/48", "a benchmarking address"),
    ("2001:10::/28", _RESERVED),
    ("2001:db8::/32", _DOCUMENTATION),
    ("3fff::/20", _DOCUMENTATION),
    ("5f00::/16", _RESERVED),
    ("fc00::/7", "a unique local (private) address"),
    ("fe80::/10", _LINK_LOCAL),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
)
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """IPv4 addresses an IPv6 address carries: traffic to it ends up there."""
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64 or ip in _IPV4_TRANSLATED:
        return (low,)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return (low,)
    return ()


def _not_public_because(ip: IPAddress) -> str | None:
    """Why an address is not public (e.g. 'a loopback address'), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(int(ip))  # drop the zone: it does not change the verdict
        embedded = _embedded_ipv4(ip)
        if embedded:
            for inner in embedded:
                kind = _not_public_because(inner)
                if kind is not None:
                    return f"an IPv6 address carrying {inner}, {kind}"
            return None
        ranges = _IPV6_RANGES
    else:
        ranges = _IPV4_RANGES
    for network, kind in ranges:
        if ip in network:
            return kind
    return None if ip.is_global else _RESERVED


def is_public(ip: IPAddress) -> bool:
    """Whether an address is on the public internet, judging embedded IPv4 by itself."""
    return _not_public_because(ip) is None


def resolve_checked(host: str, port: int, *, resolver: Resolver, allow_private: bool) -> list[str]:
    """The addresses to connect to for host:port, refused if any is not public."""
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidInput(f"port {port!r} is out of range: ports run from 1 to 65535")
    literal = parse_ip_literal(host)
    addresses = [literal] if literal is not None else _resolve(host, port, resolver)
    if not allow_private:
        for address in addresses:
            kind = _not_public_because(address)
            if kind is not None:
                verb = "is" if literal is not None else "resolves to"
                raise BlockedAddress(
                    f"endpoint host {host!r} {verb} {address}, {kind}; {_HOW_TO_ALLOW}",
                    host=host,
                    address=str(address),
                )
    return [str(address) for address in addresses]


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    if not host:
        raise ResolutionFailed("cannot resolve an empty host: check the host name in the URL")
    try:
        answers = resolver(host, port)
    except (OSError, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise ResolutionFailed(
            f"cannot resolve host {host!r}: {reason}; check the host name in the URL"
        ) from error
    if not answers:
        raise ResolutionFailed(
            f"cannot resolve host {host!r}: no addresses; check the host name in the URL"
        )
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer)
        except ValueError:
            raise ResolutionFailed(
                f"cannot resolve host {host!r}: the resolver answered {answer!r}, "
                "which is not an IP address; check the resolver"
            ) from None
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_endpoint(url: str, *, resolver: Resolver, allow_private: bool) -> list[str]:
    """Validate a subscription URL and return the checked addresses its host resolves to."""
    endpoint = parse_endpoint(url)
    return resolve_checked(
        endpoint.host, endpoint.port, resolver=resolver, allow_private=allow_private
    )


def check_address(
    url: str, field: str, *, require_https: bool, resolver: Resolver, allow_private: bool
) -> list[str]:
    """Refuse a URL (of a subscription's `field`) the installation does not allow; the warnings
    for one it allows."""
    plain = is_plain_http(url)
    if plain and require_https:
        raise InvalidInput(
            f"«{field}» {url!r} is plain http, and the require_https setting asks for https:"
            " give an https:// URL"
        )
    try:
        addresses = check_endpoint(url, resolver=resolver, allow_private=allow_private)
    except BlockedAddress as e:
        raise InvalidInput(marked(e)) from None
    except ResolutionFailed as e:
        return [f"{e}; saved anyway: delivery resolves it again at every attempt"]
    if plain and any(is_public(ipaddress.ip_address(a)) for a in addresses):
        return [
            f"{url!r} is plain http to a public address: events, headers and signatures cross"
            " the network unencrypted; saved anyway (use https:// where the endpoint offers it;"
            " the require_https setting refuses http)"
        ]
    return []
