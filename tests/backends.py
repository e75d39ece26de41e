"""The backends every store test runs on: a SQLite file, and a PostgreSQL schema of its own.

PostgreSQL tests run when SIGNIN_WEBHOOKS_TEST_POSTGRES names a server (a database URL); each
test gets a schema with a random name on it, named in the URL's search_path so that every
connection the test opens lands there, and dropped afterwards. Test runs sharing the server never
see each other's tables.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import urllib.parse
from collections.abc import Iterator

import pytest

ENV = "SIGNIN_WEBHOOKS_TEST_POSTGRES"
SKIP_REASON = f"set {ENV} to a PostgreSQL URL to run this test on PostgreSQL"


def server() -> str | None:
    return os.environ.get(ENV) or None


BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.skipif(server() is None, reason=SKIP_REASON)),
]


def with_search_path(url: str, schema: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query)
    query = [(k, v) for k, v in query if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


@contextlib.contextmanager
def fresh_schema(url: str | None = None) -> Iterator[str]:
    """A URL whose connections use a new, empty schema; the schema is dropped afterwards."""
    import psycopg

    url = url or server()
    assert url, SKIP_REASON
    schema = f"test_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(url, schema)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SET lock_timeout = '30s'")  # a leaked transaction: fail, not hang
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
