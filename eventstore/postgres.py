"""The log on a PostgreSQL server, through psycopg 3: the same tables and statements as on SQLite,
with the few differences of dialect kept here.

Positions in commit order. A sequence handed out at insert becomes visible only at commit, so with
a plain BIGSERIAL two appends can commit out of order: a reader tailing the log would pass N+1
before N commits and miss N for good. Appends here are serialised instead, the remedy of the
eventsourcing library's PostgreSQL recorder: each append takes the one row of `log_head` FOR
UPDATE (by updating it) inside its own transaction, numbers its events from it and holds that row
lock until it commits. The next append waits for the lock, so it numbers after and commits after:
every snapshot sees a prefix of the log, and a reader that has read up to N never sees a gap fill
in below it. Readers never wait and filter nothing. The other remedy, reading only below the
transaction horizon (`pg_snapshot_xmin`), lets appends run side by side but holds every reader
back behind the oldest open transaction, an unrelated one included; appends here are already one
transaction per published batch, so one at a time costs little. The row lock, rather than LOCK
TABLE, leaves retention free to delete old rows while an append runs.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import urllib.parse
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from signin_webhooks.eventstore.errors import InvalidInput, SessionLost, StoreError, marked
from signin_webhooks.eventstore.event_types import postgres_like
from signin_webhooks.eventstore.postgres_appends import PostgresAppending, appending

SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT = 10

EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    sequence BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    organization_id TEXT,
    context_id TEXT,
    occurred_at TEXT,
    recorded_at TEXT NOT NULL,
    assigned BIGINT NOT NULL DEFAULT 0,
    internal BIGINT NOT NULL DEFAULT 0,
    body BYTEA NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events (id);
CREATE INDEX IF NOT EXISTS events_internal ON events (sequence) WHERE internal = 1;
CREATE TABLE IF NOT EXISTS log_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    last_sequence BIGINT NOT NULL
);
INSERT INTO log_head (last_sequence) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM log_head);
"""
_CREATED = re.compile(r"CREATE (?:UNIQUE )?(?:TABLE|INDEX) IF NOT EXISTS (\w+)", re.I)
EVENT_COLUMNS = (
    "sequence",
    "id",
    "type",
    "organization_id",
    "context_id",
    "occurred_at",
    "recorded_at",
    "assigned",
    "internal",
    "body",
)


def is_url(location: object) -> bool:
    """A `scheme://` location names a server; anything else is a file path."""
    return isinstance(location, str) and "://" in location


def check_url(url: str) -> None:
    scheme = url.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        raise InvalidInput(
            f"unknown database URL scheme '{scheme}://'; give postgresql://USER@HOST/DATABASE"
            " or a file path for SQLite"
        )


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@functools.lru_cache(maxsize=512)
def _paramstyle(sql: str) -> str:
    """The statements are written once with SQLite's `?`; psycopg takes `%s`."""
    return sql.replace("%", "%%").replace("?", "%s")


def ddl(script: str) -> str:
    """A projection's CREATE statements as written for SQLite, in PostgreSQL's types."""
    script = re.sub(r"\bBLOB\b", "BYTEA", script)
    return re.sub(r"\bINTEGER\b", "BIGINT", script)


class Connection:
    """A psycopg connection that takes the statements as the SQLite connection does.

    A read outside a transaction that finds its session ended (the server restarted, or an
    administrator terminated it) is read again on a new session: nothing it did can have
    happened twice. Any other statement fails, and the next one goes to a new session."""

    def __init__(self, raw: Any, reopen: Callable[[], None] | None = None) -> None:
        self.raw = raw
        self._reopen = reopen

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self._reopen is None or not sql.startswith("SELECT"):
            return self._execute(sql, params)
        if self.lost():  # known to be gone already (a write found it so)
            self._reopen()
        elif not self._idle():
            return self._execute(sql, params)
        try:
            return self._execute(sql, params)
        except Exception as e:
            if not self.lost(e):
                raise
        self._reopen()
        return self._execute(sql, params)

    def _execute(self, sql: str, params: Sequence[Any]) -> Any:
        if not params:
            return self.raw.execute(sql)
        return self.raw.execute(_paramstyle(sql), list(params))

    def _idle(self) -> bool:
        from psycopg.pq import TransactionStatus

        return bool(self.raw.info.transaction_status == TransactionStatus.IDLE)

    def lost(self, error: BaseException | None = None) -> bool:
        """The server ended this session (or the network did): the connection is broken, or
        `error` is the server's word that it is ending it (an administrator's
        pg_terminate_backend, a shutdown), which arrives before the connection closes."""
        if self.raw.broken or self.raw.closed:
            return True
        state = getattr(error, "sqlstate", None) or ""
        return state.startswith(("57P", "08"))

    def executemany(self, sql: str, rows: Any) -> None:
        rows = list(rows)
        if rows:
            with self.raw.cursor() as cursor:
                cursor.executemany(_paramstyle(sql), rows)

    def close(self) -> None:
        self.raw.close()


class PostgresDatabase:
    """One connection to the server, in autocommit; `transaction()` opens an explicit one."""

    kind = "postgres"
    shares_connections = True  # a server counts its connections: a system keeps few

    def __init__(self, url: str, *, application: str = "signin-webhooks") -> None:
        check_url(url)
        self.url = url
        self.location = shown(url)
        self.application = application[:63]
        self.conn = Connection(self._connect(), self.reconnect)
        self._lock = threading.RLock()
        with self.errors():
            self.namespace = self.conn.raw.execute("SELECT current_schema()").fetchone()[0]
        if self.namespace is None:
            raise StoreError(
                f"database '{self.location}' has no schema to keep the log in (search_path is"
                " empty); set search_path or create schema public"
            )

    def _connect(self) -> Any:
        psycopg = driver(self.location)
        try:
            return psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                application_name=self.application,
            )
        except psycopg.Error as e:
            raise store_error(e, self.location) from None

    def reconnect(self) -> None:
        """A new session in place of one the server or the network ended."""
        with self._lock:
            old, self.conn.raw = self.conn.raw, self._connect()
        with contextlib.suppress(Exception):
            old.close()

    def lock_key(self, purpose: str) -> int:
        """An advisory lock key of this database's schema (several installations may share
        one database, each in a schema of its own): pg_locks shows its halves as classid and
        objid."""
        high = zlib.crc32(self.namespace.encode()) & 0x7FFFFFFF
        return high << 32 | zlib.crc32(purpose.encode())

    @contextlib.contextmanager
    def exclusive(self, purpose: str, *, wait: bool = True) -> Iterator[bool]:
        """One session at a time of every worker on this log does `purpose` (a session-level
        advisory lock, held across the transactions the work takes); without `wait`, yields
        False at once if another holds it."""
        key = self.lock_key(purpose)
        with self.errors():
            if wait:
                self.conn.execute("SELECT pg_advisory_lock(?)", [key])
                held = True
            else:
                (held,) = self.conn.execute("SELECT pg_try_advisory_lock(?)", [key]).fetchone()
        try:
            yield bool(held)
        finally:
            if held:  # a session the server ended took its locks with it
                with contextlib.suppress(Exception), self.errors():
                    self.conn.execute("SELECT pg_advisory_unlock(?)", [key])

    @property
    def channel(self) -> str:
        """The NOTIFY channel of this log."""
        return f"signin_webhooks_{zlib.crc32(self.namespace.encode()):08x}"

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        psycopg = driver(self.location)
        try:
            yield
        except psycopg.Error as e:
            if self.conn.lost(e):  # the server went away: the next
                with contextlib.suppress(StoreError):  # call finds a new session, if it is back
                    self.reconnect()
            raise store_error(e, self.location) from None

    def create_schema(self, script: str) -> None:
        """CREATE ... IF NOT EXISTS, under a lock: two processes creating the same table at
        once would otherwise collide in the catalogue. What exists already is skipped without
        a statement: CREATE INDEX IF NOT EXISTS locks its table even when the index is there,
        and would deadlock with an append in flight."""
        statements = [s.strip() for s in ddl(script).split(";") if s.strip()]
        with self.errors():
            missing = [s for s in statements if not self._exists(s)]
        if not missing:
            return
        with self.errors(), self.write_transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(?)", [self.lock_key("schema")])
            for statement in missing:
                if not self._exists(statement):
                    conn.execute(statement)

    def _exists(self, statement: str) -> bool:
        created = _CREATED.match(statement)
        if created is None:
            return False
        (found,) = self.conn.execute("SELECT to_regclass(?)", [created.group(1)]).fetchone()
        return found is not None

    @contextlib.contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """One transaction at a time on this connection, as threads share it."""
        with self._lock:
            conn = self.conn
            self._begin("BEGIN")
            try:
                yield conn
            except Exception as e:
                cause = e.__context__ if isinstance(e, StoreError) else e
                if conn.lost(cause):  # before COMMIT: the server rolled it all back
                    raise self._session_lost(cause or e) from None
                if not conn.raw.closed:
                    conn.raw.execute("ROLLBACK")
                raise
            except BaseException:
                if not conn.raw.closed:
                    conn.raw.execute("ROLLBACK")
                raise
            try:
                conn.raw.execute("COMMIT")
            except Exception as e:
                if conn.lost(e):
                    raise self._session_lost(e, in_doubt=True) from None
                raise

    def _session_lost(self, error: BaseException, *, in_doubt: bool = False) -> SessionLost:
        found = store_error(error, self.location) if _is_driver_error(error) else error
        return SessionLost(marked(found), in_doubt=in_doubt)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """Reads that all see the log as it was at their first statement, whatever commits
        meanwhile (REPEATABLE READ): a copy taken while workers write is of one moment."""
        with self._lock:
            conn = self.conn
            self._begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield conn
            finally:
                if not conn.raw.closed:
                    conn.raw.execute("ROLLBACK")

    def _begin(self, statement: str) -> None:
        """Begin a transaction, on a new session if the server ended this one: nothing had
        begun on it."""
        try:
            self.conn.raw.execute(statement)
            return
        except Exception as e:
            if not self.conn.lost(e):
                raise
        self.reconnect()
        self.conn.raw.execute(statement)

    def hold_head(self, conn: Connection) -> None:
        """Hold the log's head until the transaction ends: no append numbers an event
        meanwhile, so what this transaction reads of the log is all there is before it."""
        conn.execute("SELECT last_sequence FROM log_head FOR UPDATE")

    def lock_projection(self, conn: Connection, name: str) -> None:
        """Two processes catching a projection up take turns (SQLite's one writer does it
        there): the checkpoint each reads is then the other's last."""
        conn.execute("SELECT pg_advisory_xact_lock(?)", [self.lock_key(f"projection/{name}")])

    def events_schema(self) -> str:
        return EVENTS

    def appending(self, conn: Connection) -> contextlib.AbstractContextManager[PostgresAppending]:
        """Numbering and writing this transaction's events, the head's row lock held until the
        caller's transaction commits (see the top)."""
        return appending(conn, EVENT_COLUMNS, self.channel)

    def insert_events(self, conn: Connection, rows: list[tuple[Any, ...]]) -> int:
        """Number the rows from the log's head and write them; returns the last sequence."""
        with self.appending(conn) as appender:
            return appender.insert(rows)

    def copy_events(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Rows of another log, their sequences as they are."""
        with conn.raw.cursor().copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def set_head(self, conn: Connection, last: int) -> None:
        conn.execute("UPDATE log_head SET last_sequence = ?", [last])

    def last_sequence(self) -> int:
        return int(self.conn.execute("SELECT last_sequence FROM log_head").fetchone()[0])

    def data_version(self) -> int:
        """Changes whenever an append commits: the head moves with every one."""
        return self.last_sequence()

    def glob(self, column: str) -> str:
        return f"{column} LIKE ?"

    def glob_arg(self, pattern: str) -> str:
        return postgres_like(pattern)

    def joined(self, expression: str) -> str:
        """An aggregate of `expression` over a group's rows as comma-separated text, in the
        order of their sequences."""
        return f"string_agg(CAST({expression} AS TEXT), ',' ORDER BY sequence)"

    def with_text(self, blob: str, text: str) -> str:
        """The bytes of `blob` followed by those of `text` (UTF-8), as a bytea."""
        return f"{blob} || convert_to({text}, 'UTF8')"

    def configure_background(self) -> None:
        """Nothing to tune: the server keeps its own cache and checkpoints."""

    def checkpoint(self) -> None:
        """The server checkpoints on its own."""

    def close(self) -> None:
        self.conn.close()


def driver(location: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            f"'{location}' is a PostgreSQL database, and psycopg is not installed;"
            " pip install 'signin-webhooks[postgres]'"
        ) from None
    return psycopg


def driver_errors() -> tuple[type[Exception], ...]:
    try:
        import psycopg
    except ImportError:
        return ()
    return (psycopg.Error,)


def _is_driver_error(error: BaseException) -> bool:
    import psycopg

    return isinstance(error, psycopg.Error)


def store_error(e: BaseException, location: str) -> StoreError:
    """Turn a PostgreSQL error into one line that says what to do."""
    import psycopg
    from psycopg import errors

    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    lowered = text.lower()
    if isinstance(e, errors.InsufficientPrivilege):
        return StoreError(
            f"database '{location}' refused: {text}; run once as a user who may create the"
            " tables there (or GRANT CREATE ON SCHEMA), then try again"
        )
    if isinstance(e, errors.InvalidCatalogName) or (
        "database" in lowered and "does not exist" in lowered
    ):
        return StoreError(
            f"database '{location}': {text}; create it (createdb) or fix the URL given as «db»"
        )
    if "password authentication failed" in lowered or (
        "role" in lowered and "does not exist" in lowered
    ):
        return StoreError(
            f"PostgreSQL at '{location}' refused the login: {text}; check the user and password"
            " in the URL given as «db»"
        )
    if isinstance(e, psycopg.OperationalError | psycopg.InterfaceError):
        return StoreError(
            f"cannot reach PostgreSQL at '{location}' ({text}); check that the server is up and"
            " the URL given as «db», then try again"
        )
    return StoreError(f"database '{location}': {text}")
