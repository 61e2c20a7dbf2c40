"""Account emails (verification, invitation). Sent with Django's mail API over
SMTP by a Celery task queued once the transaction that caused them commits, so
a slow or unreachable mail server never fails the request; the task retries."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string


def _from_address(site_name: str) -> str:
    return f"{site_name} <{settings.DEFAULT_FROM_EMAIL}>"


def email_send_on_commit(*, to: str, subject: str, template: str, context: dict, site_name: str) -> None:
    """Render now (while the tenant's data is at hand), send after commit."""
    context = {**context, "site_name": site_name}
    from accounts.tasks import email_send_task

    message = {
        "subject": subject, "from": _from_address(site_name), "to": [to],
        "text": render_to_string(f"emails/{template}.txt", context),
        "html": render_to_string(f"emails/{template}.html", context),
    }
    transaction.on_commit(lambda: email_send_task.delay(message))
