"""Booking API (contract in the booking issue): public offerings, slots and
bookings; the consultant's own offerings, availability, vacations and calls."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from accounts.models import User
from billing.views import checkout_for_new_booking
from booking.availability import PeriodIn, availability_get, availability_replace, vacation_add, vacation_delete
from booking.models import Call, CallParticipant, Offering, Vacation
from booking.offerings import offering_archive, offering_create, offering_update
from booking.selectors import calls_for, offering_public_get, offering_public_list, offering_slots
from booking.services import (
    BookingRequest,
    booking_cancel_by_client,
    booking_create,
    booking_reschedule_by_client,
    call_cancel_by_host,
    call_reschedule_by_host,
)
from core.choices import time_zones
from core.exceptions import InvalidInput, PermissionDenied
from core.urls import request_absolute_url

public = Router(tags=["booking"], auth=None)
me = Router(tags=["consultant"])

MAX_SLOT_DAYS = 62


# --- shapes -------------------------------------------------------------------


class Money(Schema):
    amount: int
    currency: str | None = None  # defaults to the consultant's currency


def _iso(value: datetime) -> str:
    """Stored instants go out in UTC, with their offset."""
    return value.astimezone(UTC).isoformat()


def _money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def _aware(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field}: “{value}” is not an ISO-8601 date and time.") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{field}: give the time with its UTC offset, e.g. 2027-01-05T10:00:00+02:00.")
    return parsed


def _zone(name: str) -> ZoneInfo:
    if name not in time_zones():
        raise InvalidInput(f"“{name}” is not a known time zone.")
    return ZoneInfo(name)


def _offering_out(offering: Offering) -> dict:
    out = {
        "id": str(offering.public_id), "kind": offering.kind, "title": offering.title,
        "description": offering.description, "duration_minutes": offering.duration_minutes,
        "price": _money(offering.price_amount, offering.currency),
        "consultant": {"name": offering.consultant.full_name, "slug": offering.consultant.profile.slug},
    }
    if offering.kind == Offering.Kind.GROUP:
        out |= {"start": _iso(offering.start_at), "end": _iso(offering.end_at),
                "capacity": offering.capacity, "seats_left": getattr(offering, "seats_left", None)}
    return out


def _own_offering_out(offering: Offering) -> dict:
    out = {"id": str(offering.public_id), "kind": offering.kind, "title": offering.title,
           "description": offering.description, "price": _money(offering.price_amount, offering.currency),
           "active": offering.active}
    if offering.kind == Offering.Kind.INDIVIDUAL:
        out |= {f: getattr(offering, f) for f in (
            "duration_minutes", "buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes",
            "horizon_days")}
        out["slot_step_minutes"] = offering.step_minutes
    else:
        out |= {"start": _iso(offering.start_at), "end": _iso(offering.end_at),
                "capacity": offering.capacity, "duration_minutes": offering.duration_minutes}
    return out


def _refund_out(participant) -> dict | None:
    from billing.selectors import refund_of

    refund = refund_of(participant)
    if refund is None:
        return None
    return {"amount": refund.amount, "currency": refund.currency, "status": refund.status,
            "reason": refund.get_reason_display()}


def _booking_out(participant) -> dict:
    call = participant.call
    out = {
        "id": str(participant.public_id), "status": participant.status,
        "start": _iso(call.start_at), "end": _iso(call.end_at), "title": call.title,
        "seats": participant.seats, "price": _money(participant.price_amount, participant.currency),
        "expires_at": _iso(participant.hold_expires_at) if participant.hold_expires_at else None,
        "refund": _refund_out(participant),
    }
    if participant.canceled_at:
        out |= {"canceled_by": participant.canceled_by, "cancel_reason": participant.cancel_reason}
    return out


def _call_out(call: Call, request: HttpRequest) -> dict:
    return {
        "id": str(call.public_id), "status": call.status, "kind": call.kind, "start": _iso(call.start_at),
        "end": _iso(call.end_at), "title": call.title, "price": _money(call.price_amount, call.currency),
        "participants": [{"name": p.name, "email": p.email, "seats": p.seats, "status": p.status,
                          "refund": _refund_out(p)} for p in call.participants.all()],
        "canceled_by": call.canceled_by or None, "cancel_reason": call.cancel_reason or None,
        "join_url": request_absolute_url(request, reverse("video:room", args=[call.public_id]))
        if call.status == Call.Status.CONFIRMED else None,
    }


def _consultant(request: HttpRequest) -> User:
    user = request.auth
    if not user.is_consultant:
        raise PermissionDenied("Only consultants have offerings, availability and calls.")
    return user


# --- public -------------------------------------------------------------------


@public.get("/offerings")
def offerings_list(request: HttpRequest):
    return [_offering_out(o) for o in offering_public_list(now=timezone.now())]


@public.get("/offerings/{offering_id}/slots")
def offering_slots_list(request: HttpRequest, offering_id: str, start: str, end: str, tz: str | None = None):
    offering = offering_public_get(offering_id=offering_id)
    zone_name = tz or offering.consultant.profile.time_zone
    zone = _zone(zone_name)
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise InvalidInput("start and end are dates: YYYY-MM-DD.") from None
    if last < first:
        raise InvalidInput("end is before start.")
    if (last - first).days + 1 > MAX_SLOT_DAYS:
        raise InvalidInput(f"Ask for at most {MAX_SLOT_DAYS} days at a time.")
    if offering.kind == Offering.Kind.GROUP:
        raise InvalidInput("A group call has no slots to choose; book it by its id.")
    slots = offering_slots(offering=offering, start=first, end=last, time_zone=zone_name, now=timezone.now())
    return {"timezone": zone_name, "slots": [
        {"start": s.astimezone(zone).isoformat(), "end": e.astimezone(zone).isoformat()} for s, e in slots]}


class BookingIn(Schema):
    offering_id: str
    start: str | None = None
    name: str
    email: str
    message: str = ""
    seats: int = 1
    timezone: str = "UTC"
    time_format: Literal["12h", "24h"] = "24h"


@public.post("/bookings", response={201: dict})
def booking_create_api(request: HttpRequest, payload: BookingIn):
    booked = booking_create(request=BookingRequest(
        offering_id=payload.offering_id, start=_aware(payload.start, "start") if payload.start else None,
        name=payload.name, email=payload.email, message=payload.message, seats=payload.seats,
        time_zone=payload.timezone, time_format=payload.time_format,
    ))
    participant = booked.participant
    manage_url = request_absolute_url(request, f"/bookings/{participant.public_id}/?token={booked.manage_token}")
    checkout_url = None
    if participant.status == CallParticipant.Status.PENDING_PAYMENT:
        payment = checkout_for_new_booking(request, participant=participant, token=booked.manage_token)
        checkout_url, participant = payment.checkout_url, payment.participant  # the hold follows the session
    return Status(201, {
        "id": str(participant.public_id), "status": participant.status,
        "checkout_url": checkout_url,
        "expires_at": _iso(participant.hold_expires_at) if participant.hold_expires_at else None,
        "manage_url": manage_url,
    })


def _manage_token(request: HttpRequest, token: str | None) -> str:
    return token or request.headers.get("X-Manage-Token", "")


class CancelIn(Schema):
    reason: str = Field("", max_length=500)


class RescheduleIn(Schema):
    start: str


@public.post("/bookings/{booking_id}/cancel")
def booking_cancel_api(request: HttpRequest, booking_id: str, payload: CancelIn | None = None,
                       token: str | None = None):
    participant = booking_cancel_by_client(booking_id=booking_id, token=_manage_token(request, token),
                                           reason=payload.reason if payload else "")
    return _booking_out(participant)


@public.post("/bookings/{booking_id}/reschedule")
def booking_reschedule_api(request: HttpRequest, booking_id: str, payload: RescheduleIn,
                           token: str | None = None):
    participant = booking_reschedule_by_client(booking_id=booking_id, token=_manage_token(request, token),
                                               start=_aware(payload.start, "start"))
    return _booking_out(participant)


# --- the consultant's own -----------------------------------------------------------


class OfferingIn(Schema):
    kind: Literal["individual", "group"] | None = None
    title: str | None = None
    description: str | None = None
    duration_minutes: int | None = None
    price: Money | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    min_notice_minutes: int | None = None
    horizon_days: int | None = None
    slot_step_minutes: int | None = None
    active: bool | None = None
    start: str | None = None
    end: str | None = None
    capacity: int | None = None


def _offering_fields(payload: OfferingIn) -> dict:
    data = payload.dict(exclude_unset=True)
    data.pop("kind", None)
    price = data.pop("price", None)
    if price is not None:
        data["price_amount"] = price["amount"]
        if price.get("currency"):
            data["currency"] = price["currency"]
    if "start" in data:
        data["start_at"] = _aware(data.pop("start"), "start")
    if "end" in data:
        data["end_at"] = _aware(data.pop("end"), "end")
    return {k: v for k, v in data.items() if v is not None or k in ("slot_step_minutes",)}


@me.get("/offerings")
def my_offerings(request: HttpRequest):
    consultant = _consultant(request)
    return [_own_offering_out(o) for o in Offering.objects.filter(consultant=consultant, archived_at__isnull=True)]


@me.post("/offerings", response={201: dict})
def my_offering_create(request: HttpRequest, payload: OfferingIn):
    consultant = _consultant(request)
    offering = offering_create(consultant=consultant, kind=payload.kind or "", data=_offering_fields(payload))
    return Status(201, _own_offering_out(offering))


@me.patch("/offerings/{offering_id}")
def my_offering_update(request: HttpRequest, offering_id: str, payload: OfferingIn):
    consultant = _consultant(request)
    data = _offering_fields(payload)
    offering = offering_update(consultant=consultant, offering_id=offering_id, data=data)
    return _own_offering_out(offering)


@me.delete("/offerings/{offering_id}", response={204: None})
def my_offering_delete(request: HttpRequest, offering_id: str):
    offering_archive(consultant=_consultant(request), offering_id=offering_id)
    return Status(204, None)


class WeeklyIn(Schema):
    weekday: int
    start: str
    end: str


class PeriodSchema(Schema):
    start: str
    end: str


class OverrideIn(Schema):
    date: date
    periods: list[PeriodSchema] = []


class AvailabilityIn(Schema):
    timezone: str
    weekly: list[WeeklyIn] = []
    overrides: list[OverrideIn] = []


@me.get("/availability")
def my_availability(request: HttpRequest):
    return availability_get(consultant=_consultant(request))


@me.put("/availability")
def my_availability_replace(request: HttpRequest, payload: AvailabilityIn):
    consultant = _consultant(request)
    availability_replace(
        consultant=consultant, time_zone=payload.timezone,
        weekly=[(w.weekday, PeriodIn(w.start, w.end)) for w in payload.weekly],
        overrides=[(o.date, [PeriodIn(p.start, p.end) for p in o.periods]) for o in payload.overrides],
    )
    consultant.profile.refresh_from_db()
    return availability_get(consultant=consultant)


class VacationIn(Schema):
    start_date: date
    end_date: date


def _vacation_out(v: Vacation) -> dict:
    return {"id": str(v.public_id), "start_date": v.start_date.isoformat(), "end_date": v.end_date.isoformat()}


@me.get("/vacations")
def my_vacations(request: HttpRequest):
    return [_vacation_out(v) for v in Vacation.objects.filter(consultant=_consultant(request))]


@me.post("/vacations", response={201: dict})
def my_vacation_create(request: HttpRequest, payload: VacationIn):
    consultant = _consultant(request)
    today = timezone.now().astimezone(ZoneInfo(consultant.profile.time_zone)).date()
    vacation = vacation_add(consultant=consultant, start_date=payload.start_date, end_date=payload.end_date,
                            today=today)
    return Status(201, _vacation_out(vacation))


@me.delete("/vacations/{vacation_id}", response={204: None})
def my_vacation_delete(request: HttpRequest, vacation_id: str):
    vacation_delete(consultant=_consultant(request), vacation_id=vacation_id)
    return Status(204, None)


@me.get("/calls")
def my_calls(request: HttpRequest, status: Literal["pending_payment", "upcoming", "active", "completed",
                                                   "canceled"] = "upcoming", limit: int = 50, offset: int = 0):
    consultant = _consultant(request)
    if not 1 <= limit <= 200 or offset < 0:
        raise InvalidInput("limit is 1–200 and offset 0 or more.")
    calls = calls_for(consultants=User.objects.filter(pk=consultant.pk), tab=status, now=timezone.now())
    return {"items": [_call_out(c, request) for c in calls[offset:offset + limit]], "count": calls.count()}


@me.post("/calls/{call_id}/reschedule")
def my_call_reschedule(request: HttpRequest, call_id: str, payload: RescheduleIn):
    call = call_reschedule_by_host(consultant=_consultant(request), call_id=call_id,
                                   start=_aware(payload.start, "start"))
    return _call_out(call, request)


@me.post("/calls/{call_id}/cancel")
def my_call_cancel(request: HttpRequest, call_id: str, payload: CancelIn | None = None):
    call = call_cancel_by_host(consultant=_consultant(request), call_id=call_id,
                               reason=payload.reason if payload else "")
    return _call_out(call, request)
