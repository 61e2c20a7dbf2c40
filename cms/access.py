"""Who may edit the tenant's site at /cms/: the owner always, and the people the owner lets."""

from __future__ import annotations

from django.contrib.auth.models import Group

from accounts.models import User
from cms.provisioning import EDITORS_GROUP
from core.exceptions import InvalidInput


def is_site_editor(user: User) -> bool:
    return any(group.name == EDITORS_GROUP for group in user.groups.all())


def site_editor_set(*, member: User, allowed: bool) -> User:
    """Grant or withdraw site editing (Wagtail's editors group: edit and publish every page,
    images and documents). The owner keeps it; revoked people cannot be given it."""
    if member.is_owner:
        raise InvalidInput("The owner always edits the site.")
    if allowed and not member.is_active:
        raise InvalidInput("Revoked people cannot edit the site.")
    group = Group.objects.get(name=EDITORS_GROUP)
    if allowed:
        member.groups.add(group)
    else:
        member.groups.remove(group)
    return member
