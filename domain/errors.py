"""Failures of domain operations, which the web layer maps to answers (404, 403, 409, 422).

Domain code raises these instead of aborting a request; ``blueprints.common`` turns them into
HTTP answers, the panel namespace into error acknowledgements.
"""
from __future__ import annotations


class DomainError(Exception):
    """An operation refused, with a machine-readable ``code`` and a message for people."""

    code = "refused"
    status = 400

    def __init__(self, message: str = "", code: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(DomainError):
    """Missing, or hidden from this viewer: the two are one answer (V8, F7)."""

    code, status = "not_found", 404


class Forbidden(DomainError):
    """The viewer may know the thing exists but may not do this."""

    code, status = "forbidden", 403


class Conflict(DomainError):
    """Someone else changed the same thing at the same moment, or it is taken."""

    code, status = "conflict", 409


class Invalid(DomainError):
    """The input breaks a rule; the message says which."""

    code, status = "invalid", 422
