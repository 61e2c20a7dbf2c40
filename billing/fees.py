"""The platform's fee on a payment, from the tenant's plan."""

from __future__ import annotations

from django.db import connection

DEFAULT_FEE_BPS = 500


def platform_fee_bps(schema_name: str | None = None) -> int:
    from tenants.models import Tenant

    tenant = Tenant.objects.select_related("plan").filter(
        schema_name=schema_name or connection.schema_name).first()
    if tenant is None or tenant.plan is None:
        return DEFAULT_FEE_BPS
    return tenant.plan.platform_fee_bps


def fee_amount(amount: int, bps: int) -> int:
    """``amount`` × ``bps`` / 10,000 in minor units, rounded half up, with integers only."""
    return (amount * bps + 5_000) // 10_000


def share_of(part: int, of_amount: int, total: int) -> int:
    """``of_amount`` × ``part`` / ``total``, rounded down: the slice of a refund a transfer gives back."""
    return of_amount * part // total if total else 0
