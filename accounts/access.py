"""Who may do what inside a tenant. Every workspace view goes through these;
menus only mirror them.

- owner: everything, including team, billing and branding;
- consultant: their own profile, offerings, availability, calls and tokens;
- assistant: the calls of the consultants they are assigned to; no profile, team or money settings.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest
from django.shortcuts import render

from accounts.models import Invitation, User


def role_required(*roles: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if user.role not in roles:
                return render(request, "accounts/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


member_required = role_required(User.Role.OWNER, User.Role.CONSULTANT, User.Role.ASSISTANT)
consultant_required = role_required(User.Role.OWNER, User.Role.CONSULTANT)
owner_required = role_required(User.Role.OWNER)


def can_manage_money(user: User) -> bool:
    """Payout and billing settings: the owner, and consultants for their own payouts; never assistants."""
    return user.is_authenticated and user.is_consultant


def access_member(*, actor: User, member_id: int) -> User:
    """A person of this tenant, for the owner's team management; 404 for anyone else or anything else."""
    if not actor.is_owner:
        raise Http404
    member = User.objects.filter(pk=member_id).exclude(role=User.Role.STAFF).first()
    if member is None:
        raise Http404
    return member


def access_invitation(*, actor: User, invitation_id: int) -> Invitation:
    if not actor.is_owner:
        raise Http404
    invitation = Invitation.objects.filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404
    return invitation


def access_profile_user(*, actor: User, user_id: int | None) -> User:
    """Whose profile settings ``actor`` may edit: their own, or (owner only) a consultant's."""
    if user_id is None or user_id == actor.pk:
        if not actor.is_consultant:
            raise Http404
        return actor
    if not actor.is_owner:
        raise Http404
    member = User.objects.filter(pk=user_id, role__in=[User.Role.OWNER, User.Role.CONSULTANT]).first()
    if member is None:
        raise Http404
    return member
