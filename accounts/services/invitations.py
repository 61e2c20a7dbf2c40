"""Inviting people into a tenant by email: single use, 7 days, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.emails import email_send_on_commit
from accounts.models import Invitation, User
from consultants.services import profile_create
from core.exceptions import ApplicationError, Conflict, PermissionDenied
from core.urls import tenant_absolute_url

INVITATION_LIFETIME = timedelta(days=7)


class InvitationInvalid(ApplicationError):
    code = "invitation_invalid"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def consultant_seats_used() -> int:
    """Active owners and consultants plus open consultant invitations."""
    people = User.objects.filter(is_active=True, role__in=[User.Role.OWNER, User.Role.CONSULTANT]).count()
    pending = Invitation.objects.filter(role=Invitation.Role.CONSULTANT, accepted_at__isnull=True,
                                        revoked_at__isnull=True, expires_at__gt=timezone.now()).count()
    return people + pending


@transaction.atomic
def invitation_create(
    *, actor: User, email: str, role: str, domain: str, site_name: str, max_consultants: int | None,
) -> Invitation:
    if not actor.is_owner:
        raise PermissionDenied("Only the owner can invite people.")
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": ["Enter a valid email address."]}) from None
    if role not in Invitation.Role.values:
        raise ValidationError({"role": ["Choose consultant or assistant."]})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": ["Someone with this email is already on your team."]})
    if role == Invitation.Role.CONSULTANT and max_consultants is not None \
            and consultant_seats_used() >= max_consultants:
        raise ValidationError({"email": [
            f"Your plan allows {max_consultants} consultant{'s' if max_consultants != 1 else ''} "
            # Only platform staff change plans (the console): say whom to ask.
            f"(you included). To invite more, ask {settings.PLATFORM_NAME} to move your site to a larger plan."]})
    # A new invitation replaces an older open one for the same address.
    Invitation.objects.filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True) \
        .update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                email=email, role=role, invited_by=actor, token_hash=_hash(token),
                expires_at=timezone.now() + INVITATION_LIFETIME,
            )
    except IntegrityError:
        raise ValidationError({"email": ["An invitation to this address is being sent; try again."]}) from None
    url = tenant_absolute_url(domain, reverse("accounts:invitation_accept", urlconf=settings.ROOT_URLCONF,
                                              args=[token]))
    email_send_on_commit(
        to=email, subject=f"{actor.full_name} invited you to {site_name}", template="invitation",
        context={"inviter": actor, "url": url, "role": invitation.get_role_display().lower(),
                 "days": INVITATION_LIFETIME.days},
        site_name=site_name,
    )
    return invitation


def invitation_get_open(*, token: str) -> Invitation:
    invitation = Invitation.objects.select_related("invited_by").filter(token_hash=_hash(token)).first()
    if invitation is None:
        raise InvitationInvalid("This invitation link is not valid.")
    if invitation.accepted_at is not None:
        raise InvitationInvalid("This invitation has already been used. Sign in instead.")
    if invitation.revoked_at is not None:
        raise InvitationInvalid("This invitation was withdrawn. Ask the owner for a new one.")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("This invitation has expired. Ask the owner for a new one.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, full_name: str, password: str, time_zone: str = "UTC") -> User:
    invitation = invitation_get_open(token=token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise InvitationInvalid("This invitation has already been used. Sign in instead.")
    errors: dict[str, list] = {}
    if not full_name.strip():
        errors["full_name"] = ["Enter your name."]
    try:
        validate_password(password, user=User(email=invitation.email, full_name=full_name))
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise InvitationInvalid("An account with this email already exists. Sign in instead.")
    user = User.objects.create_user(
        email=invitation.email, password=password, full_name=full_name.strip(), role=invitation.role,
        email_verified_at=timezone.now(),  # the emailed link proves the address
    )
    if user.is_consultant:
        profile_create(user=user, time_zone=time_zone)
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    return user


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    if not actor.is_owner:
        raise PermissionDenied("Only the owner can withdraw invitations.")
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Conflict("This invitation is no longer open.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    return invitation
