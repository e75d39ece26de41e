"""Leases: on PostgreSQL several workers share the subscriptions, each owned by one worker at a
time. A lease lasts a while and is renewed while its worker lives; a new owner gets a fencing
token one higher than the last, and every seal and attempt its worker records is checked against
it in the recording transaction, so a worker that lost a lease records nothing more for it.

Times are the server's (`now()`), so workers on hosts whose clocks differ agree on expiry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from signin_webhooks.eventstore.errors import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    renewed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS leases (
    subscription_id TEXT PRIMARY KEY,
    worker_id TEXT,
    token BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_worker ON leases (worker_id);
"""


_LEFT = "extract(epoch FROM expires_at - now())"  # the seconds a lease has left, on the server
_AT_LEAST = "greatest(expires_at, now() + make_interval(secs => ?))"  # never shortened


class LeaseLost(StoreError):
    """This worker no longer owns the subscription: what it meant to record is not recorded."""


@dataclass(frozen=True)
class Worker:
    id: str
    name: str
    subscriptions: tuple[str, ...]


class Leases:
    """The lease table, as one worker sees it: `conn` is a PostgreSQL connection of the log's."""

    def __init__(self, db: Any, worker_id: str, name: str, duration: float) -> None:
        self.db = db
        self.worker_id = worker_id
        self.name = name
        self.duration = duration
        db.create_schema(SCHEMA)

    @property
    def channel(self) -> str:
        """Notified when leases are handed back, so other workers claim them at once."""
        return f"{self.db.channel}_leases"

    def renew(self) -> dict[str, tuple[int, float]]:
        """Keep this worker alive and its leases with it; returns the leases it still holds,
        each with its token and the seconds it has left (an attempt may have extended it past
        a lease's length: a renewal never shortens it)."""
        with self.db.write_transaction() as conn:
            conn.execute(
                "INSERT INTO workers (id, name) VALUES (?, ?) ON CONFLICT (id)"
                " DO UPDATE SET renewed_at = now()",
                [self.worker_id, self.name],
            )
            rows = conn.execute(
                f"UPDATE leases SET expires_at = {_AT_LEAST}"
                f" WHERE worker_id = ? RETURNING subscription_id, token, {_LEFT}",
                [self.duration, self.worker_id],
            ).fetchall()
            # Workers gone for good (killed, or stopped without a word) leave the list.
            conn.execute(
                "DELETE FROM workers WHERE renewed_at < now() - make_interval(secs => ?)",
                [self.duration * 4],
            )
        return {sub_id: (token, float(left)) for sub_id, token, left in rows}

    def fair_share(self, subscriptions: int) -> int:
        """How many subscriptions this worker should own: an even share among the live."""
        with self.db.write_transaction() as conn:  # the connection's threads take turns
            (live,) = conn.execute(
                "SELECT count(*) FROM workers WHERE renewed_at > now() - make_interval(secs => ?)",
                [self.duration],
            ).fetchone()
        return math.ceil(subscriptions / max(int(live), 1))

    def taken(self) -> set[str]:
        """Subscriptions some worker owns now."""
        with self.db.write_transaction() as conn:
            rows = conn.execute(
                "SELECT subscription_id FROM leases WHERE expires_at > now()"
                " AND worker_id IS NOT NULL"
            ).fetchall()
        return {row[0] for row in rows}

    def claim(self, subscription_id: str) -> tuple[int, float] | None:
        """Own a subscription no one owns (or whose owner's lease ran out): its new token and
        the seconds the lease has."""
        with self.db.errors(), self.db.write_transaction() as conn:
            row = conn.execute(
                "INSERT INTO leases (subscription_id, worker_id, token, expires_at)"
                " VALUES (?, ?, 1, now() + make_interval(secs => ?))"
                " ON CONFLICT (subscription_id) DO UPDATE SET worker_id = excluded.worker_id,"
                " token = leases.token + 1, expires_at = excluded.expires_at"
                " WHERE leases.expires_at <= now() OR leases.worker_id IS NULL"
                f" RETURNING token, {_LEFT}",
                [subscription_id, self.worker_id, self.duration],
            ).fetchone()
        return None if row is None else (row[0], float(row[1]))

    def extend(self, subscription_id: str, token: int, seconds: float) -> float | None:
        """Make the lease last at least `seconds` more, if this worker still holds it under
        `token`: the seconds it has now, or None if it is gone."""
        with self.db.errors(), self.db.write_transaction() as conn:
            row = conn.execute(
                f"UPDATE leases SET expires_at = {_AT_LEAST}"
                " WHERE subscription_id = ? AND worker_id = ? AND token = ? AND expires_at > now()"
                f" RETURNING {_LEFT}",
                [seconds, subscription_id, self.worker_id, token],
            ).fetchone()
        return None if row is None else float(row[0])

    def hand_back(self, subscriptions: dict[str, int]) -> None:
        """Let go of these leases at once (each given with its token)."""
        if not subscriptions:
            return
        with self.db.write_transaction() as conn:
            conn.executemany(
                "UPDATE leases SET worker_id = NULL, expires_at = now() WHERE subscription_id = ?"
                " AND worker_id = ? AND token = ?",
                [(sub_id, self.worker_id, token) for sub_id, token in subscriptions.items()],
            )
            conn.execute(f"NOTIFY {self.channel}")

    def leave(self) -> None:
        """Hand back everything and leave the list of workers."""
        with self.db.write_transaction() as conn:
            conn.execute(
                "UPDATE leases SET worker_id = NULL, expires_at = now() WHERE worker_id = ?",
                [self.worker_id],
            )
            conn.execute("DELETE FROM workers WHERE id = ?", [self.worker_id])
            conn.execute(f"NOTIFY {self.channel}")

    def check(self, conn: Any, held: dict[str, int]) -> None:
        """Inside a recording transaction: this worker still owns each subscription under the
        token given. The rows stay share-locked until the commit, so no new owner can take
        one between this check and the record."""
        for sub_id, token in held.items():
            row = conn.execute(
                "SELECT 1 FROM leases WHERE subscription_id = ? AND worker_id = ? AND token = ?"
                " AND expires_at > now() FOR SHARE",
                [sub_id, self.worker_id, token],
            ).fetchone()
            if row is None:
                raise LeaseLost(
                    f"this worker's lease on {sub_id} (token {token}) is gone; another worker"
                    " delivers it now"
                )


def workers(db: Any, duration: float) -> list[Worker]:
    """The live workers of a PostgreSQL log and the subscriptions each owns now."""
    db.create_schema(SCHEMA)
    rows = db.conn.execute(
        "SELECT w.id, w.name, l.subscription_id FROM workers w LEFT JOIN leases l"
        " ON l.worker_id = w.id AND l.expires_at > now()"
        " WHERE w.renewed_at > now() - make_interval(secs => ?)"
        " ORDER BY w.started_at, w.id, l.subscription_id",
        [duration],
    ).fetchall()
    found: dict[str, tuple[str, list[str]]] = {}
    for worker_id, name, sub_id in rows:
        entry = found.setdefault(worker_id, (name, []))
        if sub_id is not None:
            entry[1].append(sub_id)
    return [Worker(w, name, tuple(subs)) for w, (name, subs) in found.items()]
