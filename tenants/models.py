from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django_tenants.models import DomainMixin, TenantMixin


class Plan(models.Model):
    """What a tenant pays the platform: a fee on each payment and usage limits."""

    name = models.CharField(max_length=60, unique=True)
    platform_fee_bps = models.PositiveIntegerField(
        help_text="Platform fee on each payment, in basis points (100 = 1%)."
    )
    max_consultants = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty means unlimited."
    )
    is_default = models.BooleanField(default=False, help_text="Given to new sign-ups.")
    white_label = models.BooleanField(
        default=False, help_text="Tenants on this plan may hide “Powered by Consultio”.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-platform_fee_bps", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(platform_fee_bps__lte=10_000), name="plan_fee_at_most_100_percent"
            ),
            models.CheckConstraint(
                condition=Q(max_consultants__isnull=True) | Q(max_consultants__gte=1),
                name="plan_max_consultants_positive",
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="plan_single_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def fee_percent(self) -> str:
        return f"{self.platform_fee_bps / 100:g}%"


class Tenant(TenantMixin):
    """A consultant or an agency: one PostgreSQL schema and one subdomain.

    The public schema has a row of its own (slug ``public``) so that the platform
    host resolves through the same middleware; it is never shown as a tenant.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=40, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="tenants")
    owner_name = models.CharField(max_length=150, blank=True)
    owner_email = models.EmailField(blank=True)
    suspended_reason = models.CharField(max_length=500, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    # The tenant's Stripe Connect account: routes account and payout events to this schema.
    stripe_account_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Provisioning clones the template schema itself, inside its own transaction.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "suspended"]), name="tenant_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_public(self) -> bool:
        return self.schema_name == "public"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @cached_property
    def primary_domain(self) -> str:
        domain = next((d for d in self.domains.all() if d.is_primary), None)
        return domain.domain if domain else ""

    @property
    def url(self) -> str:
        from core.urls import host_url

        return host_url(self.primary_domain)


class Domain(DomainMixin):
    """A host name a tenant is served at: its platform subdomain, or a custom domain the owner
    added, which routes to the tenant only once verified."""

    class Kind(models.TextChoices):
        PLATFORM = "platform", "Platform subdomain"
        CUSTOM = "custom", "Custom domain"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for verification"
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Verification failed"

    # Unique only among verified domains (below): several sites may be verifying the same name
    # at once, and the first to prove control gets it (tenants/domains.py).
    domain = models.CharField(max_length=253, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PLATFORM)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VERIFIED)
    verification_token = models.CharField(max_length=64, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain"], condition=Q(status="verified"), name="domain_served_once"),
            models.UniqueConstraint(fields=["tenant", "domain"], name="domain_once_per_tenant"),
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(is_primary=True), name="domain_one_primary_per_tenant"
            ),
            models.CheckConstraint(condition=Q(kind="custom") | Q(status="verified"),
                                   name="domain_platform_always_verified"),
            models.CheckConstraint(condition=Q(is_primary=False) | Q(status="verified"),
                                   name="domain_primary_is_verified"),
        ]

    def __str__(self) -> str:
        return self.domain


class DomainClaim(models.Model):
    """When a site first added a custom domain name. Kept when the site removes the domain again,
    so removing and re-adding a claim it cannot verify does not restart the time other sites are
    held off (tenants/domains.py); dropped for everyone once someone verifies the name."""

    domain = models.CharField(max_length=253)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domain_claims")
    first_claimed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["domain", "tenant"], name="domain_claim_once_per_tenant")]

    def __str__(self) -> str:
        return self.domain


class StaffAction(models.Model):
    """Audit log of everything done to tenants by platform staff or operators."""

    class Action(models.TextChoices):
        TENANT_CREATED = "tenant.created", "Created tenant"
        TENANT_SUSPENDED = "tenant.suspended", "Suspended tenant"
        TENANT_REACTIVATED = "tenant.reactivated", "Reactivated tenant"
        TENANT_PLAN_CHANGED = "tenant.plan_changed", "Changed plan"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Kept as text too: who acted stays readable even for the CLI or a sign-up.
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=40, choices=Action.choices)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, null=True, blank=True, related_name="staff_actions")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    # The order people read details in ("from: Free; to: Pro"); jsonb stores shorter keys first.
    DETAIL_ORDER = ("from", "to")

    @property
    def details_in_order(self) -> list[tuple[str, object]]:
        rank = {key: index for index, key in enumerate(self.DETAIL_ORDER)}
        return sorted(self.details.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


class SpareSchema(models.Model):
    """A schema cloned from the template ahead of time. A sign-up renames one, which is instant,
    instead of cloning while the new owner waits; a worker clones the next (``tenants.spares``)."""

    schema_name = models.CharField(max_length=63, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.schema_name
