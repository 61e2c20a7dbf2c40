"""Consultants' offerings: create, edit, duplicate, archive."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from booking.models import Offering
from core.choices import currencies
from core.exceptions import Conflict, InvalidInput, NotFound, parse_public_id

INDIVIDUAL_FIELDS = ("title", "description", "duration_minutes", "price_amount", "currency",
                     "buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes", "horizon_days",
                     "slot_step_minutes", "active")
GROUP_FIELDS = ("title", "description", "start_at", "end_at", "capacity", "price_amount", "currency", "active")


def _check_int(data: dict, field: str, low: int, high: int, label: str) -> None:
    value = data.get(field)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"{label} must be a whole number from {low} to {high}.")


def _validate(kind: str, data: dict, *, now: datetime) -> None:
    if "title" in data and not str(data["title"] or "").strip():
        raise InvalidInput("The title is required.")
    if len(str(data.get("title") or "")) > 160:
        raise InvalidInput("Keep the title under 160 characters.")
    price = data.get("price_amount")
    if price is not None and (not isinstance(price, int) or isinstance(price, bool) or price < 0):
        raise InvalidInput("The price must be a whole number of minor units, 0 or more.")
    if "currency" in data and data["currency"] not in currencies():
        raise InvalidInput(f"“{data['currency']}” is not an ISO 4217 currency code.")
    if kind == Offering.Kind.INDIVIDUAL:
        _check_int(data, "duration_minutes", 5, 480, "The duration")
        _check_int(data, "buffer_before_minutes", 0, 480, "The buffer before")
        _check_int(data, "buffer_after_minutes", 0, 480, "The buffer after")
        _check_int(data, "min_notice_minutes", 0, 60 * 24 * 60, "The minimum notice")
        _check_int(data, "horizon_days", 1, 730, "The booking horizon")
        _check_int(data, "slot_step_minutes", 5, 480, "The slot step")
    else:
        _check_int(data, "capacity", 1, 10_000, "The capacity")
        start, end = data.get("start_at"), data.get("end_at")
        if start is not None and end is not None:
            if end <= start:
                raise InvalidInput("The group call must end after it starts.")
            if start <= now:
                raise InvalidInput("The group call must start in the future.")
            if (end - start).total_seconds() > 24 * 3600:
                raise InvalidInput("A group call lasts at most 24 hours.")


@transaction.atomic
def offering_create(*, consultant: User, kind: str, data: dict, now: datetime | None = None) -> Offering:
    now = now or timezone.now()
    if kind not in Offering.Kind.values:
        raise InvalidInput("The kind must be “individual” or “group”.")
    data = dict(data)
    data.setdefault("currency", consultant.profile.currency)
    data.setdefault("description", "")
    required = ("title", "duration_minutes", "price_amount") if kind == Offering.Kind.INDIVIDUAL \
        else ("title", "start_at", "end_at", "capacity", "price_amount")
    missing = [f for f in required if data.get(f) in (None, "")]
    if missing:
        raise InvalidInput(f"Missing: {', '.join(missing)}.")
    _validate(kind, data, now=now)
    if kind == Offering.Kind.GROUP:
        data["duration_minutes"] = int((data["end_at"] - data["start_at"]).total_seconds() // 60)
    offering = Offering.objects.create(consultant=consultant, kind=kind, **data)
    if kind == Offering.Kind.GROUP:
        from booking.services import group_call_create

        group_call_create(offering=offering)
    return offering


def access_own_offering(*, consultant: User, offering_id: str, for_update: bool = False) -> Offering:
    offerings = Offering.objects.filter(consultant=consultant, archived_at__isnull=True)
    if for_update:
        offerings = offerings.select_for_update()
    offering = offerings.filter(public_id=parse_public_id(offering_id)).first()
    if offering is None:
        raise NotFound("No such offering.")
    return offering


@transaction.atomic
def offering_update(*, consultant: User, offering_id: str, data: dict, now: datetime | None = None) -> Offering:
    """Changes apply to future bookings only: booked calls keep their snapshot."""
    now = now or timezone.now()
    offering = access_own_offering(consultant=consultant, offering_id=offering_id, for_update=True)
    allowed = INDIVIDUAL_FIELDS if offering.kind == Offering.Kind.INDIVIDUAL else GROUP_FIELDS
    unknown = set(data) - set(allowed)
    if unknown:
        raise InvalidInput(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    merged = {f: getattr(offering, f) for f in allowed} | data
    _validate(offering.kind, {k: v for k, v in merged.items() if k in data or k in ("start_at", "end_at")},
              now=now)
    if offering.kind == Offering.Kind.GROUP and ({"start_at", "end_at", "capacity"} & set(data)):
        from booking.services import group_call_reschedule

        group_call_reschedule(offering=offering, start_at=merged["start_at"], end_at=merged["end_at"],
                              capacity=merged["capacity"])
        merged["duration_minutes"] = int((merged["end_at"] - merged["start_at"]).total_seconds() // 60)
    for field, value in merged.items():
        setattr(offering, field, value)
    try:
        offering.save()
    except IntegrityError:
        raise InvalidInput("These values are not allowed together.") from None
    return offering


@transaction.atomic
def offering_archive(*, consultant: User, offering_id: str) -> None:
    """Offerings are archived, never deleted: booked calls keep pointing at them, and a
    group call's seats stay accounted for. An archived offering takes no more bookings."""
    offering = access_own_offering(consultant=consultant, offering_id=offering_id, for_update=True)
    offering.archived_at = timezone.now()
    offering.active = False
    offering.save(update_fields=["archived_at", "active", "updated_at"])


@transaction.atomic
def offering_duplicate(*, consultant: User, offering_id: str) -> Offering:
    original = access_own_offering(consultant=consultant, offering_id=offering_id)
    if original.kind == Offering.Kind.GROUP:
        raise Conflict("A group call has its own date; create a new one instead of a copy.")
    fields = {f: getattr(original, f) for f in INDIVIDUAL_FIELDS}
    fields["title"] = f"{original.title} (copy)"[:160]
    return Offering.objects.create(consultant=consultant, kind=original.kind, **fields)


@transaction.atomic
def offering_media_add(*, consultant: User, offering_id: str, kind: str, upload, title: str = ""):
    """Cover and gallery take JPEG/PNG/WebP; attached files take PDF or images. A new cover replaces the old."""
    from django.core.exceptions import ValidationError

    from booking.models import OfferingMedia
    from core.uploads import document_validate, image_validate

    offering = access_own_offering(consultant=consultant, offering_id=offering_id, for_update=True)
    if offering.kind != Offering.Kind.GROUP:
        raise Conflict("Images and files belong to group calls.")
    if kind not in OfferingMedia.Kind.values:
        raise InvalidInput("Choose cover, gallery or file.")
    try:
        content_type = document_validate(upload) if kind == OfferingMedia.Kind.FILE else image_validate(upload)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from None
    if kind == OfferingMedia.Kind.COVER:
        for old in OfferingMedia.objects.filter(offering=offering, kind=kind):
            name, storage = old.file.name, old.file.storage
            old.delete()
            transaction.on_commit(lambda n=name, s=storage: s.delete(n))
    media = OfferingMedia(offering=offering, kind=kind, title=title.strip()[:160], content_type=content_type,
                          size=upload.size)
    media.file.save(upload.name or kind, upload, save=False)
    media.save()
    return media


@transaction.atomic
def offering_media_remove(*, consultant: User, offering_id: str, media_id: int) -> None:
    from booking.models import OfferingMedia

    offering = access_own_offering(consultant=consultant, offering_id=offering_id)
    media = OfferingMedia.objects.filter(offering=offering, pk=media_id).first()
    if media is None:
        raise NotFound("No such file.")
    name, storage = media.file.name, media.file.storage
    media.delete()
    transaction.on_commit(lambda: storage.delete(name))
