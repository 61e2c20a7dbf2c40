"""Consultants' weekly hours, date overrides and vacations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from accounts.models import User
from booking.models import DateOverride, OverridePeriod, Vacation, WeeklyPeriod
from booking.timefmt import WEEKDAYS, format_minute, format_period, parse_minute
from core.choices import time_zones
from core.exceptions import InvalidInput, NotFound, parse_public_id


@dataclass(frozen=True)
class PeriodIn:
    start: str
    end: str


def _periods(raw: list[PeriodIn], where: str) -> list[tuple[int, int]]:
    periods = []
    for item in raw:
        try:
            start, end = parse_minute(item.start), parse_minute(item.end, allow_end_of_day=True)
        except ValueError as exc:
            raise InvalidInput(f"{where}: {exc}.") from None
        if start >= end:
            raise InvalidInput(f"{where}: the start {item.start} must be before the end {item.end}.")
        periods.append((start, end))
    periods.sort()
    for (s1, e1), (s2, e2) in zip(periods, periods[1:], strict=False):
        if s2 < e1:
            raise InvalidInput(f"{where}: {format_period(s1, e1)} overlaps {format_period(s2, e2)}.")
    return periods


@transaction.atomic
def availability_replace(
    *, consultant: User, time_zone: str, weekly: list[tuple[int, PeriodIn]],
    overrides: list[tuple[date, list[PeriodIn]]],
) -> None:
    """Replace the whole schedule; any error leaves the old one untouched."""
    if time_zone not in time_zones():
        raise InvalidInput(f"“{time_zone}” is not a known time zone.")
    by_day: dict[int, list[PeriodIn]] = {}
    for weekday, period in weekly:
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise InvalidInput(f"Weekday {weekday} is outside 0–6 (0 is Monday).")
        by_day.setdefault(weekday, []).append(period)
    weekly_rows = [
        WeeklyPeriod(consultant=consultant, weekday=day, start_minute=s, end_minute=e)
        for day, periods in sorted(by_day.items()) for s, e in _periods(periods, WEEKDAYS[day])
    ]
    seen: set[date] = set()
    override_rows: list[tuple[date, list[tuple[int, int]]]] = []
    for day, periods in overrides:
        if day in seen:
            raise InvalidInput(f"{day.isoformat()} has two overrides; give one with all its periods.")
        seen.add(day)
        override_rows.append((day, _periods(periods, day.isoformat())))

    profile = consultant.profile
    if profile.time_zone != time_zone:
        profile.time_zone = time_zone
        profile.save(update_fields=["time_zone", "updated_at"])
    WeeklyPeriod.objects.filter(consultant=consultant).delete()
    DateOverride.objects.filter(consultant=consultant).delete()
    WeeklyPeriod.objects.bulk_create(weekly_rows)
    for day, periods in override_rows:
        override = DateOverride.objects.create(consultant=consultant, date=day)
        OverridePeriod.objects.bulk_create(
            [OverridePeriod(override=override, start_minute=s, end_minute=e) for s, e in periods])


def availability_get(*, consultant: User) -> dict:
    weekly = [{"weekday": p.weekday, "start": format_minute(p.start_minute), "end": format_minute(p.end_minute)}
              for p in WeeklyPeriod.objects.filter(consultant=consultant)]
    overrides = [
        {"date": o.date.isoformat(),
         "periods": [{"start": format_minute(p.start_minute), "end": format_minute(p.end_minute)}
                     for p in o.periods.all()]}
        for o in DateOverride.objects.filter(consultant=consultant).prefetch_related("periods")
    ]
    return {"timezone": consultant.profile.time_zone, "weekly": weekly, "overrides": overrides}


@transaction.atomic
def vacation_add(*, consultant: User, start_date: date, end_date: date, today: date) -> Vacation:
    """``today`` is the date in the consultant's zone."""
    if start_date < today:
        raise InvalidInput(f"The vacation cannot start in the past ({start_date.isoformat()}).")
    if end_date < start_date:
        raise InvalidInput("The vacation must end on or after its first day.")
    User.objects.select_for_update().filter(pk=consultant.pk).first()  # serialise a consultant's vacations
    clash = Vacation.objects.filter(consultant=consultant, start_date__lte=end_date, end_date__gte=start_date).first()
    if clash is not None:
        raise InvalidInput(f"It overlaps your vacation {clash.start_date.isoformat()} – {clash.end_date.isoformat()}.")
    return Vacation.objects.create(consultant=consultant, start_date=start_date, end_date=end_date)


@transaction.atomic
def vacation_delete(*, consultant: User, vacation_id: str) -> None:
    deleted, _ = Vacation.objects.filter(consultant=consultant, public_id=parse_public_id(vacation_id)).delete()
    if not deleted:
        raise NotFound("No such vacation.")


def _clash_message(where: str, new: tuple[int, int], existing: tuple[int, int]) -> str:
    return f"{where}: {format_period(*new)} overlaps {format_period(*existing)}."


@transaction.atomic
def weekly_period_add(*, consultant: User, weekday: int, start: str, end: str) -> WeeklyPeriod:
    if not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise InvalidInput(f"Weekday {weekday} is outside 0–6 (0 is Monday).")
    ((s, e),) = _periods([PeriodIn(start, end)], WEEKDAYS[weekday])
    User.objects.select_for_update().filter(pk=consultant.pk).first()  # one change at a time per consultant
    clash = WeeklyPeriod.objects.filter(consultant=consultant, weekday=weekday, start_minute__lt=e,
                                        end_minute__gt=s).first()
    if clash is not None:
        raise InvalidInput(_clash_message(WEEKDAYS[weekday], (s, e), (clash.start_minute, clash.end_minute)))
    return WeeklyPeriod.objects.create(consultant=consultant, weekday=weekday, start_minute=s, end_minute=e)


@transaction.atomic
def weekly_period_remove(*, consultant: User, period_id: int) -> None:
    deleted, _ = WeeklyPeriod.objects.filter(consultant=consultant, pk=period_id).delete()
    if not deleted:
        raise NotFound("No such period.")


@transaction.atomic
def override_set(*, consultant: User, day: date, periods: list[PeriodIn], today: date) -> DateOverride:
    """Replace one date's hours; no periods marks the day unavailable."""
    if day < today:
        raise InvalidInput(f"{day.isoformat()} is in the past.")
    rows = _periods(periods, day.isoformat())
    DateOverride.objects.filter(consultant=consultant, date=day).delete()
    override = DateOverride.objects.create(consultant=consultant, date=day)
    OverridePeriod.objects.bulk_create([OverridePeriod(override=override, start_minute=s, end_minute=e)
                                        for s, e in rows])
    return override


@transaction.atomic
def override_remove(*, consultant: User, override_id: int) -> None:
    deleted, _ = DateOverride.objects.filter(consultant=consultant, pk=override_id).delete()
    if not deleted:
        raise NotFound("No such date.")
