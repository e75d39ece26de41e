"""Errors a user can act on: each message is one line naming the problem and the way out."""

from __future__ import annotations

import re
from collections.abc import Mapping

# A name in a message, as «name» (a field or parameter) or «subscriptions.list()» (an operation).
_NAMED = re.compile(r"«([^«»\s][^«»]*)»")


class SigninWebhooksError(Exception):
    """Base of every error the product reports to a person.

    The message names the fields it is about and the operations its way out calls as the Python
    API does, each written in marks: `«name» must be 1 to 200 characters`, `` `«tokens.list()»`
    shows the ids``. `str()` gives it with the marks taken off, as a host program reads it;
    `worded(names)` puts a front end's own name for each in its place (the command line's
    `--name` and `tokens list`, the HTTP API's `context_id`). `fields` lists the fields it names."""

    def __init__(self, message: str) -> None:
        self.marked = message
        super().__init__(self.worded({}))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for name in _NAMED.findall(self.marked) if "(" not in name)

    def worded(self, names: Mapping[str, str]) -> str:
        """The message with `names[name]` for each name it marks that `names` holds."""
        return _NAMED.sub(lambda m: names.get(m[1], m[1]), self.marked)


def marked(error: BaseException) -> str:
    """An error's message with its marks, to be carried into another error."""
    return error.marked if isinstance(error, SigninWebhooksError) else str(error)


class InvalidInput(SigninWebhooksError, ValueError):
    """Input that was refused; nothing was stored."""


class NotFound(SigninWebhooksError, LookupError):
    """An id that names nothing in the log."""


class StoreError(SigninWebhooksError):
    """The database cannot be opened, read or written."""


class SessionLost(StoreError):
    """The server ended the session during a transaction (a restart, an operator's
    pg_terminate_backend). Before its COMMIT nothing of it was written, and it may go again on a
    new session; `in_doubt`: the COMMIT went unanswered, and it may or may not have been made."""

    def __init__(self, message: str, *, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.in_doubt = in_doubt


class NoDatabase(StoreError):
    """The database file does not exist, and the caller only reads (nothing creates it)."""


class Unauthorized(SigninWebhooksError):
    """A request without a valid token: missing, unknown, expired or revoked."""


class Forbidden(SigninWebhooksError):
    """A valid token asking for what its scope does not allow."""


class Conflict(SigninWebhooksError):
    """A request that clashes with what the log already holds."""
