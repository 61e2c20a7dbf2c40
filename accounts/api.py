from __future__ import annotations

from datetime import datetime

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from accounts.services.api_tokens import access_token_issue
from accounts.services.throttle import signin_failure_record, signin_lockout, signin_success_record
from consultants.selectors import profile_of
from core.http import client_address

router = Router(tags=["accounts"])


class TokenIn(Schema):
    email: str
    password: str


class TokenOut(Schema):
    access: str
    expires_at: datetime


class ErrorOut(Schema):
    detail: str


class ProfileOut(Schema):
    slug: str
    time_zone: str
    time_format: str
    currency: str


class MeOut(Schema):
    id: str
    email: str
    name: str
    role: str
    email_verified: bool
    profile: ProfileOut | None


@router.post("/auth/token", auth=None, response={200: TokenOut, 401: ErrorOut, 429: ErrorOut})
def token_obtain(request: HttpRequest, response: HttpResponse, payload: TokenIn):
    """Exchange email and password for a short-lived access token (15 minutes)."""
    address = client_address(request)
    lockout = signin_lockout(email=payload.email, address=address)
    if lockout is None:
        user = authenticate(request, username=payload.email.strip(), password=payload.password)
        if user is not None:
            signin_success_record(email=payload.email, address=address)
            issued = access_token_issue(user=user)
            return Status(200, {"access": issued.token, "expires_at": issued.expires_at})
        lockout = signin_failure_record(email=payload.email, address=address)
        if lockout is None:
            return Status(401, {"detail": "Invalid email or password."})
    response["Retry-After"] = str(lockout.retry_after)
    return Status(429, {"detail": lockout.message})


@router.get("/me", response=MeOut)
def me(request: HttpRequest):
    """The person the token belongs to."""
    user = request.auth
    profile = profile_of(user=user) if user.is_consultant else None
    return {
        "id": str(user.pk), "email": user.email, "name": user.full_name, "role": user.role,
        "email_verified": user.email_verified_at is not None,
        "profile": None if profile is None else {
            "slug": profile.slug, "time_zone": profile.time_zone, "time_format": profile.time_format,
            "currency": profile.currency,
        },
    }
