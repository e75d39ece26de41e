"""schemathesis against /openapi.json of a real server: for a bounded number of generated
requests per operation, no answer is a 5xx, and every answer matches the schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from signin_webhooks.actors import WebhookSystem
from tests.api_server import ApiServer
from tests.helpers import event

EXAMPLES = 8  # per operation: enough to meet each error path, bounded for a 2-core machine
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def served(system: WebhookSystem, endpoints) -> ApiServer:
    """A server whose database holds a subscription, a delivery and events to find."""
    sub = system.subscriptions.create(
        name="s", url=endpoints().url_for("/hook"), context="ctx_lobby"
    ).subscription
    system.subscriptions.test(sub.id)
    system.publish([event(f"e{n}") for n in range(3)])
    return ApiServer(system).start()


def test_every_answer_matches_the_schema_and_none_is_a_server_error(
    served: ApiServer, admin_token: str
) -> None:
    schema = schemathesis.openapi.from_url(served.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {admin_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]  # an invalid schema fails the test here
    assert len(operations) >= 16
    try:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def answers_conform(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(base_url=served.url, headers=headers, checks=CHECKS)

            answers_conform()
    finally:
        served.stop()
