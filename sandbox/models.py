"""The emulators' own storage (public schema): what the real provider would keep on its side."""

from django.db import models
from django.utils import timezone


class StripeObject(models.Model):
    """One Stripe object (account, account link, event, …) as the API returns it."""

    id = models.CharField(primary_key=True, max_length=64)
    object = models.CharField(max_length=40, db_index=True)
    data = models.JSONField()
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class StripeIdempotentRequest(models.Model):
    """A POST answered under an ``Idempotency-Key``: a retry gets the same answer."""

    key = models.CharField(max_length=255)
    path = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="stripe_idempotency_key_unique")]

    def __str__(self) -> str:
        return self.key


# --- Calendar providers (Google Calendar, Microsoft Graph) ----------------------------------------


class CalendarProvider(models.TextChoices):
    GOOGLE = "google", "Google"
    MICROSOFT = "microsoft", "Microsoft"


class CalendarAccount(models.Model):
    """A person's account at an emulated calendar provider, created on its first sign-in."""

    provider = models.CharField(max_length=10, choices=CalendarProvider.choices)
    email = models.EmailField()
    # Provider-specific details (display name, user id, …).
    data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "email"], name="sandbox_calendar_account_unique")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.email}"


class CalendarGrant(models.Model):
    """An OAuth authorization code, access token or refresh token the emulated provider issued."""

    class Kind(models.TextChoices):
        CODE = "code", "Authorization code"
        ACCESS = "access", "Access token"
        REFRESH = "refresh", "Refresh token"

    account = models.ForeignKey(CalendarAccount, on_delete=models.CASCADE, related_name="grants")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=200, unique=True)
    client_id = models.CharField(max_length=200)
    redirect_uri = models.CharField(max_length=500, blank=True)
    scope = models.CharField(max_length=500, blank=True)
    code_challenge = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    used = models.BooleanField(default=False)
    revoked = models.BooleanField(default=False)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.kind} for {self.account}"


class EmulatedCalendar(models.Model):
    """One calendar of an account. ``change_seq`` counts its changes: sync tokens and delta links
    name the last change they saw; ``sync_epoch`` is raised to invalidate every token issued so far."""

    account = models.ForeignKey(CalendarAccount, on_delete=models.CASCADE, related_name="calendars")
    calendar_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    primary = models.BooleanField(default=False)
    time_zone = models.CharField(max_length=64, default="UTC")
    change_seq = models.BigIntegerField(default=0)
    sync_epoch = models.PositiveIntegerField(default=0)
    data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "calendar_id"], name="sandbox_calendar_unique")]

    def __str__(self) -> str:
        return f"{self.account}/{self.name}"


class EmulatedEvent(models.Model):
    """An event (or a recurring series' master) in the provider's own JSON shape (``data``), with
    the fields the emulator filters on kept beside it. A deleted event stays, marked, so that
    incremental syncs can report it."""

    calendar = models.ForeignKey(EmulatedCalendar, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=200)
    data = models.JSONField(default=dict)
    start = models.DateTimeField()
    end = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    recurrence = models.JSONField(default=list, blank=True)
    deleted = models.BooleanField(default=False)
    change_seq = models.BigIntegerField(default=0)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["calendar", "event_id"], name="sandbox_event_unique")]
        indexes = [models.Index(fields=["calendar", "change_seq"], name="sandbox_event_changes")]

    def __str__(self) -> str:
        return self.event_id


class EmulatedChannel(models.Model):
    """A push channel: a Google ``events.watch`` channel or a Microsoft Graph subscription."""

    provider = models.CharField(max_length=10, choices=CalendarProvider.choices)
    calendar = models.ForeignKey(EmulatedCalendar, on_delete=models.CASCADE, related_name="channels")
    channel_id = models.CharField(max_length=200, unique=True)
    resource_id = models.CharField(max_length=200, blank=True)
    address = models.URLField(max_length=500)
    # Google's channel token / Graph's clientState, sent back with every notification.
    token = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField()
    stopped = models.BooleanField(default=False)
    message_number = models.PositiveIntegerField(default=0)
    data = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.channel_id


class EmulatedFault(models.Model):
    """The next ``remaining`` API calls of an account (or of everyone, with no account) fail with
    ``status`` — 429 with ``Retry-After``, 5xx — as a provider under load would."""

    provider = models.CharField(max_length=10, choices=CalendarProvider.choices)
    account = models.ForeignKey(CalendarAccount, null=True, blank=True, on_delete=models.CASCADE)
    status = models.PositiveSmallIntegerField()
    remaining = models.PositiveIntegerField(default=1)
    retry_after = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.provider} {self.status} ×{self.remaining}"
