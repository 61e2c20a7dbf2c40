"""Refunds: decided in the transaction that cancels, issued to Stripe afterwards
with an idempotency key, so a refund happens once whatever is retried."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from billing import stripe_api
from billing.fees import share_of
from billing.models import BillingSettings, Payment, Refund
from billing.sweep import sweep_schedule
from booking.models import Call, CallParticipant
from core.exceptions import Conflict
from core.models import settings_row
from core.tasks import delay_on_commit

logger = logging.getLogger(__name__)



def billing_settings() -> BillingSettings:
    return settings_row(BillingSettings)


def refund_amount_for_cancel(*, payment: Payment, by: str, call: Call, now: datetime) -> tuple[int, str | None]:
    """How much goes back when ``by`` cancels, and why (the reason's code)."""
    from booking.services import client_cutoff_passed

    if by == Call.CanceledBy.HOST:
        return payment.amount, Refund.Reason.HOST_CANCELED
    if by == Call.CanceledBy.CLIENT:
        if not client_cutoff_passed(call, now):
            return payment.amount, Refund.Reason.CLIENT_CANCELED
        percent = billing_settings().late_cancel_refund_percent
        return payment.amount * percent // 100, Refund.Reason.CLIENT_CANCELED
    return 0, None


def refund_record(*, payment: Payment, amount: int, reason: str) -> Refund | None:
    """Record the refund (inside the caller's transaction) and issue it once that commits."""
    if amount <= 0 or payment.status != Payment.Status.PAID:
        return None
    existing = Refund.objects.filter(payment=payment).first()
    if existing is not None:
        return existing
    amount = min(amount, payment.amount)
    net = payment.amount - payment.application_fee
    reversed_share = net if amount == payment.amount else share_of(net, amount, payment.amount)
    refund = Refund.objects.create(payment=payment, amount=amount, currency=payment.currency,
                                   transfer_reversed=reversed_share, reason=reason)
    sweep_schedule()
    from billing.tasks import refund_issue_task

    delay_on_commit(refund_issue_task, refund.pk)
    return refund


def refund_for_cancel(*, participant: CallParticipant, by: str, now: datetime) -> Refund | None:
    payment = Payment.objects.select_for_update().filter(participant=participant).first()
    if payment is None:
        return None
    if payment.status == Payment.Status.OPEN:
        from billing.tasks import session_close_task

        delay_on_commit(session_close_task, payment.pk)
        return None
    amount, reason = refund_amount_for_cancel(payment=payment, by=by, call=participant.call, now=now)
    return refund_record(payment=payment, amount=amount, reason=reason) if reason else None


def refund_issue(*, refund_id: int) -> Refund:
    """Send the refund to Stripe. The key names the refund, so a retry never refunds twice."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)
        if refund.status != Refund.Status.PENDING or refund.stripe_refund_id:
            return refund
        refund.attempts += 1
        refund.save(update_fields=["attempts"])
    payment = refund.payment
    try:
        data = stripe_api.refund_create(
            payment_intent=payment.payment_intent_id, amount=refund.amount, currency=refund.currency,
            metadata={"schema": connection.schema_name, "refund": str(refund.public_id),
                      "participant": str(payment.participant.public_id)},
            idempotency_key=f"refund-{connection.schema_name}-{refund.public_id}")
    except stripe_api.ProviderError as exc:
        if exc.temporary:
            raise  # retried by the task, and by the sweep after that
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            status=Refund.Status.FAILED, failure_message=exc.message[:500])
        logger.error("Refund %s refused by Stripe: %s", refund.public_id, exc.message)
        refund.refresh_from_db()
        return refund
    status = {"succeeded": Refund.Status.SUCCEEDED, "failed": Refund.Status.FAILED,
              "canceled": Refund.Status.FAILED}.get(data.get("status"), Refund.Status.PENDING)
    Refund.objects.filter(pk=refund.pk).update(
        stripe_refund_id=data["id"], status=status,
        succeeded_at=timezone.now() if status == Refund.Status.SUCCEEDED else None)
    refund.refresh_from_db()
    return refund


@transaction.atomic
def refunds_from_charge(*, charge: dict) -> int:
    """``charge.refunded``: what Stripe reports refunded confirms our pending refunds."""
    payments = Payment.objects.filter(payment_intent_id=charge.get("payment_intent") or "-")
    updated = Refund.objects.filter(payment__in=payments, status=Refund.Status.PENDING).exclude(
        stripe_refund_id="").update(status=Refund.Status.SUCCEEDED, succeeded_at=timezone.now())
    refunds = (charge.get("refunds") or {}).get("data") or []
    for item in refunds:
        if item.get("status") == "succeeded":
            updated += Refund.objects.filter(stripe_refund_id=item.get("id"), status=Refund.Status.PENDING) \
                .update(status=Refund.Status.SUCCEEDED, succeeded_at=timezone.now())
    return updated


@transaction.atomic
def refund_update(*, refund_data: dict) -> Refund | None:
    """``refund.updated`` / ``charge.refund.updated``: Stripe's own word on one refund, matched by
    the refund id we put in its metadata (or Stripe's id)."""
    ours = (refund_data.get("metadata") or {}).get("refund")
    refunds = Refund.objects.select_for_update()
    refund = (refunds.filter(public_id=ours).first() if ours else None) or \
        refunds.filter(stripe_refund_id=refund_data.get("id") or "-").first()
    if refund is None:
        return None
    status = {"succeeded": Refund.Status.SUCCEEDED, "failed": Refund.Status.FAILED,
              "canceled": Refund.Status.FAILED}.get(refund_data.get("status"))
    refund.stripe_refund_id = refund.stripe_refund_id or refund_data.get("id") or ""
    if status is not None and refund.status != status:
        refund.status = status
        refund.succeeded_at = timezone.now() if status == Refund.Status.SUCCEEDED else None
        if status == Refund.Status.FAILED:
            refund.failure_message = (refund_data.get("failure_reason") or "Stripe could not refund.")[:500]
            logger.error("Refund %s failed at Stripe: %s", refund.public_id, refund.failure_message)
    refund.save()
    return refund


@transaction.atomic
def refund_for_attendance(*, call: Call, host_joined: bool, joined_participant_ids: set[int],
                          now: datetime | None = None) -> list[Refund]:
    """After a call ended, from its attendance: the host never came → everyone is refunded
    ("Host didn't join the call"); nobody at all came → the same, as "Nobody joined the call".
    Clients who did not come while the host did are not refunded (they missed their own call).
    ``now`` is the caller's clock (the completion's), the wall clock by default."""
    if call.end_at > (now or timezone.now()):
        raise Conflict("Attendance is settled once the call is over.")
    if host_joined:
        return []
    reason = Refund.Reason.NOBODY_JOINED if not joined_participant_ids else Refund.Reason.HOST_NO_SHOW
    refunds = []
    for payment in Payment.objects.select_for_update().filter(
            participant__call=call, status=Payment.Status.PAID,
            participant__status=CallParticipant.Status.CONFIRMED):
        refund = refund_record(payment=payment, amount=payment.amount, reason=reason)
        if refund is not None:
            refunds.append(refund)
    return refunds
