"""Errors a user can act on: each message is one line naming the problem and the way out."""


class SigninWebhooksError(Exception):
    """Base of every error the product reports to a person.

    The message speaks of fields and parameters by their Python names; `fields` lists those
    words as they appear in it, so that a front end can put its own names in their place (the
    command line writes `--max-events` where the message says `max_events`)."""

    def __init__(self, message: str, *, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields = fields


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

    def __init__(
        self, message: str, *, fields: tuple[str, ...] = (), in_doubt: bool = False
    ) -> None:
        super().__init__(message, fields=fields)
        self.in_doubt = in_doubt


class NoDatabase(StoreError):
    """The database file does not exist, and the caller only reads (nothing creates it)."""


class Unauthorized(SigninWebhooksError):
    """A request without a valid token: missing, unknown, expired or revoked."""


class Forbidden(SigninWebhooksError):
    """A valid token asking for what its scope does not allow."""


class Conflict(SigninWebhooksError):
    """A request that clashes with what the log already holds."""
