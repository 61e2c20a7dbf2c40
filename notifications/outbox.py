"""The transactional outbox: ``message_queue`` records an email in the caller's
transaction; ``outbox_send`` delivers it over SMTP once; ``outbox_sweep`` retries
what is due (SMTP or Redis was down, a worker died) with back-off.

Sending is at-least-once: a message is claimed (``sending``, with a lease) and
committed before SMTP is spoken, so two workers never send it at the same time;
if a worker dies after the SMTP server accepted the message but before it was
marked ``sent``, the lease runs out and the sweep sends it again — with the same
``Message-ID``, which receiving mail systems use to drop the duplicate."""

from __future__ import annotations

import contextlib
import logging
import smtplib
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid

from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.utils import timezone

from notifications.models import OutboxMessage

logger = logging.getLogger(__name__)

OUTBOX_WORK = "notifications.outbox"
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 10
SAFETY_NET = timedelta(minutes=2)
SWEEP_BATCH = 200


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Email:
    kind: str
    to: str
    subject: str
    text: str
    html: str = ""
    reply_to: str = ""
    attachments: list[dict] = field(default_factory=list)  # {"filename", "content_type", "content"}


def tenant_sender() -> tuple[str, str]:
    """(From address, the domain for Message-IDs): the tenant's name at its own no-reply address."""
    from email.utils import formataddr

    from django.conf import settings

    tenant = current_tenant()
    if tenant is None:
        return settings.DEFAULT_FROM_EMAIL, settings.PLATFORM_DOMAIN
    from tenants.domains import sender_domain

    domain = sender_domain(tenant)  # the platform's mail set-up covers it; a custom domain's does not
    return formataddr((tenant.name, f"no-reply@{domain}")), domain


def current_tenant():
    """The tenant whose schema is in use (a real row, also inside Celery tasks), or None on the platform."""
    from tenants.models import Tenant

    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant):
        return None if tenant.schema_name == "public" else tenant
    schema = connection.schema_name
    if schema == "public":
        return None
    # Inside tasks the connection only knows the schema: look the tenant up once per task burst.
    cached = _tenants.get(schema)
    if cached is None or time.monotonic() - cached[0] > TENANT_CACHE_SECONDS:
        cached = (time.monotonic(), Tenant.objects.filter(schema_name=schema).first())
        _tenants[schema] = cached
    return cached[1]


_tenants: dict[str, tuple[float, object]] = {}
TENANT_CACHE_SECONDS = 30


def message_queue(email: Email, *, call=None, now: datetime | None = None) -> OutboxMessage:
    """Record ``email`` in the current transaction; it is sent once that commits."""
    from core.scheduling import due_work_schedule

    now = now or timezone.now()
    sender, domain = tenant_sender()
    message = OutboxMessage.objects.create(
        kind=email.kind, call=call, to_email=email.to, from_email=sender, reply_to=email.reply_to,
        subject=email.subject[:300], text=email.text, html=email.html, attachments=email.attachments,
        message_id=make_msgid(domain=domain), next_attempt_at=now)
    # If the task is lost (Redis down at commit), the periodic sweep sends it a little later.
    due_work_schedule(kind=OUTBOX_WORK, due_at=now + SAFETY_NET)
    _send_after_commit(message.pk)
    return message


_pending = threading.local()


def _send_after_commit(message_pk: int) -> None:
    """Everything a transaction queues goes to one task (one SMTP connection) once it commits.

    Each message registers a callback; the first to run takes every message waiting in this
    thread and schema, the others find nothing left. Ids left over by a rolled-back transaction
    are harmless: their rows do not exist, so sending skips them."""
    from django_tenants.utils import schema_context

    from notifications.tasks import outbox_send_batch_task

    schema = connection.schema_name
    waiting = getattr(_pending, "by_schema", None)
    if waiting is None:
        waiting = _pending.by_schema = {}
    waiting.setdefault(schema, []).append(message_pk)

    def flush() -> None:
        pks = waiting.pop(schema, [])
        if pks:
            with schema_context(schema):
                outbox_send_batch_task.delay(pks)

    # robust: if the broker is down the commit still stands (and is logged); the sweep sends later.
    transaction.on_commit(flush, robust=True)


def _claim(message_pk: int, now: datetime) -> OutboxMessage | None:
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=message_pk).first()
        if message is None or message.status in (OutboxMessage.Status.SENT, OutboxMessage.Status.FAILED):
            return None
        if message.status == OutboxMessage.Status.SENDING and message.lease_until and message.lease_until > now:
            return None  # another worker has it
        message.status, message.lease_until = OutboxMessage.Status.SENDING, now + LEASE
        message.attempts += 1
        message.save(update_fields=["status", "lease_until", "attempts"])
    return message


def _smtp_send(message: OutboxMessage, smtp=None) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.text, from_email=message.from_email, to=[message.to_email],
        reply_to=[message.reply_to] if message.reply_to else None,
        headers={"Message-ID": message.message_id}, connection=smtp)
    if message.html:
        email.attach_alternative(message.html, "text/html")
    for attachment in message.attachments:
        email.attach(attachment["filename"], attachment["content"], attachment["content_type"])
    email.send(fail_silently=False)


def outbox_send_batch(*, message_pks: list[int]) -> dict[str, int]:
    """Send these messages over one SMTP connection (what one transaction queued)."""
    from django.core.mail import get_connection

    outcomes: dict[str, int] = {}
    smtp = get_connection()
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.open()  # held open for the batch; if this fails, each message fails and backs off
    try:
        for pk in message_pks:
            outcome = outbox_send(message_pk=pk, smtp=smtp)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.close()
    return outcomes


def outbox_send(*, message_pk: int, now: datetime | None = None, smtp=None) -> str:
    """Send one message if nobody else is; answers what became of it."""
    now = now or timezone.now()
    message = _claim(message_pk, now)
    if message is None:
        return "skipped"
    mine = OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.SENDING,
                                        lease_until=message.lease_until)
    try:
        _smtp_send(message, smtp)
    except (smtplib.SMTPException, OSError) as exc:
        if smtp is not None:  # a broken connection is reopened for the next message
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.close()
        failed = message.attempts >= MAX_ATTEMPTS
        later = max(now, timezone.now()) + backoff(message.attempts)
        mine.update(status=OutboxMessage.Status.FAILED if failed else OutboxMessage.Status.QUEUED,
                    lease_until=None, next_attempt_at=later, last_error=str(exc)[:500])
        (logger.error if failed else logger.warning)(
            "Sending %s to %s failed (attempt %s): %s", message.kind, message.to_email, message.attempts, exc)
        from core.scheduling import due_work_schedule

        if not failed:
            due_work_schedule(kind=OUTBOX_WORK, due_at=later)
        return "failed" if failed else "retry"
    except Exception as exc:  # a message that can never be sent (e.g. a header Django refuses)
        mine.update(status=OutboxMessage.Status.FAILED, lease_until=None, last_error=f"{exc!r}"[:500])
        logger.exception("Message %s to %s cannot be sent", message.public_id, message.to_email)
        return "failed"
    mine.update(status=OutboxMessage.Status.SENT, sent_at=timezone.now(), lease_until=None, last_error="")
    return "sent"


def outbox_sweep(*, now: datetime | None = None) -> int:
    """Send every message that is due (waiting, or claimed by a worker whose lease ran out)."""
    from django.db.models import Min, Q

    from core.scheduling import due_work_recompute

    now = now or timezone.now()
    started = timezone.now()
    due = (Q(status=OutboxMessage.Status.QUEUED, next_attempt_at__lte=now)
           | Q(status=OutboxMessage.Status.SENDING, lease_until__lte=now))
    sent = 0
    for pk in OutboxMessage.objects.filter(due).order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH]:
        # Fresh time for each claim: a slow batch never hands out leases that are already over.
        sent += outbox_send(message_pk=pk, now=now + (timezone.now() - started)) == "sent"

    def next_due():
        upcoming = OutboxMessage.objects.filter(
            status__in=[OutboxMessage.Status.QUEUED, OutboxMessage.Status.SENDING]).aggregate(
            queued=Min("next_attempt_at", filter=Q(status=OutboxMessage.Status.QUEUED)),
            leased=Min("lease_until", filter=Q(status=OutboxMessage.Status.SENDING)))
        soonest = min([t for t in (upcoming["queued"], upcoming["leased"]) if t is not None], default=None)
        return max(soonest, now + timedelta(seconds=30)) if soonest else None

    due_work_recompute(kind=OUTBOX_WORK, next_due=next_due)
    return sent
