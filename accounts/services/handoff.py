"""Single-use sign-in links that carry a new owner from the platform host to their tenant host."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import LoginHandoff, User
from core.exceptions import ApplicationError
from core.urls import tenant_absolute_url

HANDOFF_LIFETIME = timedelta(minutes=2)


class HandoffInvalid(ApplicationError):
    code = "handoff_invalid"
    http_status = 400


def login_handoff_create(*, user: User, domain: str) -> str:
    """Call inside the tenant's schema. Returns the absolute single-use sign-in URL."""
    token = secrets.token_urlsafe(32)
    LoginHandoff.objects.create(
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        user=user,
        expires_at=timezone.now() + HANDOFF_LIFETIME,
    )
    return tenant_absolute_url(domain, reverse("accounts:handoff", urlconf=settings.ROOT_URLCONF, args=[token]))


@transaction.atomic
def login_handoff_redeem(*, token: str) -> User:
    """Spend a single-use login link; raises ``HandoffInvalid`` if unknown, used or expired."""
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    handoff = (
        LoginHandoff.objects.select_for_update().select_related("user")
        .filter(token_hash=token_hash).first()
    )
    if handoff is None:
        raise HandoffInvalid("This sign-in link is not valid.")
    if handoff.used_at is not None:
        raise HandoffInvalid("This sign-in link has already been used. Please sign in with your password.")
    if handoff.expires_at <= timezone.now():
        raise HandoffInvalid("This sign-in link has expired. Please sign in with your password.")
    if not handoff.user.is_active:
        raise HandoffInvalid("This account is not active.")
    handoff.used_at = timezone.now()
    handoff.save(update_fields=["used_at"])
    return handoff.user
