"""The consultant's booking workspace: weekly hours, date overrides, vacations
(updated in place with htmx) and offerings."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import consultant_required, member_required, owner_required
from booking.availability import (
    PeriodIn,
    override_remove,
    override_set,
    vacation_add,
    vacation_delete,
    weekly_period_add,
    weekly_period_remove,
)
from booking.models import DateOverride, Offering, OfferingMedia, Vacation, WeeklyPeriod
from booking.offerings import (
    offering_archive,
    offering_create,
    offering_duplicate,
    offering_media_add,
    offering_media_remove,
    offering_update,
)
from booking.services import booking_settings, call_cancel_by_host, call_reschedule_by_host
from booking.timefmt import WEEKDAYS, format_minute
from booking.views import slots_by_day, week_start
from core.choices import currency_choices
from core.exceptions import ApplicationError, InvalidInput
from core.http import upload_response
from video.selectors import call_room_summary


def _today(user) -> date:
    return timezone.now().astimezone(ZoneInfo(user.profile.time_zone)).date()


def _context(user) -> dict:
    periods = WeeklyPeriod.objects.filter(consultant=user)
    week = [{"index": i, "name": name,
             "periods": [{"id": p.pk, "start": format_minute(p.start_minute), "end": format_minute(p.end_minute)}
                         for p in periods if p.weekday == i]} for i, name in enumerate(WEEKDAYS)]
    overrides = [{"id": o.pk, "date": o.date,
                  "periods": [f"{format_minute(p.start_minute)}–{format_minute(p.end_minute)}"
                              for p in o.periods.all()]}
                 for o in DateOverride.objects.filter(consultant=user, date__gte=_today(user))
                 .prefetch_related("periods")]
    return {"week": week, "overrides": overrides, "weekdays": list(enumerate(WEEKDAYS)),
            "vacations": Vacation.objects.filter(consultant=user, end_date__gte=_today(user)),
            "time_zone": user.profile.time_zone}


def _respond(request: HttpRequest, partial: str, error: str | None = None) -> HttpResponse:
    if request.headers.get("HX-Request"):
        return render(request, f"booking/workspace/{partial}.html", _context(request.user) | {"error": error})
    if error:
        messages.error(request, error)
    return redirect("booking_workspace:availability")


@consultant_required
def availability(request: HttpRequest) -> HttpResponse:
    return render(request, "booking/workspace/availability.html", _context(request.user))


def _run(fn) -> str | None:
    try:
        fn()
    except ApplicationError as exc:
        return exc.message
    return None


def _posted_date(request: HttpRequest, field: str, message: str) -> date:
    try:
        return date.fromisoformat(request.POST.get(field, ""))
    except ValueError:
        raise InvalidInput(message) from None


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


@consultant_required
@require_POST
def period_add(request: HttpRequest) -> HttpResponse:
    error = _run(lambda: weekly_period_add(consultant=request.user, weekday=_int(request.POST.get("weekday")),
                                           start=request.POST.get("start", ""), end=request.POST.get("end", "")))
    return _respond(request, "week", error)


@consultant_required
@require_POST
def period_delete(request: HttpRequest, period_id: int) -> HttpResponse:
    return _respond(request, "week", _run(lambda: weekly_period_remove(consultant=request.user, period_id=period_id)))


@consultant_required
@require_POST
def override_add(request: HttpRequest) -> HttpResponse:
    def add():
        day = _posted_date(request, "date", "Choose a date.")
        periods = [] if request.POST.get("unavailable") else [
            PeriodIn(request.POST.get("start", ""), request.POST.get("end", ""))]
        override_set(consultant=request.user, day=day, periods=periods, today=_today(request.user))

    return _respond(request, "overrides", _run(add))


@consultant_required
@require_POST
def override_delete(request: HttpRequest, override_id: int) -> HttpResponse:
    return _respond(request, "overrides",
                    _run(lambda: override_remove(consultant=request.user, override_id=override_id)))


@consultant_required
@require_POST
def vacation_create(request: HttpRequest) -> HttpResponse:
    def add():
        start = _posted_date(request, "start_date", "Choose the first and the last day.")
        end = _posted_date(request, "end_date", "Choose the first and the last day.")
        vacation_add(consultant=request.user, start_date=start, end_date=end, today=_today(request.user))

    return _respond(request, "vacations", _run(add))


@consultant_required
@require_POST
def vacation_remove(request: HttpRequest, vacation_id: str) -> HttpResponse:
    return _respond(request, "vacations",
                    _run(lambda: vacation_delete(consultant=request.user, vacation_id=vacation_id)))


# --- offerings -----------------------------------------------------------------


class OfferingForm(forms.Form):
    kind = forms.ChoiceField(choices=Offering.Kind.choices, initial=Offering.Kind.INDIVIDUAL)
    title = forms.CharField(max_length=160)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)
    price = forms.DecimalField(min_value=0, decimal_places=3, max_digits=12,
                               help_text="In the currency's main unit, e.g. 49.90; 0 for free.")
    currency = forms.ChoiceField(choices=currency_choices)
    duration_minutes = forms.IntegerField(min_value=5, max_value=480, required=False, initial=60)
    buffer_before_minutes = forms.IntegerField(min_value=0, max_value=480, initial=0, required=False)
    buffer_after_minutes = forms.IntegerField(min_value=0, max_value=480, initial=0, required=False)
    min_notice_minutes = forms.IntegerField(min_value=0, initial=240, required=False)
    horizon_days = forms.IntegerField(min_value=1, max_value=730, initial=60, required=False)
    slot_step_minutes = forms.IntegerField(min_value=5, max_value=480, required=False)
    start_at = forms.DateTimeField(required=False, help_text="Group calls: in your time zone.",
                                   widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    capacity = forms.IntegerField(min_value=1, required=False)
    active = forms.BooleanField(required=False, initial=True)


def _to_service_data(form: OfferingForm, tz: str) -> tuple[str, dict]:
    from decimal import Decimal

    from core.choices import currency_minor_units

    data = dict(form.cleaned_data)
    kind = data.pop("kind")
    currency = data["currency"]
    amount = data.pop("price") * (Decimal(10) ** currency_minor_units(currency))
    if amount != amount.to_integral_value():
        raise InvalidInput(f"{currency} has {currency_minor_units(currency)} decimal places.")
    data["price_amount"] = int(amount)
    zone = ZoneInfo(tz)
    for key in ("start_at", "end_at"):
        value: datetime | None = data.get(key)
        if value is not None:
            # The form made the typed wall-clock time aware in the active zone (UTC); it is the
            # consultant's own wall-clock time.
            naive = timezone.make_naive(value) if timezone.is_aware(value) else value
            data[key] = naive.replace(tzinfo=zone)
    keep = ("title", "description", "price_amount", "currency", "active") + (
        ("start_at", "end_at", "capacity") if kind == Offering.Kind.GROUP else
        ("duration_minutes", "buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes",
         "horizon_days", "slot_step_minutes"))
    return kind, {k: data[k] for k in keep if data.get(k) is not None or k == "slot_step_minutes"}


@consultant_required
@require_http_methods(["GET", "POST"])
def offerings(request: HttpRequest) -> HttpResponse:
    form = OfferingForm(request.POST or None, initial={"currency": request.user.profile.currency})
    if request.method == "POST" and form.is_valid():
        try:
            kind, data = _to_service_data(form, request.user.profile.time_zone)
            offering_create(consultant=request.user, kind=kind, data=data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Offering created.")
            return redirect("booking_workspace:offerings")
    own = Offering.objects.filter(consultant=request.user, archived_at__isnull=True)
    return render(request, "booking/workspace/offerings.html", {"form": form, "offerings": own},
                  status=400 if request.method == "POST" else 200)


@consultant_required
@require_http_methods(["GET", "POST"])
def offering_edit(request: HttpRequest, offering_id: str) -> HttpResponse:
    from booking.offerings import access_own_offering

    try:
        offering = access_own_offering(consultant=request.user, offering_id=offering_id)
    except ApplicationError:
        raise Http404 from None
    from core.choices import currency_minor_units

    zone = ZoneInfo(request.user.profile.time_zone)
    initial = {f: getattr(offering, f) for f in (
        "kind", "title", "description", "currency", "duration_minutes", "buffer_before_minutes",
        "buffer_after_minutes", "min_notice_minutes", "horizon_days", "slot_step_minutes", "capacity", "active")}
    initial["price"] = offering.price_amount / 10 ** currency_minor_units(offering.currency)
    for key in ("start_at", "end_at"):
        value = getattr(offering, key)
        initial[key] = value.astimezone(zone).replace(tzinfo=None) if value else None
    form = OfferingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            _, data = _to_service_data(form, request.user.profile.time_zone)
            offering_update(consultant=request.user, offering_id=offering_id, data=data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Saved. Calls booked before keep what was bought.")
            return redirect("booking_workspace:offerings")
    return render(request, "booking/workspace/offering_edit.html", {
        "form": form, "offering": offering, "media": offering.media.all(),
        "media_kinds": OfferingMedia.Kind.choices,
    }, status=400 if request.method == "POST" else 200)


@consultant_required
@require_POST
def offering_media_upload(request: HttpRequest, offering_id: str) -> HttpResponse:
    upload = request.FILES.get("file")
    ok, message = False, "Choose a file."
    if upload is not None:
        try:
            offering_media_add(consultant=request.user, offering_id=offering_id,
                               kind=request.POST.get("kind", ""), upload=upload, title=request.POST.get("title", ""))
            ok, message = True, "Uploaded."
        except ApplicationError as exc:
            if exc.http_status == 404:
                raise Http404 from None
            message = exc.message
    return upload_response(request, redirect_to=f"/offerings/{offering_id}/", message=message,
                           errors=None if ok else {"file": [message]})


@consultant_required
@require_POST
def offering_media_delete(request: HttpRequest, offering_id: str, media_id: int) -> HttpResponse:
    try:
        offering_media_remove(consultant=request.user, offering_id=offering_id, media_id=media_id)
    except ApplicationError:
        raise Http404 from None
    return redirect(f"/offerings/{offering_id}/")


@consultant_required
@require_POST
def offering_copy(request: HttpRequest, offering_id: str) -> HttpResponse:
    try:
        offering_duplicate(consultant=request.user, offering_id=offering_id)
        messages.success(request, "Copied.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("booking_workspace:offerings")


@consultant_required
@require_POST
def offering_remove(request: HttpRequest, offering_id: str) -> HttpResponse:
    try:
        offering_archive(consultant=request.user, offering_id=offering_id)
        messages.success(request, "Archived. Booked calls are kept.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("booking_workspace:offerings")


# --- calls --------------------------------------------------------------------


def _access_visible_call(user, call_id: str):
    """A call of a consultant ``user`` may see (own, any for the owner, assigned for an assistant)."""
    from booking.selectors import calls_visible_to
    from core.exceptions import parse_public_id

    try:
        public_id = parse_public_id(call_id)
    except ApplicationError:
        raise Http404 from None
    call = calls_visible_to(user=user).select_related("consultant__profile", "offering") \
        .prefetch_related("participants").filter(public_id=public_id).first()
    if call is None:
        raise Http404
    return call


@member_required
@require_http_methods(["GET", "POST"])
def call_detail(request: HttpRequest, call_id: str) -> HttpResponse:
    call = _access_visible_call(request.user, call_id)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                call_cancel_by_host(consultant=call.consultant, call_id=call_id,
                                    reason=request.POST.get("reason", ""))
                messages.success(request, "The call is canceled; the client will be told.")
            elif request.POST.get("action") == "reschedule":
                call_reschedule_by_host(consultant=call.consultant, call_id=call_id,
                                        start=datetime.fromisoformat(request.POST.get("start", "")))
                messages.success(request, "The call has a new time.")
        except ValueError:
            messages.error(request, "Choose one of the times shown.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect(request.path)
    tz = call.consultant.profile.time_zone
    context = {"call": call, "tz": tz, "room": call_room_summary(call, now=timezone.now())}
    if call.status in ("pending_payment", "confirmed") and call.kind == "individual" \
            and call.start_at > timezone.now():
        context["days"] = slots_by_day(call.offering, week_start(request, tz), tz, exclude_call_id=call.pk)
    return render(request, "booking/workspace/call.html", context)


# --- the tenant's booking rules (owner) -----------------------------------------------


class BookingSettingsForm(forms.Form):
    hold_minutes = forms.IntegerField(
        min_value=30, max_value=24 * 60, label="Hold unpaid bookings for (minutes)",
        help_text="At least 30: payment pages cannot expire sooner.")
    client_change_cutoff_hours = forms.IntegerField(
        min_value=0, max_value=24 * 30, label="Clients may change or cancel until (hours before the call)")


@owner_required
@require_http_methods(["GET", "POST"])
def booking_settings_view(request: HttpRequest) -> HttpResponse:
    current = booking_settings()
    form = BookingSettingsForm(request.POST or None, initial={
        "hold_minutes": current.hold_minutes, "client_change_cutoff_hours": current.client_change_cutoff_hours})
    if request.method == "POST" and form.is_valid():
        current.hold_minutes = form.cleaned_data["hold_minutes"]
        current.client_change_cutoff_hours = form.cleaned_data["client_change_cutoff_hours"]
        current.save(update_fields=["hold_minutes", "client_change_cutoff_hours"])
        messages.success(request, "Booking rules saved.")
        return redirect(request.path)
    return render(request, "booking/workspace/settings.html", {"form": form},
                  status=400 if request.method == "POST" else 200)
