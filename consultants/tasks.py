from celery import shared_task

from consultants.services import profile_photo_process


@shared_task(bind=True, max_retries=3, default_retry_delay=10)
def profile_photo_process_task(self, profile_id: int) -> None:
    """Runs in the tenant's schema (carried in the task headers)."""
    profile_photo_process(profile_id=profile_id)
