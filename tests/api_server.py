"""The HTTP API under test, served for real: uvicorn on a socket of 127.0.0.1, in a thread of
this process (over a system the test holds, on its clock) or as `signin-webhooks serve` in a
process of its own."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.admin import admin_options
from signin_webhooks.cli.api import PREFIX, create_app

HOST = "127.0.0.1"


class ApiServer:
    """uvicorn serving `create_app(system)` from a thread, until `stop`."""

    def __init__(self, system: WebhookSystem, *, admin: bool = False) -> None:
        self.system = system
        self.app = create_app(system, **(admin_options() if admin else {}))
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind((HOST, 0))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> ApiServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        return client(self.url, token, **kwargs)


def client(url: str, token: str | None = None, **kwargs: Any) -> httpx.Client:
    """A client of the API at `url`, sending `token` as its bearer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url + PREFIX, headers=headers, timeout=30, **kwargs)


# The line that names the URL: as text, or as the JSON of --log-format json
_SERVING = re.compile(rb'at (http://\S+?)/api/v1;|"url":"(http://[^"]+?)/api/v1"')


class ServeProcess:
    """`signin-webhooks serve --port 0` in a process of its own; its URL read from its stderr."""

    def __init__(self, command: str, db: Path, *args: str, env: dict[str, str] | None = None):
        self.process = subprocess.Popen(
            [command, "--db", str(db), "--allow-private-networks", "serve", "--port", "0", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.stderr = b""
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        assert self.process.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                chunk = os.read(self.process.stderr.fileno(), 65536)
                if not chunk:
                    break
                self.stderr += chunk
                found = _SERVING.search(self.stderr)
                if found:
                    return (found.group(1) or found.group(2)).decode()
        self.process.kill()
        raise AssertionError(f"serve did not start: {self.stderr.decode(errors='replace')}")

    def client(self, token: str | None = None) -> httpx.Client:
        return client(self.url, token)

    def kill(self) -> None:
        """kill -9: no chance to finish anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then the exit code and all it wrote to stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        _, rest = self.process.communicate(timeout=30)
        return self.process.returncode, (self.stderr + rest).decode(errors="replace")
