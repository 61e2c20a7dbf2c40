"""Reading the booking data: schedules, busy time, slots, offerings and calls.
Each function runs a fixed number of queries whatever the calendar's size."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Sum

from accounts.models import User
from booking.models import Call, CallParticipant, DateOverride, Offering, Vacation, WeeklyPeriod
from booking.slots import Interval, Period, Schedule, SlotRules, free_slots, window_for_days
from core.exceptions import NotFound, parse_public_id

ACTIVE_STATUSES = (Call.Status.PENDING_PAYMENT, Call.Status.CONFIRMED)
HELD_STATUSES = (CallParticipant.Status.PENDING_PAYMENT, CallParticipant.Status.CONFIRMED)


def schedule_for(*, consultant: User, time_zone: str) -> Schedule:
    weekly: dict[int, tuple[Period, ...]] = {}
    for p in WeeklyPeriod.objects.filter(consultant=consultant).order_by("weekday", "start_minute"):
        weekly[p.weekday] = (*weekly.get(p.weekday, ()), Period(p.start_minute, p.end_minute))
    overrides = {
        o.date: tuple(Period(p.start_minute, p.end_minute) for p in o.periods.all())
        for o in DateOverride.objects.filter(consultant=consultant).prefetch_related("periods")
    }
    vacations = tuple(Vacation.objects.filter(consultant=consultant).values_list("start_date", "end_date"))
    return Schedule(time_zone=time_zone, weekly=weekly, overrides=overrides, vacations=vacations)


def busy_for(*, consultant: User, window: Interval, exclude_call_id: int | None = None) -> list[Interval]:
    """Time the consultant is not free, in one query: their pending and confirmed calls (widened by
    their buffers) and the busy events mirrored from their readable calendars — except the events
    written there for calls, which are those calls."""
    from calendars.models import CallCalendarEvent, ExternalCalendarEvent

    since, until = window[0] - timedelta(days=1), window[1] + timedelta(days=1)
    calls = Call.objects.filter(consultant=consultant, status__in=ACTIVE_STATUSES,
                                blocked_start__lt=until, blocked_end__gt=since)
    if exclude_call_id is not None:
        calls = calls.exclude(pk=exclude_call_id)
    ours = CallCalendarEvent.objects.filter(calendar_id=OuterRef("calendar_id"),
                                            provider_event_id=OuterRef("provider_event_id"))
    external = ExternalCalendarEvent.objects.filter(
        consultant=consultant, calendar__readable=True, start__lt=until, end__gt=since,
        transparency=ExternalCalendarEvent.Transparency.OPAQUE,
        status__in=(ExternalCalendarEvent.Status.CONFIRMED, ExternalCalendarEvent.Status.TENTATIVE),
    ).exclude(Exists(ours))
    return list(calls.values_list("blocked_start", "blocked_end")
                .union(external.values_list("start", "end"), all=True))


def rules_for(offering: Offering) -> SlotRules:
    return SlotRules(
        duration_minutes=offering.duration_minutes, step_minutes=offering.slot_step_minutes,
        buffer_before_minutes=offering.buffer_before_minutes, buffer_after_minutes=offering.buffer_after_minutes,
        min_notice_minutes=offering.min_notice_minutes, horizon_days=offering.horizon_days,
    )


def offering_public_qs() -> QuerySet[Offering]:
    return Offering.objects.filter(active=True, archived_at__isnull=True, consultant__is_active=True) \
        .select_related("consultant", "consultant__profile")


def offering_public_list(*, now: datetime, consultant: User | None = None) -> list[Offering]:
    offerings = offering_public_qs().filter(Q(kind=Offering.Kind.INDIVIDUAL) | Q(start_at__gt=now))
    if consultant is not None:
        offerings = offerings.filter(consultant=consultant)
    offerings = list(offerings.order_by("kind", "title", "id"))
    group_ids = [o.pk for o in offerings if o.kind == Offering.Kind.GROUP]
    taken = dict(
        CallParticipant.objects.filter(call__offering_id__in=group_ids, status__in=HELD_STATUSES)
        .values("call__offering_id").annotate(seats=Sum("seats")).values_list("call__offering_id", "seats")
    )
    for offering in offerings:
        offering.seats_left = max(0, (offering.capacity or 0) - (taken.get(offering.pk) or 0))
    return offerings


def seats_taken(*, call: Call) -> int:
    """Seats held by pending or confirmed bookings of a (group) call."""
    return call.participants.filter(status__in=HELD_STATUSES).aggregate(n=Sum("seats"))["n"] or 0


def group_seats_left(*, offering: Offering) -> int:
    call = Call.objects.filter(offering=offering, kind=Offering.Kind.GROUP).first()
    return max(0, (offering.capacity or 0) - (seats_taken(call=call) if call else 0))


def offering_public_get(*, offering_id: str) -> Offering:
    offering = offering_public_qs().filter(public_id=parse_public_id(offering_id)).first()
    if offering is None:
        raise NotFound("No such offering.")
    return offering


def offering_slots(*, offering: Offering, start: date, end: date, time_zone: str, now: datetime,
                   exclude_call_id: int | None = None) -> list[Interval]:
    consultant = offering.consultant
    window = window_for_days(start, end, time_zone)
    return free_slots(
        schedule=schedule_for(consultant=consultant, time_zone=consultant.profile.time_zone),
        rules=rules_for(offering), busy=busy_for(consultant=consultant, window=window,
                                                 exclude_call_id=exclude_call_id),
        window=window, now=now,
    )


def calls_visible_to(*, user) -> QuerySet[Call]:
    """Calls ``user`` may read in the workspace: every call for the owner, their own for a
    consultant, their consultants' for an assistant; none for anyone else (staff, visitors)."""
    from accounts.selectors import consultants_visible_to

    if not user.is_authenticated or user.role == User.Role.STAFF:
        return Call.objects.none()
    return Call.objects.filter(consultant__in=consultants_visible_to(user=user))


def calls_for(*, consultants: QuerySet[User], tab: str, now: datetime) -> QuerySet[Call]:
    # Each participant comes with its payment and refund (billing), in the same prefetch query.
    participants = Prefetch("participants", queryset=CallParticipant.objects.select_related("payment__refund"))
    calls = Call.objects.filter(consultant__in=consultants).select_related("consultant") \
        .prefetch_related(participants)
    if tab == "pending_payment":
        return calls.filter(status=Call.Status.PENDING_PAYMENT).order_by("start_at")
    if tab == "upcoming":
        return calls.filter(status=Call.Status.CONFIRMED, start_at__gt=now).order_by("start_at")
    if tab == "active":
        return calls.filter(status=Call.Status.CONFIRMED, start_at__lte=now, end_at__gt=now).order_by("start_at")
    if tab == "next":  # the dashboard's: the call in progress, then the upcoming ones
        return calls.filter(status=Call.Status.CONFIRMED, end_at__gt=now).order_by("start_at")
    if tab == "completed":
        return calls.filter(Q(status=Call.Status.COMPLETED) | Q(status=Call.Status.CONFIRMED, end_at__lte=now)) \
            .order_by("-start_at")
    if tab == "canceled":
        return calls.filter(status=Call.Status.CANCELED).order_by("-start_at")
    raise ValueError(tab)


def sessions_count(*, consultants: QuerySet[User], now: datetime) -> int:
    """Calls that took place: completed, or confirmed and already over."""
    return Call.objects.filter(consultant__in=consultants).filter(
        Q(status=Call.Status.COMPLETED) | Q(status=Call.Status.CONFIRMED, end_at__lte=now)).count()
