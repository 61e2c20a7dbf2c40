"""The two error shapes of Microsoft's APIs: Graph's ``{"error": {"code", "message", "innerError"}}``
and the identity platform's ``{"error", "error_description": "AADSTS…", "error_codes", …}``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.http import JsonResponse


class GraphError(Exception):
    """A Microsoft Graph error, rendered by :func:`graph_error_response`."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def graph_error_response(exc: GraphError, *, request_id: str, client_request_id: str) -> JsonResponse:
    body = {"error": {"code": exc.code, "message": exc.message, "innerError": {
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id, "client-request-id": client_request_id}}}
    response = JsonResponse(body, status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def invalid_request(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)


class OAuthError(Exception):
    """An identity platform error: ``error`` is the OAuth 2 code, ``aadsts`` the AADSTS number."""

    def __init__(self, error: str, aadsts: int, description: str, *, status: int = 400,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.aadsts = aadsts
        self.description = description
        self.status = status
        self.headers = headers or {}

    def body(self) -> dict:
        now = datetime.now(tz=UTC)
        timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        return {
            "error": self.error,
            "error_description": (f"AADSTS{self.aadsts}: {self.description}\r\nTrace ID: {trace_id}\r\n"
                                  f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"),
            "error_codes": [self.aadsts],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}",
        }

    def response(self) -> JsonResponse:
        response = JsonResponse(self.body(), status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        response["Cache-Control"] = "no-store, no-cache"
        response["Pragma"] = "no-cache"
        return response


def missing_parameter(name: str) -> OAuthError:
    return OAuthError("invalid_request", 900144, f"The request body must contain the following parameter: '{name}'.")
