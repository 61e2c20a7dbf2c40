"""Earnings, balances and withdrawals.

A call's money becomes withdrawable at the later of (call start + the tenant's
freezing days) — time for a client to complain — and Stripe's ``available_on``
for the transfer. ``available`` is what may be withdrawn now, never more than
Stripe itself holds as available; ``pending`` is the rest of the net money not
yet paid out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing import signals, stripe_api
from billing.models import ConnectedAccount, Payment, Payout, Refund
from billing.onboarding import PaymentsUnavailable, connected_account
from billing.refunds import billing_settings
from core.exceptions import Conflict
from core.money import Money


@dataclass(frozen=True)
class Earning:
    """One paid booking's money: what the client paid, the fees, what is left for the tenant."""

    payment: Payment
    gross: int
    platform_fee: int
    stripe_fee: int | None
    refunded: int
    net: int
    currency: str
    withdrawable_at: datetime | None

    @property
    def money(self) -> dict[str, Money]:
        return {name: Money(getattr(self, name) or 0, self.currency)
                for name in ("gross", "platform_fee", "stripe_fee", "refunded", "net")}


def _refund_counts(refund: Refund | None) -> bool:
    return refund is not None and refund.status != Refund.Status.FAILED


def earning_of(payment: Payment, *, freeze_days: int) -> Earning:
    refund = getattr(payment, "refund", None)
    refunded = refund.amount if _refund_counts(refund) else 0
    reversed_share = refund.transfer_reversed if _refund_counts(refund) else 0
    start = payment.participant.call.start_at
    withdrawable_at = max(start + timedelta(days=freeze_days), payment.available_on) \
        if payment.available_on else None
    return Earning(payment=payment, gross=payment.amount, platform_fee=payment.application_fee,
                   stripe_fee=payment.stripe_fee, refunded=refunded,
                   net=payment.amount - payment.application_fee - reversed_share, currency=payment.currency,
                   withdrawable_at=withdrawable_at)


def paid_payments(*, consultants: QuerySet | None = None) -> QuerySet[Payment]:
    payments = Payment.objects.filter(status=Payment.Status.PAID).select_related(
        "participant__call", "refund")
    if consultants is not None:
        payments = payments.filter(participant__call__consultant__in=consultants)
    return payments


def earnings(*, consultants: QuerySet | None = None) -> list[Earning]:
    freeze = billing_settings().freeze_days
    return [earning_of(p, freeze_days=freeze) for p in paid_payments(consultants=consultants)]


@dataclass(frozen=True)
class Balance:
    currency: str
    available: Money
    pending: Money


def balance_currency() -> str:
    """The tenant's payout currency: the owner's profile currency."""
    from accounts.models import User
    from consultants.models import Profile

    profile = Profile.objects.filter(user__role=User.Role.OWNER).order_by("user_id").first()
    return profile.currency if profile else "USD"


def _stripe_available(account: ConnectedAccount, currency: str) -> int:
    try:
        data = stripe_api.balance_get(account=account.stripe_account_id)
    except stripe_api.ProviderError:
        return 0
    return sum(int(b["amount"]) for b in data.get("available", []) if b.get("currency", "").upper() == currency)


def balance(*, now: datetime | None = None, currency: str | None = None, ask_stripe: bool = True) -> Balance:
    now = now or timezone.now()
    currency = currency or balance_currency()
    account = connected_account()
    mine = [e for e in earnings() if e.currency == currency]
    released = sum(e.net for e in mine if e.withdrawable_at is not None and e.withdrawable_at <= now)
    total = sum(e.net for e in mine)
    paid_out = Payout.objects.filter(currency=currency).exclude(
        status__in=[Payout.Status.FAILED, Payout.Status.CANCELED]).aggregate(s=Sum("amount"))["s"] or 0
    withdrawable = max(0, released - paid_out)
    if withdrawable and account is not None and ask_stripe:
        withdrawable = min(withdrawable, _stripe_available(account, currency))
    elif account is None:
        withdrawable = 0
    pending = max(0, total - paid_out - withdrawable)
    return Balance(currency=currency, available=Money(withdrawable, currency), pending=Money(pending, currency))



def balance_currencies() -> list[str]:
    """The tenant's payout currency first, then any other currency its clients paid in."""
    main = balance_currency()
    others = Payment.objects.filter(status=Payment.Status.PAID).exclude(currency=main) \
        .values_list("currency", flat=True).distinct().order_by("currency")
    return [main, *others]


def withdraw(*, requested_by, now: datetime | None = None, currency: str | None = None) -> Payout:
    """Pay out what is available now. One at a time per tenant (a row lock), so a
    double click cannot withdraw the same money twice."""
    account = connected_account()
    if account is None or not account.payouts_enabled:
        raise Conflict("Payouts are not set up yet: connect your Stripe account first.")
    with transaction.atomic():
        ConnectedAccount.objects.select_for_update().get(pk=account.pk)
        current = balance(now=now, currency=currency)
        if current.available.amount <= 0:
            raise Conflict("Nothing is available to withdraw yet.")
        key = uuid.uuid4()
        try:
            data = stripe_api.payout_create(
                account=account.stripe_account_id, amount=current.available.amount,
                currency=current.currency, metadata={"schema": connection.schema_name, "request": str(key)},
                idempotency_key=f"payout-{connection.schema_name}-{key}")
        except stripe_api.ProviderError as exc:
            if exc.temporary:
                raise PaymentsUnavailable("Stripe cannot be reached; nothing was withdrawn. Try again soon.") \
                    from exc
            raise Conflict(f"Stripe refused the payout: {exc.message}") from exc
        payout, _ = Payout.objects.update_or_create(stripe_payout_id=data["id"], defaults={
            "amount": stripe_api.from_stripe_amount(data["amount"], current.currency),
            "currency": data["currency"].upper(), "status": data["status"],
            "arrival_date": stripe_api.from_timestamp(data.get("arrival_date")), "requested_by": requested_by})
        # Sent whether or not Stripe's webhook recorded the payout first: this request made it.
        signals.payout_created.send(Payout, payout=payout, requested_by=requested_by)
    return payout


@transaction.atomic
def payout_apply(*, payout: dict) -> Payout:
    """A payout event (ours, or an automatic one Stripe made): keep its latest status."""
    status = payout.get("status") if payout.get("status") in Payout.Status.values else Payout.Status.PENDING
    row, created = Payout.objects.select_for_update().get_or_create(stripe_payout_id=payout["id"], defaults={
        "amount": payout["amount"], "currency": str(payout["currency"]).upper(), "status": status,
        "arrival_date": stripe_api.from_timestamp(payout.get("arrival_date"))})
    # Forward only: pending → in transit → paid, and failed/canceled at any point (a bank can
    # return a payout Stripe had marked paid). A late "in transit" never undoes "paid".
    order = [Payout.Status.PENDING, Payout.Status.IN_TRANSIT, Payout.Status.PAID]
    final = (Payout.Status.FAILED, Payout.Status.CANCELED)
    if not created and row.status not in final and (
            status in final or order.index(status) > order.index(row.status)):
        row.status = status
        row.arrival_date = stripe_api.from_timestamp(payout.get("arrival_date")) or row.arrival_date
        row.save(update_fields=["status", "arrival_date", "updated_at"])
    return row


def payout_history(limit: int = 50) -> list[Payout]:
    return list(Payout.objects.all()[:limit])


def monthly_income(*, consultants: QuerySet | None = None, months: int = 12, now: datetime | None = None,
                   currency: str) -> list[tuple[str, int]]:
    """Net income per month (by payment date), oldest first, ``months`` long, in one currency."""
    now = now or timezone.now()
    keys: list[str] = []
    year, month = now.year, now.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    totals = dict.fromkeys(keys, 0)
    freeze = billing_settings().freeze_days
    for payment in paid_payments(consultants=consultants).filter(currency=currency):
        key = f"{payment.paid_at:%Y-%m}"
        if key in totals:
            totals[key] += earning_of(payment, freeze_days=freeze).net
    return list(totals.items())


def income_of(*, consultants: QuerySet, currency: str, now: datetime | None = None) -> tuple[int, int]:
    """(this month, all time) net income of these consultants' paid calls in ``currency``, in one query."""
    now = now or timezone.now()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    net = F("amount") - F("application_fee")
    kept = ~Q(refund__status=Refund.Status.FAILED)
    this_month = Q(paid_at__gte=month_start)
    totals = Payment.objects.filter(status=Payment.Status.PAID, currency=currency,
                                    participant__call__consultant__in=consultants).aggregate(
        total=Coalesce(Sum(net), 0), month=Coalesce(Sum(net, filter=this_month), 0),
        reversed_total=Coalesce(Sum("refund__transfer_reversed", filter=kept), 0),
        reversed_month=Coalesce(Sum("refund__transfer_reversed", filter=kept & this_month), 0))
    return totals["month"] - totals["reversed_month"], totals["total"] - totals["reversed_total"]
