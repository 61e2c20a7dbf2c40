"""Connecting the tenant's Stripe Express account (Connect onboarding)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

from billing import stripe_api
from billing.models import ConnectedAccount
from core.exceptions import ApplicationError

# What Stripe's ``requirements.currently_due`` entries mean to a person.
REQUIREMENT_LABELS = {
    "business_profile.url": "your business website",
    "business_profile.mcc": "your type of business",
    "external_account": "a bank account for payouts",
    "individual.first_name": "your first name",
    "individual.last_name": "your last name",
    "individual.dob.day": "your date of birth",
    "individual.address.line1": "your address",
    "individual.id_number": "your ID number",
    "tos_acceptance.date": "acceptance of Stripe's terms",
    "tos_acceptance.ip": "acceptance of Stripe's terms",
}


class PaymentsUnavailable(ApplicationError):
    code = "payments_unavailable"
    http_status = 503


@dataclass(frozen=True)
class OnboardingState:
    account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    missing: list[str]
    onboarding_url: str | None = None

    @property
    def ready(self) -> bool:
        return self.charges_enabled and self.payouts_enabled


def connected_account() -> ConnectedAccount | None:
    return ConnectedAccount.objects.first()


def payments_ready() -> bool:
    account = connected_account()
    return bool(account and account.ready)


def requirements_missing(account: ConnectedAccount | None) -> list[str]:
    if account is None:
        return ["a connected Stripe account"]
    labels: list[str] = []
    for item in account.requirements_due or []:
        label = REQUIREMENT_LABELS.get(item, item.replace("_", " ").replace(".", ": "))
        if label not in labels:
            labels.append(label)
    if not labels and not account.ready:
        labels.append("Stripe's review of your details" if account.details_submitted else "your details")
    return labels


def onboarding_state(*, onboarding_url: str | None = None) -> OnboardingState:
    account = connected_account()
    return OnboardingState(
        account_id=account.stripe_account_id if account else None,
        charges_enabled=bool(account and account.charges_enabled),
        payouts_enabled=bool(account and account.payouts_enabled),
        missing=[] if account and account.ready else requirements_missing(account),
        onboarding_url=onboarding_url,
    )


def _provider_failed(exc: stripe_api.ProviderError) -> PaymentsUnavailable:
    return PaymentsUnavailable(f"Stripe could not be reached or refused the request: {exc.message}")


def account_ensure(*, owner_email: str) -> ConnectedAccount:
    """The tenant's connected account, created once.

    The tenant's row is locked while Stripe creates the account, so a double click
    (or two owners at once) queues up and the second finds the first one's account."""
    import uuid

    from tenants.models import Tenant

    account = connected_account()
    if account is not None:
        return account
    schema = connection.schema_name
    with transaction.atomic():
        Tenant.objects.select_for_update().filter(schema_name=schema).first()
        account = connected_account()
        if account is not None:
            return account
        try:
            data = stripe_api.account_create(email=owner_email, country=None, metadata={"schema": schema},
                                             idempotency_key=f"connect-account-{schema}-{uuid.uuid4()}")
        except stripe_api.ProviderError as exc:
            raise _provider_failed(exc) from exc
        account = ConnectedAccount.objects.create(
            stripe_account_id=data["id"], charges_enabled=bool(data.get("charges_enabled")),
            payouts_enabled=bool(data.get("payouts_enabled")),
            details_submitted=bool(data.get("details_submitted")),
            requirements_due=(data.get("requirements") or {}).get("currently_due") or [])
        Tenant.objects.filter(schema_name=schema).update(stripe_account_id=data["id"])
    return account


def onboarding_link(*, owner_email: str, return_url: str, refresh_url: str) -> OnboardingState:
    """A fresh onboarding link for the tenant's account (created on first use)."""
    account = account_ensure(owner_email=owner_email)
    try:
        link = stripe_api.account_link_create(account_id=account.stripe_account_id, refresh_url=refresh_url,
                                              return_url=return_url)
    except stripe_api.ProviderError as exc:
        raise _provider_failed(exc) from exc
    return onboarding_state(onboarding_url=link["url"])


@transaction.atomic
def account_state_apply(*, account_data: dict, event_created: int) -> bool:
    """Apply an ``account.updated`` state unless a newer one was applied already."""
    account = ConnectedAccount.objects.select_for_update().filter(stripe_account_id=account_data.get("id")).first()
    if account is None or event_created < account.state_at:
        return False
    account.charges_enabled = bool(account_data.get("charges_enabled"))
    account.payouts_enabled = bool(account_data.get("payouts_enabled"))
    account.details_submitted = bool(account_data.get("details_submitted"))
    account.requirements_due = (account_data.get("requirements") or {}).get("currently_due") or []
    account.state_at = event_created
    account.save()
    return True


def account_refresh() -> ConnectedAccount | None:
    """Ask Stripe for the account's state (when the owner comes back from onboarding)."""
    account = connected_account()
    if account is None:
        return None
    try:
        data = stripe_api.account_get(account.stripe_account_id)
    except stripe_api.ProviderError:
        return account
    import time

    account_state_apply(account_data=data, event_created=int(time.time()))
    account.refresh_from_db()
    return account
