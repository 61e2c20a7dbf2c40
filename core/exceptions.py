"""Domain errors. Services raise them; the edges (views, API, CLI) map them to a
response once, by ``code`` and ``http_status``."""

from __future__ import annotations


class ApplicationError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if http_status:
            self.http_status = http_status
        self.field = field


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404


class PermissionDenied(ApplicationError):
    code = "forbidden"
    http_status = 403


class Conflict(ApplicationError):
    code = "conflict"
    http_status = 409


class InvalidInput(ApplicationError):
    code = "invalid"
    http_status = 422


def parse_public_id(value: str):
    """A UUID from a URL, or ``NotFound``: a malformed id is as unknown as a foreign one."""
    import uuid

    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("Not found.") from None
