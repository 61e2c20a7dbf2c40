from celery import shared_task


@shared_task
def spares_fill_task() -> int:
    """After a sign-up took a spare schema: clone the next one (public schema)."""
    from tenants.spares import spares_fill

    return spares_fill()
