"""Receive signin-webhooks deliveries: verify, deduplicate, answer fast. Standard library only.

Run it with the subscription's secret, then point the subscription's URL at it:

    WEBHOOK_SECRET='whsec_...' PORT=8000 python verify_signature.py
"""

import base64
import hashlib
import hmac
import json
import os
import queue
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE = 5 * 60  # seconds: a request signed longer ago (or ahead) than this is refused


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether `body` was signed with `secret` within `tolerance` seconds of `now`."""
    found = {name.lower(): value for name, value in headers.items()}
    webhook_id = found.get("webhook-id", "")
    timestamp = found.get("webhook-timestamp", "")
    signatures = found.get("webhook-signature", "")
    if not (webhook_id and timestamp.isdigit() and signatures):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False  # stale (or from the future): a replayed request
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # During a secret rotation the header holds two signatures: either one will do.
    for signature in signatures.split():
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            return True
    return False


def events_of(body: bytes, content_type: str) -> list[dict]:
    """The event objects of a delivery: a JSON array, or one object per line for NDJSON."""
    if content_type.split(";")[0].strip().lower() == "application/x-ndjson":
        return [json.loads(line) for line in body.splitlines() if line.strip()]
    return json.loads(body)


def make_handler(secret: str, work: queue.Queue[dict]) -> type[BaseHTTPRequestHandler]:
    """A request handler that puts each new event on `work` and answers 204 at once."""
    # Keep these in your database in production, for longer than a retry schedule lasts.
    seen_deliveries: set[str] = set()
    seen_events: set[str] = set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not verify(secret, self.headers, body):
                self.send_response(401)
                self.end_headers()
                return
            with lock:
                if self.headers["webhook-id"] not in seen_deliveries:
                    for event in events_of(body, self.headers.get("Content-Type", "")):
                        if event["id"] not in seen_events:
                            seen_events.add(event["id"])
                            work.put(event)  # slow work happens elsewhere, after answering
                    seen_deliveries.add(self.headers["webhook-id"])
            self.send_response(204)
            self.end_headers()

    return Handler


if __name__ == "__main__":
    work: queue.Queue[dict] = queue.Queue()
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("", port), make_handler(os.environ["WEBHOOK_SECRET"], work))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on port {port}")
    while True:
        event = work.get()
        print(event["sequence"], event["type"], event["id"])
