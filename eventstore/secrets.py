"""Secrets at rest: signing secrets and custom header values are kept encrypted, in the log and
in the projections alike, and destroyed by destroying their key (crypto-shredding).

Each secret, and each version of a subscription's header values, is encrypted (AES-256-GCM)
under a data key of its own. The data keys live in the `secret_keys` table, outside the
append-only log, each wrapped under the installation key, which is kept outside the database:
in $SIGNIN_WEBHOOKS_KEY, or in a key file ($SIGNIN_WEBHOOKS_KEY_FILE, by default the database
path with `.key` added). Deleting a data key's row leaves its ciphertexts in the log unreadable
for good. A log written before encryption holds plaintext, which is read as it is.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets as random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from signin_webhooks.eventstore.database import Database, create_schema
from signin_webhooks.eventstore.errors import StoreError

ENV_KEY = "SIGNIN_WEBHOOKS_KEY"
ENV_KEY_FILE = "SIGNIN_WEBHOOKS_KEY_FILE"
PREFIX = "enc1:"  # enc1:<key id>:<base64 of nonce and ciphertext>
_NONCE = 12
SCHEMA = """
CREATE TABLE IF NOT EXISTS secret_keys (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    wrapped BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS secret_keys_subscription ON secret_keys (subscription_id);
"""
_INSERT = "INSERT INTO secret_keys (id, subscription_id, wrapped) VALUES (?, ?, ?)"
_SELECT = "SELECT wrapped FROM secret_keys WHERE id = ?"
_OF_SUBSCRIPTION = "SELECT id FROM secret_keys WHERE subscription_id = ?"
_DELETE = "DELETE FROM secret_keys WHERE id = ?"
_ANY = "SELECT 1 FROM secret_keys LIMIT 1"
_ALL = "SELECT id, subscription_id, wrapped FROM secret_keys ORDER BY id"


class SecretsUnavailable(StoreError):
    """A secret cannot be read: the installation key is missing or wrong, or it was destroyed."""


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def key_of(value: str) -> str | None:
    """The id of the data key a sealed value needs; None for plaintext."""
    return value.split(":", 2)[1] if is_sealed(value) else None


@dataclass(frozen=True)
class KeySource:
    """Where the installation key comes from, as `settings show` reports it."""

    kind: str  # "environment" or "file"
    where: str  # the variable's name, or the file's path
    present: bool

    def shown(self) -> str:
        if self.kind == "environment":
            return f"environment variable {self.where}"
        return f"key file {self.where}" + ("" if self.present else " (not there yet)")


def key_source(location: str | os.PathLike[str]) -> KeySource:
    if os.environ.get(ENV_KEY):
        return KeySource("environment", ENV_KEY, True)
    path = os.environ.get(ENV_KEY_FILE) or _default_key_file(location)
    return KeySource("file", str(path), Path(path).exists())


def _default_key_file(location: str | os.PathLike[str]) -> str:
    text = os.fspath(location)
    if "://" in text:  # a server's database: the key stays with the installation's files
        return "signin-webhooks.key"
    return text + ".key"


class Keyring:
    """Seals values under new data keys, opens them, and destroys data keys."""

    def __init__(self, db: Database, location: str | os.PathLike[str]) -> None:
        self.db = db
        self.location = location
        create_schema(db, SCHEMA)
        self._master: AESGCM | None = None

    # -- sealing

    def seal(self, conn: Any, subscription_id: str, values: Iterable[str]) -> list[str]:
        """Encrypt `values` under one new data key, stored in the caller's transaction."""
        master = self._master_key(create=True)
        key_id, key = random.token_hex(8), AESGCM.generate_key(bit_length=256)
        nonce = random.token_bytes(_NONCE)
        wrapped = nonce + master.encrypt(nonce, key, key_id.encode())
        conn.execute(_INSERT, [key_id, subscription_id, wrapped])
        box = AESGCM(key)
        sealed = []
        for value in values:
            nonce = random.token_bytes(_NONCE)
            data = nonce + box.encrypt(nonce, value.encode(), key_id.encode())
            sealed.append(f"{PREFIX}{key_id}:{base64.b64encode(data).decode('ascii')}")
        return sealed

    def open(self, value: str, what: str) -> str:
        """The plaintext of a sealed value (plaintext from an older log as it is); `what` names
        it in the error."""
        if not is_sealed(value):
            return value
        _, key_id, data = value.split(":", 2)
        row = self.db.conn.execute(_SELECT, [key_id]).fetchone()
        if row is None:
            raise SecretsUnavailable(
                f"{what} was destroyed (its key was deleted); it cannot be read"
            )
        wrapped, raw = bytes(row[0]), base64.b64decode(data)
        try:
            key = self._master_key(create=False).decrypt(wrapped[:_NONCE], wrapped[_NONCE:],
                                                         key_id.encode())  # fmt: skip
        except InvalidTag:
            raise SecretsUnavailable(
                f"{what} cannot be read: the installation key ({key_source(self.location).shown()})"
                " is not the one it was sealed with; restore the right key"
            ) from None
        return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], key_id.encode()).decode()

    def has(self, value: str) -> bool:
        """Whether the data key of a sealed value is still there."""
        key_id = key_of(value)
        return key_id is None or self.db.conn.execute(_SELECT, [key_id]).fetchone() is not None

    def check(self) -> None:
        """Raise SecretsUnavailable now if sealed secrets exist and cannot be opened."""
        if self.db.conn.execute(_ANY).fetchone():
            self._master_key(create=False)

    # -- destroying

    def shred(self, conn: Any, subscription_id: str, keep: Iterable[str] = ()) -> int:
        """Delete the subscription's data keys but those in `keep`; returns how many went."""
        kept = set(keep)
        doomed = [
            row[0]
            for row in conn.execute(_OF_SUBSCRIPTION, [subscription_id]).fetchall()
            if row[0] not in kept
        ]
        for key_id in doomed:
            conn.execute(_DELETE, [key_id])
        return len(doomed)

    # -- copying to another database: the data keys go along, still wrapped

    def wrapped_keys(self) -> list[tuple[str, str, bytes]]:
        return [(k, sub, bytes(w)) for k, sub, w in self.db.conn.execute(_ALL).fetchall()]

    def add_wrapped_keys(self, conn: Any, rows: Iterable[tuple[str, str, bytes]]) -> None:
        for row in rows:
            conn.execute(_INSERT, list(row))

    # -- the installation key

    def _master_key(self, *, create: bool) -> AESGCM:
        if self._master is None:
            self._master = AESGCM(self._load(create))
        return self._master

    def _load(self, create: bool) -> bytes:
        source = key_source(self.location)
        if source.kind == "environment":
            return _decode_key(os.environ[ENV_KEY], f"${ENV_KEY}")
        path = Path(source.where)
        try:
            return _decode_key(path.read_text().strip(), f"key file {path}")
        except FileNotFoundError:
            pass
        except OSError as e:
            raise SecretsUnavailable(f"cannot read key file {path}: {e.strerror}") from None
        if not create or self.db.conn.execute(_ANY).fetchone():
            raise SecretsUnavailable(
                f"secrets cannot be read: the installation key is missing (key file {path}"
                f" is not there, and ${ENV_KEY} is not set); restore the key file from its"
                f" backup or set ${ENV_KEY}"
            )
        key = AESGCM.generate_key(bit_length=256)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            raise SecretsUnavailable(
                f"cannot create key file {path}: {e.strerror}; set ${ENV_KEY_FILE} to a"
                f" writable path or ${ENV_KEY}"
            ) from None
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(key).decode("ascii") + "\n")
        return key


def new_key_text() -> str:
    """A fresh installation key, as $SIGNIN_WEBHOOKS_KEY or a key file holds it."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise SecretsUnavailable(
            f"{where} must hold 32 bytes in base64 (44 characters), e.g. from"
            " `python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'`"
        )
    return key
