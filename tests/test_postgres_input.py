"""Bad database URLs and servers that refuse: one line each, exit 1 or 2, nothing half-written."""

from __future__ import annotations

import secrets
import urllib.parse

import psycopg
import pytest

from tests.backends import BACKENDS, server
from tests.helpers import invoke, one_error_line

pytestmark = pytest.mark.parametrize("backend", BACKENDS[1:], indirect=True)


def with_user(url: str, user: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{host}"))


def test_an_unknown_scheme_is_refused_naming_the_two_kinds_of_database(backend):
    result = invoke("--db", "mysql://root@127.0.0.1/hooks", "subscriptions", "list")

    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert "unknown database URL scheme 'mysql://'" in line and "postgresql://" in line


@pytest.mark.parametrize("command", [("subscriptions", "list"), ("run",), ("status",)])
def test_an_unreachable_server_is_one_line(backend, command):
    result = invoke("--db", "postgresql://postgres@127.0.0.1:1/test", *command)

    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert line.startswith("cannot reach PostgreSQL at 'postgresql://postgres@127.0.0.1:1/test'")


def test_a_login_the_server_refuses_is_one_line_and_hides_the_password(backend):
    url = with_user(server() or "", f"nobody_{secrets.token_hex(4)}:hunter2")

    result = invoke("--db", url, "subscriptions", "list")

    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "refused the login" in line and "check the user and password" in line
    assert "hunter2" not in line


def test_a_database_that_does_not_exist_is_one_line(backend):
    parts = urllib.parse.urlsplit(server() or "")
    url = urllib.parse.urlunsplit(parts._replace(path=f"/missing_{secrets.token_hex(4)}"))

    result = invoke("--db", url, "subscriptions", "list")

    assert result.exit_code == 1
    assert "does not exist" in one_error_line(result.stderr)


def test_a_schema_without_the_tables_and_without_the_right_to_create_them(database):
    schema = urllib.parse.parse_qs(urllib.parse.urlsplit(database).query)["options"][0]
    schema = schema.removeprefix("-csearch_path=")
    role = f"reader_{secrets.token_hex(4)}"
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        try:
            result = invoke("--db", with_user(database, role), "subscriptions", "list")
            tables = admin.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema]
            ).fetchone()
        finally:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")

    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    assert "permission denied" in line and "run once as a user who may create" in line
    assert tables == (0,)
