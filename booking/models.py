"""Offerings, availability and calls. Invariants live here as database
constraints: no overlapping periods, no double booking (an exclusion
constraint on the consultant's blocked time), no negative prices."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Func, Q

from core.money import Money
from core.uploads import safe_extension


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only used inside the constraint


class Int4Range(Func):
    function = "INT4RANGE"
    output_field = models.IntegerField()


class BookingSettings(models.Model):
    """The tenant's booking rules (one row)."""

    hold_minutes = models.PositiveIntegerField(
        default=30, help_text="How long an unpaid booking keeps its slot (at least 30 minutes)."
    )
    client_change_cutoff_hours = models.PositiveIntegerField(
        default=24, help_text="Clients may reschedule or cancel until this many hours before the call."
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(hold_minutes__gte=30), name="hold_at_least_30_minutes")]

    def __str__(self) -> str:
        return f"hold {self.hold_minutes} min, cut-off {self.client_change_cutoff_hours} h"


class Offering(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual call"
        GROUP = "group", "Group call"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="offerings")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=160)
    description = models.TextField(blank=True, max_length=5000)
    duration_minutes = models.PositiveIntegerField()
    price_amount = models.BigIntegerField(help_text="In the currency's minor unit.")
    currency = models.CharField(max_length=3)
    buffer_before_minutes = models.PositiveIntegerField(default=0)
    buffer_after_minutes = models.PositiveIntegerField(default=0)
    min_notice_minutes = models.PositiveIntegerField(default=240)
    horizon_days = models.PositiveIntegerField(default=60)
    slot_step_minutes = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Group offerings only.
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price_amount__gte=0), name="offering_price_not_negative"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="offering_currency_iso"),
            models.CheckConstraint(condition=Q(duration_minutes__gte=5, duration_minutes__lte=480)
                                   | Q(kind="group"), name="offering_individual_duration_5_480"),
            models.CheckConstraint(condition=Q(horizon_days__gte=1, horizon_days__lte=730),
                                   name="offering_horizon_1_730"),
            models.CheckConstraint(
                condition=Q(kind="individual") | Q(start_at__isnull=False, end_at__isnull=False,
                                                   capacity__gte=1, end_at__gt=F("start_at")),
                name="offering_group_has_time_and_seats"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def price(self) -> Money:
        return Money(self.price_amount, self.currency)

    @property
    def step_minutes(self) -> int:
        return self.slot_step_minutes or self.duration_minutes


class WeeklyPeriod(models.Model):
    """Wall-clock availability in the consultant's zone: minutes since midnight, [start, end)."""

    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                   related_name="weekly_periods")
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday")
    start_minute = models.PositiveSmallIntegerField()
    end_minute = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["weekday", "start_minute"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="weekly_weekday_0_6"),
            models.CheckConstraint(condition=Q(start_minute__lt=F("end_minute"), end_minute__lte=1440),
                                   name="weekly_start_before_end"),
            ExclusionConstraint(
                name="weekly_no_overlap",
                expressions=[("consultant", RangeOperators.EQUAL), ("weekday", RangeOperators.EQUAL),
                             (Int4Range("start_minute", "end_minute"), RangeOperators.OVERLAPS)],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday}: {self.start_minute}-{self.end_minute}"


class DateOverride(models.Model):
    """Replaces a day's weekly periods; with no periods the day is unavailable."""

    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="overrides")
    date = models.DateField()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["consultant", "date"], name="override_one_per_day")]

    def __str__(self) -> str:
        return str(self.date)


class OverridePeriod(models.Model):
    override = models.ForeignKey(DateOverride, on_delete=models.CASCADE, related_name="periods")
    start_minute = models.PositiveSmallIntegerField()
    end_minute = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["start_minute"]
        constraints = [
            models.CheckConstraint(condition=Q(start_minute__lt=F("end_minute"), end_minute__lte=1440),
                                   name="override_start_before_end"),
            ExclusionConstraint(
                name="override_no_overlap",
                expressions=[("override", RangeOperators.EQUAL),
                             (Int4Range("start_minute", "end_minute"), RangeOperators.OVERLAPS)],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start_minute}-{self.end_minute}"


class Vacation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vacations")
    start_date = models.DateField()
    end_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start_date"]
        constraints = [models.CheckConstraint(condition=Q(end_date__gte=F("start_date")),
                                              name="vacation_end_not_before_start")]

    def __str__(self) -> str:
        return f"{self.start_date}–{self.end_date}"


class Call(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Waiting for payment"
        CONFIRMED = "confirmed", "Confirmed"
        COMPLETED = "completed", "Completed"
        CANCELED = "canceled", "Canceled"

    class CanceledBy(models.TextChoices):
        HOST = "host", "Host"
        CLIENT = "client", "Client"
        SYSTEM = "system", "System"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    consultant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calls")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="calls")
    kind = models.CharField(max_length=10, choices=Offering.Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    # The consultant's time blocked by this call: the call widened by its buffers.
    blocked_start = models.DateTimeField()
    blocked_end = models.DateTimeField()
    # Snapshot of what was bought: editing the offering later changes no call.
    title = models.CharField(max_length=160)
    duration_minutes = models.PositiveIntegerField()
    price_amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    capacity = models.PositiveIntegerField(default=1)
    consultant_time_zone = models.CharField(max_length=64)
    hold_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    canceled_by = models.CharField(max_length=8, choices=CanceledBy.choices, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    # Grows with every change people's calendars must follow (iCalendar SEQUENCE).
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_at"]
        indexes = [models.Index(fields=["consultant", "status", "start_at"], name="call_consultant_status_start")]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=F("start_at")), name="call_end_after_start"),
            models.CheckConstraint(condition=Q(price_amount__gte=0), name="call_price_not_negative"),
            models.CheckConstraint(condition=Q(blocked_start__lte=F("start_at"), blocked_end__gte=F("end_at")),
                                   name="call_blocked_covers_call"),
            ExclusionConstraint(
                name="call_no_double_booking",
                expressions=[("consultant", RangeOperators.EQUAL),
                             (TsTzRange("blocked_start", "blocked_end"), RangeOperators.OVERLAPS)],
                condition=Q(status__in=["pending_payment", "confirmed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} at {self.start_at:%Y-%m-%d %H:%M}"

    @property
    def price(self) -> Money:
        return Money(self.price_amount, self.currency)


class CallParticipant(models.Model):
    """A client's booking: one person (and their seats) on a call."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Waiting for payment"
        CONFIRMED = "confirmed", "Confirmed"
        CANCELED = "canceled", "Canceled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="participants")
    status = models.CharField(max_length=16, choices=Status.choices)
    name = models.CharField(max_length=150)
    email = models.EmailField()
    message = models.TextField(blank=True, max_length=2000)
    seats = models.PositiveIntegerField(default=1)
    unit_price_amount = models.BigIntegerField()
    price_amount = models.BigIntegerField(help_text="Total: seats × unit price, minor units.")
    currency = models.CharField(max_length=3)
    time_zone = models.CharField(max_length=64)
    time_format = models.CharField(max_length=3, default="24h")
    manage_token_hash = models.CharField(max_length=64, unique=True)
    # With the secret key, derives the manage token again, so later emails can carry the link.
    manage_key = models.CharField(max_length=64, blank=True)
    # The booking form's one-time key hashed with the email: the same form sent twice (a double
    # click) finds this booking instead of making another one.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    canceled_by = models.CharField(max_length=8, choices=Call.CanceledBy.choices, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(seats__gte=1), name="participant_at_least_one_seat"),
            models.CheckConstraint(condition=Q(price_amount__gte=0, unit_price_amount__gte=0),
                                   name="participant_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.call_id}"

    @property
    def price(self) -> Money:
        return Money(self.price_amount, self.currency)


def _media_path(instance: OfferingMedia, filename: str) -> str:
    return f"offerings/{instance.offering.public_id}/{uuid.uuid4().hex}.{safe_extension(filename, 'bin')}"


class OfferingMedia(models.Model):
    """A group offering's cover image, gallery images and attached files (10 MB each)."""

    class Kind(models.TextChoices):
        COVER = "cover", "Cover image"
        GALLERY = "gallery", "Gallery image"
        FILE = "file", "Attached file"

    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="media")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    title = models.CharField(max_length=160, blank=True)
    file = models.FileField(upload_to=_media_path)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__lte=10 * 1024 * 1024), name="offering_media_at_most_10mb"),
            models.UniqueConstraint(fields=["offering"], condition=Q(kind="cover"), name="offering_one_cover"),
        ]

    def __str__(self) -> str:
        return self.title or self.kind
