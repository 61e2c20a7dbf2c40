"""API access: short-lived JWTs from email and password, and named personal access tokens.

JWTs are signed with ``API_TOKEN_SECRET`` and carry the tenant schema, so a token
issued on tenant A's host is refused on tenant B's. Personal tokens are random,
shown once, stored as SHA-256 and looked up in the tenant's own schema.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import PersonalAccessToken, User
from core.exceptions import ApplicationError, NotFound

ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
PAT_PREFIX = "cpat_"
JWT_ALGORITHM = "HS256"


class TokenInvalid(ApplicationError):
    code = "token_invalid"
    http_status = 401


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime


def access_token_issue(*, user: User) -> AccessToken:
    now = timezone.now()
    expires_at = now + ACCESS_TOKEN_LIFETIME
    payload = {
        "sub": str(user.pk),
        "schema": connection.schema_name,
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    token = jwt.encode(payload, settings.API_TOKEN_SECRET, algorithm=JWT_ALGORITHM)
    return AccessToken(token=token, expires_at=expires_at.replace(microsecond=0))


def _user_for_jwt(token: str) -> User:
    try:
        payload = jwt.decode(token, settings.API_TOKEN_SECRET, algorithms=[JWT_ALGORITHM],
                             options={"require": ["exp", "sub", "schema"]},
                             leeway=0)
    except jwt.ExpiredSignatureError:
        raise TokenInvalid("The access token has expired; request a new one.") from None
    except jwt.InvalidTokenError:
        raise TokenInvalid("The access token is not valid.") from None
    if payload.get("schema") != connection.schema_name or payload.get("typ") != "access":
        raise TokenInvalid("The access token is not valid for this site.")
    user = User.objects.filter(pk=payload["sub"], is_active=True).first()
    if user is None:
        raise TokenInvalid("The access token is not valid.")
    return user


def _user_for_pat(token: str) -> User:
    digest = hashlib.sha256(token.encode()).hexdigest()
    pat = PersonalAccessToken.objects.select_related("user").filter(token_hash=digest).first()
    if pat is None or pat.revoked_at is not None or not pat.user.is_active:
        raise TokenInvalid("The access token is not valid.")
    now = timezone.now()
    if pat.last_used_at is None or now - pat.last_used_at > timedelta(minutes=1):
        PersonalAccessToken.objects.filter(pk=pat.pk).update(last_used_at=now)
    return pat.user


def api_user_authenticate(*, token: str) -> User:
    """The user a bearer token stands for in the current tenant; raises ``TokenInvalid``."""
    if token.startswith(PAT_PREFIX):
        return _user_for_pat(token)
    return _user_for_jwt(token)


@transaction.atomic
def personal_token_create(*, user: User, name: str) -> tuple[PersonalAccessToken, str]:
    """Returns the stored token and its secret value, which is never shown again."""
    from django.core.exceptions import ValidationError

    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Name the token, e.g. after the script that uses it."]})
    if len(name) > 100:
        raise ValidationError({"name": ["Keep the name under 100 characters."]})
    if PersonalAccessToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
        raise ValidationError({"name": ["You already have a token with this name."]})
    secret = PAT_PREFIX + secrets.token_urlsafe(32)
    pat = PersonalAccessToken.objects.create(
        user=user, name=name, prefix=secret[:12], token_hash=hashlib.sha256(secret.encode()).hexdigest()
    )
    return pat, secret


@transaction.atomic
def personal_token_revoke(*, user: User, token_id: int) -> PersonalAccessToken:
    pat = PersonalAccessToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if pat is None:
        raise NotFound("No such token.")
    if pat.revoked_at is None:
        pat.revoked_at = timezone.now()
        pat.save(update_fields=["revoked_at"])
    return pat
