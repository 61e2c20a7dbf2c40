"""Tenant lifecycle: provisioning, suspension, plan changes. Every change by
staff or an operator writes a ``StaffAction`` in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from accounts.models import User
from accounts.services.handoff import login_handoff_create
from accounts.services.people import owner_create
from cms.provisioning import site_personalize
from tenants.models import Domain, Plan, StaffAction, Tenant
from tenants.selectors import plan_default, tenant_domain_for, tenant_slug_taken
from tenants.spares import spare_take
from tenants.validators import schema_name_for, validate_slug_format


@dataclass(frozen=True)
class Provisioned:
    tenant: Tenant
    owner_id: int
    url: str
    login_url: str


def _actor_label(actor: User | None, fallback: str) -> str:
    return actor.email if actor is not None else fallback


def _audit(*, actor: User | None, actor_label: str, action: str, tenant: Tenant, details: dict) -> None:
    StaffAction.objects.create(
        actor=actor, actor_label=_actor_label(actor, actor_label), action=action,
        tenant=tenant, details=details,
    )


def tenant_validate_signup(
    *, slug: str, name: str, owner_name: str, owner_email: str, owner_password: str
) -> None:
    """All the checks of a sign-up, each error under its field; raises ``ValidationError``."""
    errors: dict[str, list[ValidationError]] = {}
    try:
        validate_slug_format(slug)
        if tenant_slug_taken(slug=slug):
            raise ValidationError("This subdomain is already taken.", code="taken")
    except ValidationError as exc:
        errors["slug"] = exc.error_list
    if not name.strip():
        errors["name"] = [ValidationError("Enter your business name.", code="required")]
    elif len(name) > 120:
        errors["name"] = [ValidationError("Keep the business name under 120 characters.", code="too_long")]
    if not owner_name.strip():
        errors["owner_name"] = [ValidationError("Enter your name.", code="required")]
    try:
        validate_email(owner_email)
    except ValidationError:
        errors["owner_email"] = [ValidationError("Enter a valid email address.", code="invalid")]
    try:
        validate_password(owner_password, user=User(email=owner_email, full_name=owner_name))
    except ValidationError as exc:
        errors["owner_password"] = exc.error_list
    if errors:
        raise ValidationError(errors)


def _clone_template(schema_name: str) -> None:
    template = settings.TENANT_TEMPLATE_SCHEMA
    if not schema_exists(template):
        raise RuntimeError(
            f"The template schema {template!r} is missing: run `manage.py migrate` first."
        )
    CloneSchema().clone_schema(template, schema_name, set_connection=False)


def tenant_provision(
    *,
    slug: str,
    name: str,
    owner_name: str,
    owner_email: str,
    owner_password: str,
    plan: Plan | None = None,
    actor: User | None = None,
    source: str = "sign-up",
    owner_time_zone: str = "",
) -> Provisioned:
    """Create a tenant, its schema, its subdomain and its owner — all or nothing.

    The schema is cloned from the migrated template schema rather than migrated
    from scratch (see ``bench/``: many times faster). PostgreSQL DDL is
    transactional, so a failure at any step rolls back the schema too and leaves
    no half-created tenant behind.
    """
    slug = slug.strip()
    owner_email = owner_email.strip().lower()
    tenant_validate_signup(
        slug=slug, name=name, owner_name=owner_name, owner_email=owner_email,
        owner_password=owner_password,
    )
    plan = plan or plan_default()
    connection.set_schema_to_public()
    try:
        with transaction.atomic():
            tenant = Tenant(
                schema_name=schema_name_for(slug), slug=slug, name=name.strip(), plan=plan,
                owner_name=owner_name.strip(), owner_email=owner_email,
            )
            tenant.save()
            domain = Domain.objects.create(domain=tenant_domain_for(slug), tenant=tenant, is_primary=True)
            if not spare_take(tenant.schema_name):
                _clone_template(tenant.schema_name)
            with schema_context(tenant.schema_name):
                owner = owner_create(
                    email=owner_email, password=owner_password, full_name=owner_name.strip(),
                    domain=domain.domain, site_name=tenant.name, time_zone=owner_time_zone or "UTC",
                )
                site_personalize(name=tenant.name, hostname=domain.domain, owner=owner)
                login_url = login_handoff_create(user=owner, domain=domain.domain)
            _audit(
                actor=actor, actor_label=source, action=StaffAction.Action.TENANT_CREATED,
                tenant=tenant,
                details={"slug": slug, "plan": plan.name if plan else None, "source": source},
            )
            if settings.TENANT_SPARE_SCHEMAS:
                from core.tasks import delay_on_commit
                from tenants.tasks import spares_fill_task

                delay_on_commit(spares_fill_task)  # the next sign-up finds a spare again
    except IntegrityError:
        # Two sign-ups raced for the same subdomain; the loser sees the usual message.
        connection.set_schema_to_public()
        if tenant_slug_taken(slug=slug):
            taken = ValidationError("This subdomain is already taken.", code="taken")
            raise ValidationError({"slug": [taken]}) from None
        raise
    finally:
        connection.set_schema_to_public()
    return Provisioned(tenant=tenant, owner_id=owner.pk, url=tenant.url, login_url=login_url)


@transaction.atomic
def tenant_suspend(*, tenant: Tenant, actor: User | None, reason: str, source: str = "console") -> Tenant:
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if not tenant.is_active:
        raise ValidationError("This tenant is already suspended.", code="already_suspended")
    reason = reason.strip()
    if not reason:
        raise ValidationError("Give a reason for the suspension.", code="reason_required")
    tenant.status = Tenant.Status.SUSPENDED
    tenant.suspended_reason = reason[:500]
    tenant.suspended_at = timezone.now()
    tenant.save(update_fields=["status", "suspended_reason", "suspended_at"])
    _audit(actor=actor, actor_label=source, action=StaffAction.Action.TENANT_SUSPENDED,
           tenant=tenant, details={"reason": tenant.suspended_reason})
    return tenant


@transaction.atomic
def tenant_reactivate(*, tenant: Tenant, actor: User | None, source: str = "console") -> Tenant:
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.is_active:
        raise ValidationError("This tenant is already active.", code="already_active")
    previous_reason = tenant.suspended_reason
    tenant.status = Tenant.Status.ACTIVE
    tenant.suspended_reason = ""
    tenant.suspended_at = None
    tenant.save(update_fields=["status", "suspended_reason", "suspended_at"])
    _audit(actor=actor, actor_label=source, action=StaffAction.Action.TENANT_REACTIVATED,
           tenant=tenant, details={"previous_reason": previous_reason})
    return tenant


@transaction.atomic
def tenant_change_plan(*, tenant: Tenant, plan: Plan, actor: User | None, source: str = "console") -> Tenant:
    tenant = Tenant.objects.select_for_update(of=("self",)).select_related("plan").get(pk=tenant.pk)
    if tenant.plan_id == plan.pk:
        raise ValidationError(f"This tenant is already on the {plan.name} plan.", code="same_plan")
    previous = tenant.plan.name if tenant.plan else None
    tenant.plan = plan
    tenant.save(update_fields=["plan"])
    _audit(actor=actor, actor_label=source, action=StaffAction.Action.TENANT_PLAN_CHANGED,
           tenant=tenant, details={"from": previous, "to": plan.name})
    return tenant


def platform_tenant_ensure() -> Tenant:
    """The public schema's own row and the platform domain, so that the platform
    host resolves like any other. Idempotent; follows a change of ``PLATFORM_DOMAIN``."""
    public = get_public_schema_name()
    with transaction.atomic():
        tenant, _ = Tenant.objects.get_or_create(
            schema_name=public, defaults={"name": settings.PLATFORM_NAME, "slug": public}
        )
        domain = Domain.objects.filter(tenant=tenant, is_primary=True).first()
        if domain is None:
            Domain.objects.create(domain=settings.PLATFORM_DOMAIN, tenant=tenant, is_primary=True)
        elif domain.domain != settings.PLATFORM_DOMAIN:
            domain.domain = settings.PLATFORM_DOMAIN
            domain.save(update_fields=["domain"])
    return tenant
