"""The running pipeline, end to end: publish through the public API, receive on real endpoints.

Every test runs a whole WebhookSystem (router, batchers, delivery pool) on a ManualClock, with
real HTTP servers on 127.0.0.1. Flush and retry intervals pass by advancing the clock, never by
sleeping.
"""

from __future__ import annotations

import importlib.metadata

from signin_webhooks.actors.signing import verify
from tests.endpoint import Received
from tests.helpers import header

USER_AGENT = f"signin-webhooks/{importlib.metadata.version('signin-webhooks')}"


def verifies(secret: str, request: Received) -> bool:
    return verify(
        secret,
        header(request, "webhook-id"),
        int(header(request, "webhook-timestamp")),
        request.body,
        header(request, "webhook-signature"),
    )
