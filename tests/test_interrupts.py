"""SIGTERM always ends a wait for it: the handler takes no lock that the waiting thread may
hold (a handler setting a threading.Event deadlocked about once in a thousand signals)."""

from __future__ import annotations

import select
import signal
import subprocess
import sys

LISTENER = """
from signin_webhooks.cli.interrupts import Interrupts
interrupts = Interrupts()
print("listening", flush=True)
while True:
    interrupts.wait(poll=0.00001)  # through the event's lock as often as it can
    interrupts.received.clear()
    print("heard", flush=True)
"""


def test_every_signal_is_heard_while_the_wait_looks_again_and_again():
    process = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        assert process.stdout.readline() == "listening\n"
        for sent in range(3000):
            process.send_signal(signal.SIGTERM)
            heard, _, _ = select.select([process.stdout], [], [], 10)
            assert heard, f"signal {sent + 1} was never heard"
            assert process.stdout.readline() == "heard\n"
    finally:
        process.kill()
        process.wait()
