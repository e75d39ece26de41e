"""Errors a user can act on: each message is one line naming the problem and the way out."""


class SigninWebhooksError(Exception):
    """Base of every error the product reports to a person."""


class InvalidInput(SigninWebhooksError, ValueError):
    """Input that was refused; nothing was stored."""


class NotFound(SigninWebhooksError, LookupError):
    """An id that names nothing in the log."""


class StoreError(SigninWebhooksError):
    """The database cannot be opened, read or written."""
