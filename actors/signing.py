"""Standard Webhooks signatures, so consumers can verify deliveries with an off-the-shelf library.

A signature is `v1,` + base64 HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed by
the base64-decoded part of the secret after `whsec_`. During a secret rotation both the old and the
new secret sign, space-separated, so a consumer holding either one accepts the delivery.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from secrets import token_bytes

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, more than the 24 the contract asks for."""
    return PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    # The reference implementations accept the key with or without its prefix: so do we.
    encoded = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as e:
        raise ValueError("a signing secret must be whsec_ followed by base64") from e


def _signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign(secrets: Sequence[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: one signature per secret still valid."""
    return " ".join(_signature(_key(s), webhook_id, timestamp, body) for s in secrets)


def verify(
    secret: str, webhook_id: str, timestamp: int, body: bytes, signature_header: str
) -> bool:
    """Whether any `v1` signature in the header was made with `secret`, compared in constant time.

    This is what a consumer does; tests and the documented consumer example use it. Checking the
    timestamp's age against replay is left to the caller, which knows its own tolerance.
    """
    expected = _signature(_key(secret), webhook_id, timestamp, body).encode("ascii")
    found = False
    for candidate in signature_header.split():
        # No early exit: every candidate is compared, whatever matched before it.
        found |= hmac.compare_digest(candidate.encode("ascii", "replace"), expected)
    return found
