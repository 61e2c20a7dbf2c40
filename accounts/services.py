from __future__ import annotations

import hashlib

from django.db import transaction
from django.utils import timezone

from accounts.models import LoginHandoff, User
from core.exceptions import ApplicationError


class HandoffInvalid(ApplicationError):
    code = "handoff_invalid"
    http_status = 400


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
