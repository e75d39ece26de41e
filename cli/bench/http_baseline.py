"""The baseline server of the HTTP benchmark: the same framework and server as `serve`, one
route that reads the body and answers 204, nothing else.

`python -m signin_webhooks.cli.bench.http_baseline` prints its port, then serves until killed.
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from litestar import Litestar, Request, post


@post("/api/v1/events", status_code=204)
async def accept(request: Request) -> None:  # type: ignore[type-arg]  # any app, user, state
    await request.body()


app = Litestar([accept], logging_config=None)


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
