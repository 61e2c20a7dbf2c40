"""Money of a tenant: its Stripe Connect account, the payment of each paid
booking, refunds and payouts. Amounts are integers in the currency's minor unit
(cents, or yen for JPY), never floats."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from booking.models import CallParticipant
from core.money import Money


class BillingSettings(models.Model):
    """The tenant's money rules (one row)."""

    freeze_days = models.PositiveIntegerField(
        default=5, help_text="Days after a call starts before its money can be withdrawn (time for complaints).")
    late_cancel_refund_percent = models.PositiveSmallIntegerField(
        default=0, help_text="Share refunded when a client cancels after the cut-off: 0 means no refund.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(freeze_days__lte=90), name="billing_freeze_at_most_90_days"),
            models.CheckConstraint(condition=Q(late_cancel_refund_percent__lte=100),
                                   name="billing_late_refund_percent_0_100"),
        ]

    def __str__(self) -> str:
        return f"freeze {self.freeze_days} d, late refund {self.late_cancel_refund_percent} %"


class ConnectedAccount(models.Model):
    """The tenant's Stripe Connect (Express) account: where its clients' money goes."""

    stripe_account_id = models.CharField(max_length=64, unique=True)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    requirements_due = models.JSONField(default=list, blank=True)
    # ``created`` of the newest account event applied: an older one arriving late changes nothing.
    state_at = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.stripe_account_id

    @property
    def ready(self) -> bool:
        return self.charges_enabled and self.payouts_enabled


class Payment(models.Model):
    """The Checkout Session of one paid booking and what became of the money."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for payment"
        PAID = "paid", "Paid"
        EXPIRED = "expired", "Not paid"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    participant = models.OneToOneField(CallParticipant, on_delete=models.PROTECT, related_name="payment")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    checkout_session_id = models.CharField(max_length=255, unique=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    amount = models.BigIntegerField(help_text="Gross: what the client pays.")
    currency = models.CharField(max_length=3)
    application_fee = models.BigIntegerField(help_text="The platform's fee (the tenant's plan).")
    stripe_fee = models.BigIntegerField(null=True, blank=True, help_text="Stripe's processing fee, when known.")
    # Stripe's date from which the transferred money is available on the connected account.
    available_on = models.DateTimeField(null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(application_fee__gte=0, application_fee__lte=F("amount")),
                                   name="payment_fee_within_amount"),
            models.CheckConstraint(condition=Q(status="paid") | Q(paid_at__isnull=True),
                                   name="payment_paid_at_only_when_paid"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.status})"

    @property
    def gross(self) -> Money:
        return Money(self.amount, self.currency)



class Refund(models.Model):
    """Money given back for one paid booking: at most one per payment, issued once."""

    class Reason(models.TextChoices):
        HOST_CANCELED = "host_canceled", "Host canceled the call"
        CLIENT_CANCELED = "client_canceled", "Client canceled the call"
        HOST_NO_SHOW = "host_no_show", "Host didn't join the call"
        NOBODY_JOINED = "nobody_joined", "Nobody joined the call"
        PAID_TOO_LATE = "paid_too_late", "Payment arrived after the booking was released"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="refund")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # What the tenant gives back: the refund's share of the transfer (the platform returns its fee share).
    transfer_reversed = models.BigIntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=Q(transfer_reversed__gte=0, transfer_reversed__lte=F("amount")),
                                   name="refund_reversal_within_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.reason})"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


class Payout(models.Model):
    """Money sent from the connected account to the tenant's bank."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_TRANSIT = "in_transit", "In transit"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    stripe_payout_id = models.CharField(max_length=255, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=Status.choices)
    arrival_date = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.status})"

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)
