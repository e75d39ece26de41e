"""The create form (`.../webhooks/new`) and the edit form on a subscription's page: every field,
each refusal beside its input in the words the Python API and the HTTP API use, the values
entered kept, header values and the secret redacted, the secret shown once, CSRF required, and
another tenant's pages not there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.api.problems import in_fields
from signin_webhooks.eventstore import InvalidInput
from tests.admin_browser import checked, csrf_of, error_beside, signed_in, value_of
from tests.api_server import ApiServer

NEW = "/contexts/ctx_lobby/webhooks/new"


@pytest.fixture
def pages(system: WebhookSystem) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True).start()
    yield server
    server.stop()


def _filled(**changes: Any) -> dict[str, Any]:
    form = {
        "name": "Lobby CRM",
        "description": "Guest sign-ins for the CRM",
        "url": "https://crm.example.com/hooks/signin",
        "content_type": "application/x-ndjson",
        "headers": "Authorization: Bearer s3cr3t-value\nX-Route: lobby",
        "events": ["signin.session.*", "signin.dhcp.granted"],
        "patterns": "signin.arenasession.*",
        "max_events": "5",
        "max_bytes": "65536",
        "flush_interval": "90s",
        "retry_schedule": "1m,2m",
        "timeout": "10s",
        "auto_disable_after": "2h",
        "operations_url": "https://ops.example.com/in",
    }
    return {**form, **changes}


def test_the_new_form_offers_the_catalogue_grouped_as_the_product_page_groups_it(
    pages: ApiServer,
) -> None:
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(NEW)
    assert page.status_code == 200
    text = page.text
    headings = ["Session lifecycle", "Arena session", "DHCP", "Configuration audit"]
    positions = [text.index(f"<legend>{h}</legend>") for h in headings]
    assert positions == sorted(positions)
    for pattern in ("signin.session.*", "signin.arenasession.*", "signin.dhcp.*"):
        assert f'value="{pattern}"' in text
    assert 'value="signin.configuration.audit"' in text and 'id="patterns"' in text
    assert checked(text) == ["*"]  # all events, the default
    for key in ("name", "url", "headers", "max_events", "flush_interval", "operations_url"):
        assert f'<label for="{key}">' in text and f'id="{key}"' in text
    assert value_of(text, "max_events") == "20000" and value_of(text, "retry_schedule")


def test_the_new_form_creates_a_subscription_with_every_field_and_shows_its_secret_once(
    pages: ApiServer,
) -> None:
    with signed_in(pages, context="ctx_lobby") as browser:
        form = browser.get(NEW)
        created = browser.post(NEW, data={**_filled(), "csrf": csrf_of(form.text)})
        shown = browser.get(created.headers["location"])
        again = browser.get(created.headers["location"])
    assert created.status_code == 303, created.text
    (sub,) = pages.system.subscriptions.list()
    assert created.headers["location"] == f"/contexts/ctx_lobby/webhooks/{sub.id}"
    f = pages.system.subscriptions.reveal(sub).fields
    assert (f.name, f.description, f.scope, f.scope_id) == (
        "Lobby CRM", "Guest sign-ins for the CRM", "context", "ctx_lobby",
    )  # fmt: skip
    assert (f.url, f.content_type) == (
        "https://crm.example.com/hooks/signin",
        "application/x-ndjson",
    )
    assert f.headers == {"Authorization": "Bearer s3cr3t-value", "X-Route": "lobby"}
    assert f.events == ("signin.session.*", "signin.dhcp.granted", "signin.arenasession.*")
    assert (f.max_events, f.max_bytes, f.flush_interval, f.timeout) == (5, 65536, 90.0, 10.0)
    assert f.retry_schedule == (60.0, 120.0) and f.auto_disable_after == 7200.0
    assert f.operations_url == "https://ops.example.com/in" and not sub.enabled  # left unticked
    secret = pages.system.subscriptions.reveal(sub).secrets[0].value
    assert secret.startswith("whsec_")
    assert secret in shown.text and "shown this once" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert secret not in again.text
    assert "s3cr3t-value" not in shown.text and "Authorization: [redacted]" in shown.text


def _refusal(system: WebhookSystem, **fields: Any) -> str:
    """The message the Python API gives for these fields, with the HTTP API's field names."""
    values = {"name": "n", "url": "https://crm.example.com/h", "context": "ctx_lobby", **fields}
    with pytest.raises(InvalidInput) as refused:
        system.subscriptions.create(**values)
    return in_fields(refused.value)


REFUSED = [
    ("name", {"name": ""}, {"name": None}),
    ("url", {"url": "ftp://crm.example.com/h"}, {"url": "ftp://crm.example.com/h"}),
    (
        "url",
        {"url": "https://user:pw@crm.example.com/h"},
        {"url": "https://user:pw@crm.example.com/h"},
    ),
    ("content_type", {"content_type": "text/plain"}, {"content_type": "text/plain"}),
    ("headers", {"headers": "Host: crm.example.com"}, {"headers": ["Host: crm.example.com"]}),
    ("headers", {"headers": "X-Key s3cr3t"}, {"headers": ["X-Key s3cr3t"]}),
    ("headers", {"headers": "Webhook-Id: 1"}, {"headers": ["Webhook-Id: 1"]}),
    ("events", {"events": [], "patterns": ""}, {"events": []}),
    ("events", {"events": [], "patterns": "signin.nope.*"}, {"events": ["signin.nope.*"]}),
    ("max_events", {"max_events": "0"}, {"max_events": "0"}),
    ("max_bytes", {"max_bytes": "1024"}, {"max_bytes": "1024"}),
    ("flush_interval", {"flush_interval": "2d"}, {"flush_interval": "2d"}),
    ("retry_schedule", {"retry_schedule": "soon"}, {"retry_schedule": "soon"}),
    ("timeout", {"timeout": "0"}, {"timeout": "0"}),
    ("auto_disable_after", {"auto_disable_after": "often"}, {"auto_disable_after": "often"}),
    ("operations_url", {"operations_url": "nope"}, {"operations_url": "nope"}),
]


@pytest.mark.parametrize(("key", "posted", "python"), REFUSED)
def test_each_refused_input_is_shown_beside_it_with_the_values_kept(
    pages: ApiServer, key: str, posted: dict[str, Any], python: dict[str, Any]
) -> None:
    expected = _refusal(pages.system, **python)
    with signed_in(pages, context="ctx_lobby") as browser:
        form = browser.get(NEW)
        refused = browser.post(NEW, data={**_filled(**posted), "csrf": csrf_of(form.text)})
    assert refused.status_code == 400
    assert error_beside(refused.text, key) == expected
    assert f'aria-describedby="{key}-error' in refused.text  # a screen reader reads it there
    assert pages.system.subscriptions.list() == []
    kept = _filled(**posted)
    for other in ("description", "url", "flush_interval", "patterns"):
        assert value_of(refused.text, other) == kept[other]
    assert checked(refused.text) == kept["events"]
    if key == "headers":
        assert value_of(refused.text, "headers") == kept["headers"]


def test_the_edit_form_changes_the_fields_given_and_keeps_redacted_header_values(
    pages: ApiServer,
) -> None:
    subs = pages.system.subscriptions
    sub = subs.create(name="Lobby CRM", url="https://crm.example.com/h", context="ctx_lobby",
                      headers={"Authorization": "Bearer s3cr3t-value"},
                      flush_interval="90m").subscription  # fmt: skip
    here = f"/contexts/ctx_lobby/webhooks/{sub.id}"
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
        form = {key: value_of(page.text, key) for key in _filled() if key not in ("events",)}
        assert form["headers"] == "Authorization: [redacted]"
        assert "s3cr3t-value" not in page.text
        edited = {**form, "name": "Lobby CRM (new)", "events": ["signin.dhcp.*"],
                  "headers": "Authorization: [redacted]\nX-Route: lobby"}  # fmt: skip
        saved = browser.post(here, data={**edited, "csrf": csrf_of(page.text)})
        after = browser.get(here)
    assert saved.status_code == 303 and saved.headers["location"] == here
    changed = subs.reveal(subs.get(sub.id))
    assert changed.fields.name == "Lobby CRM (new)" and changed.fields.events == ("signin.dhcp.*",)
    assert changed.fields.headers == {"Authorization": "Bearer s3cr3t-value", "X-Route": "lobby"}
    assert changed.fields.shown("flush_interval") == "90m"  # as written, untouched
    assert "Settings saved." in after.text and checked(after.text) == ["signin.dhcp.*"]


def test_the_edit_form_shows_a_refusal_beside_its_input_and_changes_nothing(
    pages: ApiServer,
) -> None:
    subs = pages.system.subscriptions
    sub = subs.create(name="Lobby CRM", url="https://crm.example.com/h", context="ctx_lobby")
    here = f"/contexts/ctx_lobby/webhooks/{sub.subscription.id}"
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
        form = {key: value_of(page.text, key) for key in _filled() if key != "events"}
        posted = {**form, "name": "Renamed", "max_events": "many", "events": ["*"]}
        refused = browser.post(here, data={**posted, "csrf": csrf_of(page.text)})
    assert refused.status_code == 400
    assert error_beside(refused.text, "max_events") == _refusal(pages.system, max_events="many")
    assert value_of(refused.text, "name") == "Renamed"
    assert value_of(refused.text, "max_events") == "many"
    assert subs.get(sub.subscription.id).fields.name == "Lobby CRM"


def test_the_forms_refuse_a_post_without_its_csrf_token(pages: ApiServer) -> None:
    subs = pages.system.subscriptions
    sub = subs.create(name="Lobby CRM", url="https://crm.example.com/h", context="ctx_lobby")
    here = f"/contexts/ctx_lobby/webhooks/{sub.subscription.id}"
    with signed_in(pages, context="ctx_lobby") as browser:
        created = browser.post(NEW, data=_filled())
        forged = browser.post(NEW, data={**_filled(), "csrf": "guessed"})
        edited = browser.post(here, data=_filled(name="Renamed"))
    assert [a.status_code for a in (created, forged, edited)] == [403, 403, 403]
    assert all("CSRF" in a.text for a in (created, forged, edited))
    assert [s.fields.name for s in subs.list()] == ["Lobby CRM"]


def test_another_contexts_token_finds_no_form_of_this_context(pages: ApiServer) -> None:
    subs = pages.system.subscriptions
    sub = subs.create(name="Lobby CRM", url="https://crm.example.com/h", context="ctx_lobby")
    sub_id = sub.subscription.id
    with signed_in(pages, context="ctx_arena") as browser:
        own = browser.get("/contexts/ctx_arena/webhooks/new")
        csrf = csrf_of(own.text)
        answers = [
            browser.get(NEW),
            browser.post(NEW, data={**_filled(), "csrf": csrf}),
            browser.post(f"/contexts/ctx_lobby/webhooks/{sub_id}",
                         data={**_filled(name="Theirs"), "csrf": csrf}),
            browser.post(f"/contexts/ctx_arena/webhooks/{sub_id}",
                         data={**_filled(name="Theirs"), "csrf": csrf}),
        ]  # fmt: skip
    assert own.status_code == 200
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert all("Lobby CRM" not in a.text for a in answers)
    assert [s.fields.name for s in subs.list()] == ["Lobby CRM"]


def test_a_read_only_token_is_not_offered_the_form_and_cannot_create(pages: ApiServer) -> None:
    with signed_in(pages, context="ctx_lobby", read_only=True) as browser:
        listed = browser.get("/contexts/ctx_lobby/webhooks")
        form = browser.get(NEW)
        refused = browser.post(NEW, data={**_filled(), "csrf": csrf_of(listed.text)})
    assert "/new" not in listed.text
    assert form.status_code == 403 and "is read-only; use a token that may write" in form.text
    assert refused.status_code == 403 and "read-only" in refused.text
    assert value_of(refused.text, "name") == "Lobby CRM"
    assert pages.system.subscriptions.list() == []


def test_an_organizations_new_form_creates_an_organization_subscription(
    pages: ApiServer,
) -> None:
    with signed_in(pages, organization="org_acme") as browser:
        form = browser.get("/organizations/org_acme/webhooks/new")
        created = browser.post("/organizations/org_acme/webhooks/new",
                               data={**_filled(), "csrf": csrf_of(form.text)})  # fmt: skip
        other = browser.get("/organizations/org_other/webhooks/new")
    (sub,) = pages.system.subscriptions.list()
    assert created.headers["location"] == f"/organizations/org_acme/webhooks/{sub.id}"
    assert (sub.fields.scope, sub.fields.scope_id) == ("organization", "org_acme")
    assert other.status_code == 404
