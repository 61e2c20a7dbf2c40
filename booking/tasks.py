from celery import shared_task

from booking.services import holds_release_and_reschedule


@shared_task
def holds_release_task() -> int:
    """Runs in the tenant's schema (carried in the task headers)."""
    return holds_release_and_reschedule()
