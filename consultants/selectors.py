from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import User
from consultants.models import Profile
from core.exceptions import NotFound

REQUIRED_PARTS = (
    ("full_name", "your name"),
    ("slug", "the address of your public page"),
    ("photo", "a photo"),
    ("headline", "a headline"),
    ("description", "a description of your services"),
    ("languages", "the languages you consult in"),
)


@dataclass(frozen=True)
class Completeness:
    missing: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing


def profile_completeness(*, profile: Profile) -> Completeness:
    values = {
        "full_name": profile.user.full_name.strip(),
        "slug": profile.slug,
        "photo": profile.photo.name if profile.photo else "",
        "headline": profile.headline.strip(),
        "description": profile.description.strip(),
        "languages": profile.languages,
    }
    return Completeness(missing=[label for key, label in REQUIRED_PARTS if not values[key]])


def _public_profiles() -> QuerySet[Profile]:
    """Profiles shown on the tenant's site: active owners and consultants whose profile is complete."""
    return (
        Profile.objects.select_related("user")
        .filter(user__is_active=True, user__role__in=[User.Role.OWNER, User.Role.CONSULTANT])
        .exclude(photo="").exclude(headline="").exclude(description="").exclude(languages=[])
    )


def profile_public_list() -> QuerySet[Profile]:
    return _public_profiles().order_by("user__full_name")


def profile_public_get(*, slug: str) -> Profile:
    profile = _public_profiles().prefetch_related("certificates").filter(slug=slug).first()
    if profile is None:
        raise NotFound("No consultant at this address.")
    return profile


def profile_of(*, user: User) -> Profile | None:
    try:
        return user.profile
    except Profile.DoesNotExist:
        return None
