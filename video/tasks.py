"""Video work; each task runs in the tenant's schema (carried in the task headers)."""

from celery import shared_task


@shared_task
def calls_complete_task() -> int:
    from video.completion import calls_complete_due

    return calls_complete_due()
