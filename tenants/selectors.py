from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet
from django_tenants.utils import get_public_schema_name

from core.exceptions import NotFound
from core.urls import host_url
from tenants.models import Plan, StaffAction, Tenant


def platform_url() -> str:
    return host_url(settings.PLATFORM_DOMAIN)


def tenant_domain_for(slug: str) -> str:
    return f"{slug}.{settings.PLATFORM_DOMAIN}"


def tenant_list(*, query: str = "", status: str = "") -> QuerySet[Tenant]:
    tenants = (
        Tenant.objects.exclude(schema_name=get_public_schema_name())
        .select_related("plan")
        .prefetch_related("domains")
    )
    if status:
        tenants = tenants.filter(status=status)
    query = query.strip()
    if query:
        tenants = tenants.filter(
            Q(name__icontains=query)
            | Q(slug__icontains=query)
            | Q(owner_email__icontains=query)
            | Q(owner_name__icontains=query)
            | Q(domains__domain__icontains=query)
        ).distinct()
    return tenants.order_by("-created_at", "-id")


def tenant_get(*, tenant_id: int) -> Tenant:
    """A tenant for the staff console; never the public schema's row."""
    try:
        return (
            Tenant.objects.exclude(schema_name=get_public_schema_name())
            .select_related("plan")
            .prefetch_related("domains")
            .get(pk=tenant_id)
        )
    except Tenant.DoesNotExist:
        raise NotFound("No such tenant.") from None


def tenant_slug_taken(*, slug: str) -> bool:
    return Tenant.objects.filter(slug=slug).exists()


def plan_list() -> QuerySet[Plan]:
    return Plan.objects.all()


def plan_default() -> Plan | None:
    return Plan.objects.filter(is_default=True).first()


def staff_action_list(*, tenant: Tenant | None = None) -> QuerySet[StaffAction]:
    actions = StaffAction.objects.select_related("tenant", "actor")
    if tenant is not None:
        actions = actions.filter(tenant=tenant)
    return actions
