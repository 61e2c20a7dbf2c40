"""Billing's background work. Each task runs in the tenant's schema (carried in
the task headers) and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from billing import stripe_api


@shared_task(autoretry_for=(stripe_api.ProviderError,), retry_backoff=5, retry_backoff_max=600, max_retries=8)
def refund_issue_task(refund_id: int) -> str:
    from billing.refunds import refund_issue

    return refund_issue(refund_id=refund_id).status


@shared_task
def billing_sweep_task() -> int:
    from billing.sweep import billing_sweep

    return billing_sweep()


@shared_task(autoretry_for=(stripe_api.ProviderError,), retry_backoff=5, retry_backoff_max=600, max_retries=8)
def session_close_task(payment_id: int) -> None:
    from billing.payments import session_close

    session_close(payment_id=payment_id)


@shared_task(autoretry_for=(stripe_api.ProviderError,), retry_backoff=5, retry_backoff_max=600, max_retries=8)
def payment_settle_task(payment_id: int) -> None:
    from billing.payments import payment_settle

    payment_settle(payment_id=payment_id)
