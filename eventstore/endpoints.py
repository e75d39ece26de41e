"""Where and how a subscription is delivered: its URL, content type and custom headers.

Checked when a subscription is saved, so a bad value is refused with a way out instead of
failing every attempt later.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from urllib3.util import Url, parse_url

from signin_webhooks.eventstore.errors import InvalidInput

_REG_NAME = re.compile(r"[a-z0-9._-]+")
_TOKEN_HINT = "use letters, digits and !#$%&'*+-.^_`|~ with no spaces"
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"'
_PARAMETER = rf"[ \t]*;[ \t]*({_TCHARS})=({_TCHARS}|{_QUOTED})"
_MEDIA_TYPE = re.compile(
    rf"[ \t]*(?P<type>{_TCHARS})/(?P<subtype>{_TCHARS})(?P<params>(?:{_PARAMETER})*)[ \t]*"
)
_PARAM = re.compile(_PARAMETER)
_ACCEPTED_TYPES = "application/json, any */json or *+json type, or application/x-ndjson"
NDJSON = "application/x-ndjson"
RESERVED_HEADERS = (
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
    "user-agent",
)


DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Endpoint:
    """An endpoint URL as a request to it is made."""

    scheme: str  # http or https
    host: str  # lower case, IPv6 without brackets (a zone after %)
    port: int  # the scheme's default port when the URL gives none
    path: str  # the request target: path and query, `/` when the URL has neither
    host_header: str  # the Host header: the host, and the port unless it is the default


def validate_url(url: str) -> str:
    """An http(s) URL that every HTTP client reads the same way, returned unchanged."""
    parse_endpoint(url)
    return url


def parse_endpoint(url: str) -> Endpoint:
    """An http(s) URL that every HTTP client reads the same way, in the parts a request uses."""
    if not isinstance(url, str) or not url:
        raise InvalidInput(
            "url is empty: write an http or https URL, e.g. https://example.com/hook"
        )
    for char in url:
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
            raise InvalidInput(
                f"url {url!r} holds whitespace or a control character ({char!r}): "
                "percent-encode it, e.g. %20 for a space"
            )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidInput(
            f"url {url!r} cannot be parsed ({error}): check its host and port"
        ) from None
    if parts.scheme not in DEFAULT_PORTS:
        raise InvalidInput(f"url {url!r} is not http or https: write e.g. https://example.com/hook")
    if "@" in parts.netloc:
        shown = f"{parts.scheme}://***@{parts.netloc.rpartition('@')[2]}"
        raise InvalidInput(
            f"url {shown!r} holds credentials: put them in a custom header instead, "
            "e.g. 'Authorization: Bearer ...'"
        )
    host = parts.hostname or ""
    if not host:
        raise InvalidInput(f"url {url!r} has no host: write e.g. https://example.com/hook")
    _check_host(url, parts, host)
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput(f"url {url!r} has port {port}: ports run from 1 to 65535")
    sent = _as_sent(url, host, port)
    port = port or DEFAULT_PORTS[parts.scheme]
    assert sent.host is not None
    header = sent.host if port == DEFAULT_PORTS[parts.scheme] else f"{sent.host}:{port}"
    return Endpoint(parts.scheme, sent.host.lower().strip("[]"), port, sent.request_uri, header)


# A subscription's URL is parsed once on the delivery path, not on every attempt (an Endpoint
# is frozen).
cached_endpoint = functools.lru_cache(maxsize=1024)(parse_endpoint)


def _check_host(url: str, parts: SplitResult, host: str) -> None:
    if "\\" in parts.netloc:
        raise InvalidInput(f"url {url!r} has a backslash in its host: write the host plainly")
    if parts.netloc.startswith("["):
        literal = host.replace("%25", "%", 1)
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            raise InvalidInput(
                f"url {url!r} has an invalid IPv6 address in brackets: write e.g. http://[2001:db8::1]/"
            ) from None
        return
    if not host.isascii():
        try:
            hint = f"write it as {host.encode('idna').decode('ascii')!r}"
        except UnicodeError:
            hint = "write it in its ASCII (xn--) form"
        raise InvalidInput(f"url {url!r} has a non-ASCII host: {hint}")
    if not _REG_NAME.fullmatch(host) or ".." in host or host.startswith("."):
        raise InvalidInput(
            f"url {url!r} has an invalid host {host!r}: use letters, digits, '-' and '.' only"
        )


def _as_sent(url: str, host: str, port: int | None) -> Url:
    """The URL as urllib3 (which sends the request) reads it; refused where that differs."""
    try:
        parsed = parse_url(url)
    except ValueError:
        parsed = None
    if (
        parsed is None
        or (parsed.host or "").strip("[]").lower() != host.replace("%25", "%", 1)
        or parsed.port != port
    ):
        raise InvalidInput(f"url {url!r} is ambiguous to HTTP clients: write its host plainly")
    return parsed


def validate_content_type(value: str) -> str:
    """A JSON or NDJSON media type, since those are the only bodies the engine builds."""
    if not isinstance(value, str):
        raise InvalidInput(f"content type {value!r} is not text: use {_ACCEPTED_TYPES}")
    match = _MEDIA_TYPE.fullmatch(value)
    if match is None:
        raise InvalidInput(
            f"content type {value!r} is not a media type: use {_ACCEPTED_TYPES}, "
            "e.g. application/json"
        )
    kind, subtype = match["type"].lower(), match["subtype"].lower()
    json_like = subtype == "json" or subtype.endswith("+json")
    if "*" in kind or "*" in subtype or not (json_like or f"{kind}/{subtype}" == NDJSON):
        raise InvalidInput(f"content type {value!r} is not accepted: use {_ACCEPTED_TYPES}")
    for name, raw in _PARAM.findall(match["params"]):
        charset = raw.strip('"').lower()
        if name.lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise InvalidInput(
                f"content type {value!r} names charset {charset!r}: bodies are UTF-8, "
                "so write charset=utf-8 or leave it out"
            )
    return value.strip(" \t")


def is_ndjson(content_type: str) -> bool:
    """Whether bodies are one event per line rather than a JSON array."""
    return content_type.split(";", 1)[0].strip().lower() == NDJSON


def validate_headers(pairs: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    """Custom headers from 'Name: value' strings or a mapping, safe to send as given."""
    if isinstance(pairs, str):
        raise InvalidInput("headers is one string: give a list of 'Name: value' strings")
    if isinstance(pairs, Mapping):
        items = list(pairs.items())
    else:
        items = [_split_header(pair) for pair in pairs]
    headers: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in items:
        name, value = _check_header(name, value)
        if name.lower() in seen:
            raise InvalidInput(f"header {name!r} is given twice: give each header once")
        seen.add(name.lower())
        headers[name] = value
    return headers


def _split_header(pair: str) -> tuple[str, str]:
    if not isinstance(pair, str):
        raise InvalidInput("a header is not text: write it as 'Name: value'")
    name, colon, value = pair.strip(" \t").partition(":")
    if not colon:  # its value is not shown: it may be a credential
        raise InvalidInput(
            "a header has no ':': write it as 'Name: value', e.g. 'Authorization: Bearer ...'"
        )
    return name, value


def _check_header(name: str, value: str) -> tuple[str, str]:
    if not isinstance(name, str) or not isinstance(value, str):
        raise InvalidInput(f"header {name!r} must have a text name and value: write 'Name: value'")
    if not re.fullmatch(_TCHARS, name):
        raise InvalidInput(f"header name {name!r} is not a valid token: {_TOKEN_HINT}")
    lowered = name.lower()
    if lowered == "content-type":
        raise InvalidInput(f"header {name!r} is set by signin-webhooks: use «content_type» instead")
    if lowered in RESERVED_HEADERS:
        raise InvalidInput(f"header {name!r} is set by signin-webhooks: remove it")
    if lowered.startswith("webhook-"):
        raise InvalidInput(
            f"header {name!r} is reserved for webhook signing: "
            "choose a name that does not start with 'webhook-'"
        )
    for char in value:
        if char in "\r\n":
            raise InvalidInput(f"header {name!r} value holds a line break: write it on one line")
        if char == "\x00":
            raise InvalidInput(f"header {name!r} value holds a NUL character: remove it")
        if (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F:
            raise InvalidInput(f"header {name!r} value holds control character {char!r}: remove it")
        if ord(char) > 0xFF:
            raise InvalidInput(
                f"header {name!r} value holds {char!r}, which HTTP headers cannot carry: "
                "encode it as ASCII (e.g. percent- or base64-encoding)"
            )
    return name, value.strip(" \t")


def is_plain_http(url: str) -> bool:
    """Whether deliveries to this URL go unencrypted."""
    return url[:7].lower() == "http://"
