import logging
import smtplib

from celery import shared_task
from django.core.mail import EmailMultiAlternatives

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=8, default_retry_delay=30, retry_backoff=True)
def email_send_task(self, message: dict) -> None:
    """Send one email; an SMTP outage is retried with back-off instead of failing the request."""
    email = EmailMultiAlternatives(subject=message["subject"], body=message["text"],
                                   from_email=message["from"], to=message["to"])
    if message.get("html"):
        email.attach_alternative(message["html"], "text/html")
    try:
        email.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("Sending %r to %s failed, will retry: %s", message["subject"], message["to"], exc)
        raise self.retry(exc=exc) from exc
