"""Notification work; each task runs in the tenant's schema (carried in the task headers)."""

from celery import shared_task


@shared_task
def outbox_send_batch_task(message_pks: list[int]) -> dict:
    from notifications.outbox import outbox_send_batch

    return outbox_send_batch(message_pks=message_pks)


@shared_task
def outbox_sweep_task() -> int:
    from notifications.outbox import outbox_sweep

    return outbox_sweep()


@shared_task
def reminders_send_task() -> int:
    from notifications.reminders import reminders_send_due

    return reminders_send_due()
