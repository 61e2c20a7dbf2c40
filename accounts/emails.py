"""Account emails (verification, invitation). Inside a tenant they go through
the notifications outbox (recorded in the caller's transaction, sent once after
commit, swept if anything fails); on the platform host, where there is no
outbox, a retrying Celery task sends them after commit."""

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

    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    from django.db import connection

    if connection.schema_name != "public":
        from notifications.outbox import Email, message_queue

        message_queue(Email(kind=template, to=to, subject=subject, text=text, html=html))
        return
    message = {"subject": subject, "from": _from_address(site_name), "to": [to], "text": text, "html": html}
    transaction.on_commit(lambda: email_send_task.delay(message))
