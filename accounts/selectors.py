"""What a person's workspace shows. Income and calls come from billing and
booking; until those exist they are zero and empty, and these functions are
the single place those apps plug into."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AssistantAssignment, Invitation, PersonalAccessToken, User
from consultants.selectors import profile_completeness, profile_of
from core.money import Money

CALL_TABS = (
    ("upcoming", "Upcoming"),
    ("pending_payment", "Awaiting payment"),
    ("active", "Active"),
    ("completed", "Completed"),
    ("canceled", "Canceled"),
)


@dataclass(frozen=True)
class DashboardSummary:
    income_month: Money
    income_total: Money
    sessions: int
    upcoming: Sequence = field(default_factory=tuple)
    missing_profile_parts: list[str] = field(default_factory=list)
    email_verified: bool = True
    ratings: object = None  # video.ratings.RatingSummary


def consultants_visible_to(*, user: User) -> QuerySet[User]:
    """Whose calls ``user`` sees: the owner everyone's, a consultant their own, an assistant their consultants'."""
    if user.is_owner:
        return User.objects.filter(role__in=[User.Role.OWNER, User.Role.CONSULTANT])
    if user.is_assistant:
        return User.objects.filter(
            pk__in=AssistantAssignment.objects.filter(assistant=user).values("consultant_id"))
    return User.objects.filter(pk=user.pk)


def call_list(*, user: User, tab: str, now: datetime | None = None) -> Sequence:
    """Calls of the consultants ``user`` may see, in one tab (a fixed number of queries)."""
    from booking.selectors import calls_for

    return calls_for(consultants=consultants_visible_to(user=user), tab=tab, now=now or timezone.now())


def dashboard_summary(*, user: User, now: datetime | None = None) -> DashboardSummary:
    """Income is the net (after the platform's fee and refunds) of the paid calls ``user`` may see."""
    from billing.payouts import income_of
    from booking.models import Call
    from booking.selectors import sessions_count
    from video.ratings import ratings_of

    now = now or timezone.now()
    profile = profile_of(user=user) if user.is_consultant else None
    currency = profile.currency if profile else "USD"
    missing = profile_completeness(profile=profile).missing if profile else []
    month, total = income_of(consultants=consultants_visible_to(user=user), currency=currency, now=now)
    return DashboardSummary(
        income_month=Money(month, currency), income_total=Money(total, currency),
        sessions=sessions_count(consultants=consultants_visible_to(user=user), now=now),
        upcoming=list(call_list(user=user, tab="next", now=now)[:5]), missing_profile_parts=missing,
        email_verified=user.email_verified_at is not None,
        ratings=ratings_of(Call.objects.filter(consultant__in=consultants_visible_to(user=user)), recent=3),
    )


def team_members() -> QuerySet[User]:
    return User.objects.exclude(role=User.Role.STAFF).prefetch_related("assignments__consultant", "groups") \
        .order_by("-is_active", "role", "full_name")


def invitations_open() -> QuerySet[Invitation]:
    return Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True) \
        .select_related("invited_by").order_by("-created_at")


def personal_tokens(*, user: User) -> QuerySet[PersonalAccessToken]:
    return PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True)
