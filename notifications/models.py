"""What a tenant tells people: the outbox of emails (a transactional outbox:
rows are written in the same transaction as the change they report) and the
reminders scheduled for each call."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


def default_reminder_offsets() -> list[int]:
    return [24 * 60, 60]


class NotificationSettings(models.Model):
    """The tenant's notification rules (one row)."""

    reminder_offsets_minutes = ArrayField(
        models.PositiveIntegerField(), default=default_reminder_offsets, blank=True, size=5,
        help_text="Reminders go out this many minutes before each call (none: no reminders).")

    def __str__(self) -> str:
        return ", ".join(str(m) for m in self.reminder_offsets_minutes)


class OutboxMessage(models.Model):
    """One email to one recipient. Sent by a task after the transaction that queued it commits,
    retried with back-off, swept periodically: nothing queued is lost."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=40)
    call = models.ForeignKey("booking.Call", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="messages")
    to_email = models.EmailField()
    from_email = models.CharField(max_length=300)
    reply_to = models.CharField(max_length=300, blank=True)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    # [{"filename", "content_type", "content"}] — text attachments (calendar invites).
    attachments = models.JSONField(default=list, blank=True)
    # The same Message-ID on every attempt, so a retried send is recognisably the same message.
    message_id = models.CharField(max_length=300, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_status_due")]
        constraints = [models.CheckConstraint(condition=Q(status="sent") | Q(sent_at__isnull=True),
                                              name="outbox_sent_at_only_when_sent")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email} ({self.status})"


class Reminder(models.Model):
    """One reminder of a call (to every participant and the host), ``offset_minutes`` before it."""

    call = models.ForeignKey("booking.Call", on_delete=models.CASCADE, related_name="reminders")
    offset_minutes = models.PositiveIntegerField()
    due_at = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["call", "offset_minutes"], name="reminder_once_per_offset")]

    def __str__(self) -> str:
        return f"{self.offset_minutes} min before call {self.call_id}"
