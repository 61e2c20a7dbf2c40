"""Public booking pages: pick a slot (in the visitor's zone), book, and manage
the booking through the link that came with it. They use the same services as
the API."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from billing.selectors import cancel_refund_preview, payment_of, refund_of
from billing.views import checkout_for_new_booking
from booking.forms import BookingForm, CancelForm, RescheduleForm
from booking.models import CallParticipant, Offering
from booking.selectors import group_seats_left, offering_public_get, offering_public_list, offering_slots
from booking.services import (
    BookingRequest,
    access_booking,
    booking_cancel_by_client,
    booking_create,
    booking_reschedule_by_client,
    client_cutoff_passed,
)
from core.choices import time_zone_choices, time_zones
from core.exceptions import ApplicationError, NotFound

DAYS_SHOWN = 7


def _zone(request: HttpRequest, fallback: str) -> str:
    tz = request.GET.get("tz") or request.POST.get("time_zone") or fallback
    return tz if tz in time_zones() else fallback


def week_start(request: HttpRequest, tz: str) -> date:
    today = timezone.now().astimezone(ZoneInfo(tz)).date()
    try:
        start = date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = today
    return max(start, today)


def slots_by_day(offering: Offering, first: date, tz: str, exclude_call_id: int | None = None):
    zone = ZoneInfo(tz)
    slots = offering_slots(offering=offering, start=first, end=first + timedelta(days=DAYS_SHOWN - 1),
                           time_zone=tz, now=timezone.now(), exclude_call_id=exclude_call_id)
    days: OrderedDict[date, list] = OrderedDict((first + timedelta(days=i), []) for i in range(DAYS_SHOWN))
    for start, end in slots:
        local = start.astimezone(zone)
        days.setdefault(local.date(), []).append({"value": start.isoformat(), "local": local,
                                                  "end": end.astimezone(zone)})
    return days


def offerings(request: HttpRequest) -> HttpResponse:
    return render(request, "booking/offerings.html", {"offerings": offering_public_list(now=timezone.now())})


@never_cache  # live slots: the back button must not offer a time that is gone since
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, offering_id: str) -> HttpResponse:
    try:
        offering = offering_public_get(offering_id=offering_id)
    except NotFound:
        raise Http404 from None
    consultant_tz = offering.consultant.profile.time_zone
    tz = _zone(request, consultant_tz)
    form = BookingForm(request.POST or None, initial={"time_zone": tz, "submit_key": secrets.token_urlsafe(16)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            start = datetime.fromisoformat(data["start"]) if data["start"] else None
            booked = booking_create(request=BookingRequest(
                offering_id=offering_id, start=start, name=data["name"], email=data["email"],
                message=data["message"], seats=data["seats"] or 1, time_zone=data["time_zone"],
                time_format=data["time_format"] or "24h", idempotency_key=data["submit_key"],
            ))
            if booked.participant.status == CallParticipant.Status.PENDING_PAYMENT:
                payment = checkout_for_new_booking(request, participant=booked.participant,
                                                   token=booked.manage_token)
                return redirect(payment.checkout_url)
        except ValueError:
            form.add_error(None, "Choose one of the times shown.")
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if booked.replayed:
                messages.info(request, "You had already sent this booking: here it is.")
            return redirect(f"/bookings/{booked.participant.public_id}/?token={booked.manage_token}")
    first = week_start(request, tz)
    context = {
        "offering": offering, "form": form, "tz": tz, "zones": time_zone_choices(), "first": first,
        "previous": first - timedelta(days=DAYS_SHOWN), "next": first + timedelta(days=DAYS_SHOWN),
        "today": timezone.now().astimezone(ZoneInfo(tz)).date(),
        "selected": request.POST.get("start", ""),
    }
    if offering.kind == Offering.Kind.INDIVIDUAL:
        context["days"] = slots_by_day(offering, first, tz)
    else:
        context["seats_left"] = group_seats_left(offering=offering)
    return render(request, "booking/book.html", context, status=400 if request.method == "POST" else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, booking_id: str) -> HttpResponse:
    token = request.GET.get("token") or request.POST.get("token") or ""
    try:
        participant = access_booking(booking_id=booking_id, token=token)
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        return render(request, "booking/manage_invalid.html", {"message": exc.message}, status=403)
    cancel_form, reschedule_form = CancelForm(), RescheduleForm()
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                cancel_form = CancelForm(request.POST)
                if cancel_form.is_valid():
                    booking_cancel_by_client(booking_id=booking_id, token=token,
                                             reason=cancel_form.cleaned_data["reason"])
                    messages.success(request, "Your booking is canceled.")
            elif request.POST.get("action") == "reschedule":
                reschedule_form = RescheduleForm(request.POST)
                if reschedule_form.is_valid():
                    booking_reschedule_by_client(
                        booking_id=booking_id, token=token,
                        start=datetime.fromisoformat(reschedule_form.cleaned_data["start"]))
                    messages.success(request, "Your call has a new time.")
        except ValueError:
            messages.error(request, "Choose one of the times shown.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect(f"{request.path}?token={token}")
    call = participant.call
    tz = participant.time_zone
    context = {"participant": participant, "call": call, "tz": tz, "token": token,
               "payment": payment_of(participant), "refund": refund_of(participant),
               "cancel_refund": cancel_refund_preview(participant=participant),
               "cancel_form": cancel_form, "reschedule_form": reschedule_form}
    if participant.status != "canceled" and call.kind == Offering.Kind.INDIVIDUAL \
            and not client_cutoff_passed(call, timezone.now()):
        context["days"] = slots_by_day(call.offering, week_start(request, tz), tz, exclude_call_id=call.pk)
    return render(request, "booking/manage.html", context)
