from celery import shared_task
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import schema_context

from core.scheduling import due_work_list

# kind of due work -> the task that does it, in the tenant's schema
DUE_WORK_TASKS = {
    "booking.holds": "booking.tasks.holds_release_task",
    "billing.sweep": "billing.tasks.billing_sweep_task",
    "notifications.outbox": "notifications.tasks.outbox_sweep_task",
    "notifications.reminders": "notifications.tasks.reminders_send_task",
    "video.complete": "video.tasks.calls_complete_task",
    "calendars.sync": "calendars.tasks.calendars_due_task",
}


@shared_task
def due_work_dispatch() -> int:
    """Every minute (Celery beat): queue each tenant's due work in that tenant's schema."""
    return due_work_queue()


def due_work_queue(*, producer=None) -> int:
    """One indexed query over the public ``DueWork`` index, then one task per due tenant and kind.

    ``producer`` is where the tasks are published (the app's broker by default)."""
    due = due_work_list(now=timezone.now())
    for work in due:
        task_path = DUE_WORK_TASKS.get(work.kind)
        if task_path is None:
            continue
        with schema_context(work.schema_name):
            import_string(task_path).apply_async(producer=producer)  # the schema travels in the headers
    return len(due)


def on_commit_in_schema(work) -> None:
    """Run ``work`` once the current transaction commits, in the schema that is current *now*.

    Webhooks change a tenant's rows inside ``tenant_context`` and commit after leaving it;
    what follows the commit must still happen in that tenant's schema. Robust: a failure
    after the commit is logged and the commit stands (the sweeps catch up)."""
    from django.db import connection, transaction

    schema = connection.schema_name

    def run() -> None:
        with schema_context(schema):
            work()

    transaction.on_commit(run, robust=True)


def delay_on_commit(task, *args) -> None:
    """Queue ``task`` once the current transaction commits, in the schema that is current now."""
    on_commit_in_schema(lambda: task.delay(*args))
