"""Each actor's thread carries its kind's name where the operating system shows threads
(`top -H`, `ps -L`, /proc), so that an operator can tell which part spends the CPU."""

from __future__ import annotations

import sys

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.bench.threads import cpu_by_thread


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names are read on Linux")
def test_the_actors_threads_are_named_after_their_kind(db):
    with WebhookSystem(db, allow_private_networks=True) as system:
        system.subscriptions.create(name="crm", url="http://127.0.0.1:9/hooks", context="ctx_1")
        system.settled()
        names = {name for name, _ in cpu_by_thread().values()}
    assert {"Router", "Batcher", "RetentionKeeper", "Notifier"} <= names, names
