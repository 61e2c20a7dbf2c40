"""The JSON API on tenant hosts (``/api/v1/``, docs at ``/api/docs``).

Conventions: JSON in and out, ids as strings, errors ``{"detail": ...}``; 401
without a valid token, 403 without the right, 404 for what is not in this
tenant, 409 for a conflict, 422 for invalid input, 429 when throttled.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.security import HttpBearer

from core.exceptions import ApplicationError


class BearerAuth(HttpBearer):
    """``Authorization: Bearer <token>``: a JWT from /auth/token or a personal access token."""

    def authenticate(self, request: HttpRequest, token: str):
        from accounts.services.api_tokens import api_user_authenticate

        user = api_user_authenticate(token=token)
        request.user = user
        return user


api = NinjaAPI(
    title="Consultio API", version="1", urls_namespace="api", docs_url="/docs", auth=BearerAuth(),
)


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError):
    return api.create_response(request, {"detail": exc.message, "code": exc.code}, status=exc.http_status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError):
    detail = "; ".join(exc.messages) if not hasattr(exc, "error_dict") else "; ".join(
        f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return api.create_response(request, {"detail": detail}, status=422)


def register_routers() -> None:
    from accounts.api import router as accounts_router
    from billing.api import router as billing_router
    from booking.api import me as booking_me_router
    from booking.api import public as booking_public_router
    from calendars.api import router as calendars_router
    from tenants.domains_api import router as domains_router
    from themes.api import router as theme_router

    api.add_router("/v1", accounts_router)
    api.add_router("/v1", booking_public_router)
    api.add_router("/v1/me", booking_me_router)
    api.add_router("/v1/me", billing_router)
    api.add_router("/v1/me", theme_router)
    api.add_router("/v1/me", domains_router)
    api.add_router("/v1/me", calendars_router)


register_routers()
