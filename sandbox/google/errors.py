"""Google's two error shapes: the API envelope and the OAuth token endpoint's ``{"error", "error_description"}``."""

from __future__ import annotations

from django.http import JsonResponse

# The canonical status Google's JSON APIs put beside the HTTP code.
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                405: "INVALID_ARGUMENT", 409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


class GoogleError(Exception):
    """Rendered as ``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}], "status"}}``."""

    def __init__(self, code: int, message: str, *, reason: str, domain: str = "global", location: str = "",
                 location_type: str = "parameter", top_message: str = "", headers: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.headers = headers or {}
        detail = {"domain": domain, "reason": reason, "message": message}
        if location:
            detail.update(locationType=location_type, location=location)
        self.body = {"error": {"code": code, "message": top_message or message, "errors": [detail]}}
        if code in STATUS_NAMES:
            self.body["error"]["status"] = STATUS_NAMES[code]

    def response(self) -> JsonResponse:
        response = JsonResponse(self.body, status=self.code)
        for name, value in self.headers.items():
            response[name] = value
        return response


def bad_request(message: str, *, reason: str = "invalid", location: str = "", domain: str = "global") -> GoogleError:
    return GoogleError(400, message, reason=reason, location=location, domain=domain)


def not_found() -> GoogleError:
    return GoogleError(404, "Not Found", reason="notFound")


UNAUTHENTICATED = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                   "other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.")
LOGIN_REQUIRED = ("Request is missing required authentication credential. Expected OAuth 2 access token, login "
                  "cookie or other valid authentication credential. See "
                  "https://developers.google.com/identity/sign-in/web/devconsole-project.")
BEARER_CHALLENGE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'


def invalid_credentials() -> GoogleError:
    return GoogleError(401, "Invalid Credentials", reason="authError", location="Authorization",
                       location_type="header", top_message=UNAUTHENTICATED,
                       headers={"WWW-Authenticate": BEARER_CHALLENGE})


def login_required() -> GoogleError:
    return GoogleError(401, "Login Required.", reason="required", location="Authorization", location_type="header",
                       top_message=LOGIN_REQUIRED, headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})


def insufficient_scope() -> GoogleError:
    return GoogleError(403, "Insufficient Permission", reason="insufficientPermissions",
                       top_message="Request had insufficient authentication scopes.")


def full_sync_required() -> GoogleError:
    return GoogleError(410, "Sync token is no longer valid, a full sync is required.", reason="fullSyncRequired",
                       domain="calendar", location="syncToken")


def fault_error(status: int, retry_after: int) -> GoogleError:
    """What an overloaded or failing Calendar API answers."""
    if status == 429:
        return GoogleError(429, "Rate Limit Exceeded", reason="rateLimitExceeded", domain="usageLimits",
                           headers={"Retry-After": str(retry_after)})
    if status == 503:
        return GoogleError(503, "The service is currently unavailable.", reason="backendError",
                           headers={"Retry-After": str(retry_after)})
    return GoogleError(status, "Backend Error", reason="backendError")


class OAuthError(Exception):
    """The token and revoke endpoints' errors: ``{"error": "invalid_grant", "error_description": "..."}``."""

    def __init__(self, status: int, error: str, description: str, *, headers: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": self.error, "error_description": self.description}, status=self.status)
        response["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
        for name, value in self.headers.items():
            response[name] = value
        return response


def oauth_fault(status: int, retry_after: int) -> OAuthError:
    if status == 429:
        return OAuthError(429, "rate_limit_exceeded", "Rate limit exceeded.", headers={"Retry-After": str(retry_after)})
    if status == 503:
        return OAuthError(503, "temporarily_unavailable", "The service is temporarily unavailable.",
                          headers={"Retry-After": str(retry_after)})
    return OAuthError(status, "internal_failure", "Backend Error")
