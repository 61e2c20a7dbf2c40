"""The safety net: work that a lost task or an unreachable Stripe left undone
(refunds not yet issued, payments whose availability date is unknown) is
retried by the periodic due-work dispatcher until nothing is left."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from billing import stripe_api

logger = logging.getLogger(__name__)

SWEEP_WORK = "billing.sweep"
RETRY_AFTER = timedelta(minutes=5)


def sweep_schedule(*, after: timedelta = RETRY_AFTER) -> None:
    from core.scheduling import due_work_schedule

    due_work_schedule(kind=SWEEP_WORK, due_at=timezone.now() + after)


def billing_sweep(*, now: datetime | None = None) -> int:
    """Issue waiting refunds and settle unsettled payments; then say when to look again."""
    from billing.models import Payment, Refund
    from billing.payments import payment_settle
    from billing.refunds import refund_issue
    from core.scheduling import due_work_recompute

    now = now or timezone.now()
    done = 0
    try:
        for refund_id in Refund.objects.filter(status=Refund.Status.PENDING, stripe_refund_id="") \
                .values_list("pk", flat=True):
            refund_issue(refund_id=refund_id)
            done += 1
        for payment_id in Payment.objects.filter(status=Payment.Status.PAID, available_on__isnull=True) \
                .values_list("pk", flat=True):
            payment_settle(payment_id=payment_id)
            done += 1
    except stripe_api.ProviderError as exc:
        logger.warning("Billing sweep stopped, Stripe is not answering: %s", exc.message)
    def next_due():
        left = Refund.objects.filter(status=Refund.Status.PENDING, stripe_refund_id="").exists() or \
            Payment.objects.filter(status=Payment.Status.PAID, available_on__isnull=True).exists()
        return now + RETRY_AFTER if left else None

    due_work_recompute(kind=SWEEP_WORK, next_due=next_due)
    return done
