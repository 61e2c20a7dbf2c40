"""Email verification by signed link, valid 48 hours, bound to the tenant's schema."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.emails import email_send_on_commit
from accounts.models import User
from core.exceptions import ApplicationError
from core.urls import tenant_absolute_url

VERIFY_MAX_AGE = timedelta(hours=48)


class VerificationInvalid(ApplicationError):
    code = "verification_invalid"


def _salt() -> str:
    # The schema in the salt makes a link of tenant A worthless on tenant B.
    return f"accounts.verify-email:{connection.schema_name}"


def verification_token_make(*, user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email}, salt=_salt())


def verification_email_send(*, user: User, domain: str, site_name: str) -> None:
    token = verification_token_make(user=user)
    url = tenant_absolute_url(domain, reverse("accounts:verify_email", urlconf=settings.ROOT_URLCONF,
                                              args=[token]))
    email_send_on_commit(
        to=user.email, subject=f"Confirm your email address for {site_name}", template="verify_email",
        context={"user": user, "url": url, "hours": int(VERIFY_MAX_AGE.total_seconds() // 3600)},
        site_name=site_name,
    )


@transaction.atomic
def email_verify(*, token: str) -> User:
    try:
        data = signing.loads(token, salt=_salt(), max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise VerificationInvalid("This confirmation link has expired. Sign in and ask for a new one.") from None
    except signing.BadSignature:
        raise VerificationInvalid("This confirmation link is not valid.") from None
    user = User.objects.select_for_update().filter(pk=data.get("u"), email=data.get("e")).first()
    if user is None:
        raise VerificationInvalid("This confirmation link is not valid.")
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user
