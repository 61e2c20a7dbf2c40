"""Account emails (verification, invitation). Sent with Django's mail API over
SMTP once the transaction that caused them commits."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string


def _from_address(site_name: str) -> str:
    return f"{site_name} <{settings.DEFAULT_FROM_EMAIL}>"


def email_send_on_commit(*, to: str, subject: str, template: str, context: dict, site_name: str) -> None:
    """Render now (while the tenant's data is at hand), send after commit."""
    context = {**context, "site_name": site_name}
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=_from_address(site_name), to=[to])
    message.attach_alternative(html, "text/html")
    transaction.on_commit(lambda: message.send(fail_silently=False))
