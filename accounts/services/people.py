"""Creating, revoking and assigning the people of a tenant. Call inside the tenant's schema."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import AssistantAssignment, User
from accounts.services.verification import verification_email_send
from consultants.services import profile_create
from core.exceptions import ApplicationError, PermissionDenied


class PeopleError(ApplicationError):
    code = "people_error"
    http_status = 409


@transaction.atomic
def owner_create(
    *, email: str, password: str, full_name: str, domain: str, site_name: str, time_zone: str = "UTC",
) -> User:
    """The tenant's first person: owner and consultant at once, asked to confirm their email."""
    owner = User.objects.create_user(email=email, password=password, full_name=full_name, role=User.Role.OWNER)
    profile_create(user=owner, time_zone=time_zone)
    verification_email_send(user=owner, domain=domain, site_name=site_name)
    return owner


@transaction.atomic
def member_revoke(*, actor: User, member: User) -> User:
    """Take away a consultant's or assistant's access. Nothing is deleted: their calls stay visible to the owner."""
    if not actor.is_owner:
        raise PermissionDenied("Only the owner can revoke access.")
    member = User.objects.select_for_update().get(pk=member.pk)
    if member.is_owner:
        raise PeopleError("The owner's access cannot be revoked.")
    if member.revoked_at is not None:
        raise PeopleError(f"{member.full_name}'s access is already revoked.")
    member.is_active = False
    member.revoked_at = timezone.now()
    member.save(update_fields=["is_active", "revoked_at"])
    member.access_tokens.filter(revoked_at__isnull=True).update(revoked_at=member.revoked_at)
    return member


@transaction.atomic
def assistant_assign(*, actor: User, assistant: User, consultants: list[User]) -> None:
    """Replace the consultants an assistant works for."""
    if not actor.is_owner:
        raise PermissionDenied("Only the owner can assign assistants.")
    if not assistant.is_assistant:
        raise PeopleError(f"{assistant.full_name} is not an assistant.")
    if any(not c.is_consultant or not c.is_active for c in consultants):
        raise PeopleError("Assistants can only be assigned to active consultants.")
    AssistantAssignment.objects.filter(assistant=assistant).exclude(consultant__in=consultants).delete()
    for consultant in consultants:
        AssistantAssignment.objects.get_or_create(assistant=assistant, consultant=consultant)
