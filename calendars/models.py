"""A consultant's outside calendars: connections (an OAuth grant or an ICS address), their
calendars, the busy events mirrored from them, the push channels that tell us about changes, the
events we write for booked calls, and the private feed of the consultant's own calls."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


class Provider(models.TextChoices):
    GOOGLE = "google", "Google Calendar"
    MICROSOFT = "microsoft", "Microsoft Outlook"
    ICS = "ics", "ICS address"


OAUTH_PROVIDERS = (Provider.GOOGLE, Provider.MICROSOFT)


class CalendarConnection(models.Model):
    """One account a consultant connected (or one ICS address they added)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"

    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                   related_name="calendar_connections")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    account_email = models.EmailField(blank=True)
    # The provider's id of the account (Google "sub", Microsoft user id): emails can change.
    account_id = models.CharField(max_length=200, blank=True)
    ics_url = models.URLField(max_length=2000, blank=True)
    # Encrypted at rest (calendars/crypto.py).
    access_token = models.TextField(blank=True)
    refresh_token = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scope = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    failure_reason = models.CharField(max_length=300, blank=True)
    # The consultant is told once per failure, not at every sync attempt.
    failure_notified_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # When the next poll (or retry after a temporary failure) is due.
    next_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # An ICS address answers with an ETag / Last-Modified: unchanged feeds are not parsed again.
    ics_etag = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consultant", "provider", "account_id"], condition=~Q(provider="ics"),
                                    name="calendar_connection_account_once"),
            models.UniqueConstraint(fields=["consultant", "ics_url"], condition=Q(provider="ics"),
                                    name="calendar_connection_ics_once"),
            models.CheckConstraint(condition=~Q(provider="ics") | ~Q(ics_url=""), name="calendar_ics_has_url"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.account_email or self.ics_url}"

    @property
    def is_oauth(self) -> bool:
        return self.provider in OAUTH_PROVIDERS


class ExternalCalendar(models.Model):
    """A calendar of a connection. Readable ones block slots; at most one per consultant is
    writable: booked calls are written there."""

    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="calendars")
    # Denormalised from the connection so that "one writable per consultant" is a constraint.
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider_calendar_id = models.CharField(max_length=500)
    name = models.CharField(max_length=300)
    primary = models.BooleanField(default=False)
    can_write = models.BooleanField(default=True)
    readable = models.BooleanField(default=False)
    writable = models.BooleanField(default=False)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Google's nextSyncToken or Microsoft's @odata.deltaLink; empty: the next sync is a full one.
    sync_token = models.TextField(blank=True)
    # Events are mirrored up to here (the consultant's longest booking horizon and a margin); when
    # the horizon moves past it, the next sync is a full one over the new window.
    mirrored_until = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "provider_calendar_id"], name="external_calendar_once"),
            models.UniqueConstraint(fields=["consultant"], condition=Q(writable=True),
                                    name="external_calendar_one_writable"),
        ]
        ordering = ["-primary", "name", "pk"]

    def __str__(self) -> str:
        return self.name


class ExternalCalendarEvent(models.Model):
    """A busy event mirrored from a readable calendar, in UTC. The slot engine reads these rows;
    it never asks a provider while a client waits."""

    class Transparency(models.TextChoices):
        OPAQUE = "opaque", "Busy"
        TRANSPARENT = "transparent", "Free"

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        TENTATIVE = "tentative", "Tentative"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    calendar = models.ForeignKey(ExternalCalendar, on_delete=models.CASCADE, related_name="events")
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider_event_id = models.CharField(max_length=1024)
    start = models.DateTimeField()
    end = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    transparency = models.CharField(max_length=12, choices=Transparency.choices, default=Transparency.OPAQUE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CONFIRMED)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["calendar", "provider_event_id"], name="external_event_once"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="external_event_end_after_start"),
        ]
        indexes = [models.Index(fields=["consultant", "start", "end"], name="external_event_busy")]

    def __str__(self) -> str:
        return f"{self.provider_event_id} {self.start:%Y-%m-%d %H:%M}"

    @property
    def blocks(self) -> bool:
        return self.transparency == self.Transparency.OPAQUE and self.status in (
            self.Status.CONFIRMED, self.Status.TENTATIVE)


class PushChannel(models.Model):
    """A Google watch channel or a Microsoft Graph subscription on one calendar."""

    calendar = models.ForeignKey(ExternalCalendar, on_delete=models.CASCADE, related_name="channels")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    # Our id for a Google channel; the subscription id Graph returns.
    channel_id = models.CharField(max_length=200, unique=True)
    resource_id = models.CharField(max_length=500, blank=True)
    # Sent back with every notification (Google's channel token, Graph's clientState).
    secret = models.CharField(max_length=100, default=secrets.token_urlsafe)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.channel_id


class CallCalendarEvent(models.Model):
    """The event a booked call has (or should have) in its consultant's writable calendar.

    An outbox: booking changes mark it ``pending`` in their own transaction; a task reconciles the
    provider's event with the call (create, move, delete) and retries with back-off until it
    succeeds. Writes are idempotent, so a retry after a lost answer does not duplicate events."""

    call = models.OneToOneField("booking.Call", on_delete=models.CASCADE, related_name="calendar_event")
    calendar = models.ForeignKey(ExternalCalendar, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="call_events")
    provider_event_id = models.CharField(max_length=1024, blank=True)
    # The call's sequence the provider's event reflects (-1: never written).
    written_sequence = models.IntegerField(default=-1)
    pending = models.BooleanField(default=True)
    # Raised by every booking change: a write that started before a change does not mark the row
    # done, so the newer state is written after it.
    revision = models.PositiveIntegerField(default=0)
    # One writer at a time: a write holds the row until then.
    leased_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # None while pending: waiting for the destination account to be reconnected.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.call_id} → {self.provider_event_id or '-'}"


class CalendarFeed(models.Model):
    """The consultant's private ICS feed of their calls, at a secret address they can regenerate."""

    consultant = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                      related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"feed of {self.consultant_id}"


class OAuthAttempt(models.Model):
    """A connection in progress: the PKCE verifier stays here, never in the browser; the signed
    ``state`` names this row. Used once, and only for ten minutes."""

    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    code_verifier = models.CharField(max_length=128)
    used = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.provider} for {self.consultant_id}"
