"""The slot engine: which start times an offering can be booked at.

A pure module (no database, no Django): the caller passes the consultant's
schedule, the busy intervals, the offering's rules, a window and "now".

Periods are wall-clock minutes in the consultant's zone (0–1440, so a period may
end at midnight). Each day's periods are turned into UTC instants through the
zone of that very day, so 09:00–17:00 stays 09:00–17:00 local on the days
clocks change; slots are then stepped in real minutes inside each period.

Busy intervals are merged once and searched by bisection, so checking a slot
costs O(log n) instead of a scan of every busy interval (see ``bench/``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Period:
    """Wall-clock period of a day, in minutes since midnight: [start, end)."""

    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not (0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY):
            raise ValueError(f"invalid period {self.start_minute}–{self.end_minute}")


@dataclass(frozen=True)
class Schedule:
    time_zone: str
    weekly: dict[int, tuple[Period, ...]] = field(default_factory=dict)  # 0 = Monday
    overrides: dict[date, tuple[Period, ...]] = field(default_factory=dict)  # () = unavailable that day
    vacations: tuple[tuple[date, date], ...] = ()  # inclusive

    def periods_on(self, day: date) -> tuple[Period, ...]:
        if any(start <= day <= end for start, end in self.vacations):
            return ()
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), ())


@dataclass(frozen=True)
class SlotRules:
    duration_minutes: int
    step_minutes: int | None = None  # default: the duration
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    min_notice_minutes: int = 0
    horizon_days: int = 60


def wall_to_utc(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of ``minute`` past midnight, local wall time, on ``day``."""
    if minute == MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return local.astimezone(UTC)


def window_for_days(start: date, end: date, tz_name: str) -> Interval:
    """UTC bounds of the days ``start``..``end`` (inclusive) as lived in ``tz_name``."""
    tz = ZoneInfo(tz_name)
    return wall_to_utc(start, 0, tz), wall_to_utc(end, MINUTES_PER_DAY, tz)


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[list[datetime]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def candidate_slots(schedule: Schedule, rules: SlotRules, window: Interval) -> list[Interval]:
    """Every slot the schedule offers in the window, before anything busy is taken out."""
    tz = ZoneInfo(schedule.time_zone)
    duration = timedelta(minutes=rules.duration_minutes)
    step = timedelta(minutes=rules.step_minutes or rules.duration_minutes)
    window_start, window_end = window
    # Local days that can touch the window, whatever the offsets on both sides.
    first = window_start.astimezone(tz).date() - timedelta(days=1)
    last = window_end.astimezone(tz).date() + timedelta(days=1)
    slots: list[Interval] = []
    day = first
    while day <= last:
        for period in schedule.periods_on(day):
            start = wall_to_utc(day, period.start_minute, tz)
            end = wall_to_utc(day, period.end_minute, tz)
            slot = start
            while slot + duration <= end:
                if slot >= window_start and slot + duration <= window_end:
                    slots.append((slot, slot + duration))
                slot += step
        day += timedelta(days=1)
    slots.sort()
    return slots


def _bookable(rules: SlotRules, window: Interval, now: datetime) -> Interval:
    earliest = max(window[0], now + timedelta(minutes=rules.min_notice_minutes))
    latest_start = now + timedelta(days=rules.horizon_days)
    return earliest, latest_start


def free_slots(
    *, schedule: Schedule, rules: SlotRules, busy: Sequence[Interval], window: Interval, now: datetime,
) -> list[Interval]:
    """Free slots in ``window`` (UTC), sorted. ``busy`` are UTC intervals that already
    include their own buffers (e.g. an existing call widened by its buffers)."""
    earliest, latest_start = _bookable(rules, window, now)
    before = timedelta(minutes=rules.buffer_before_minutes)
    after = timedelta(minutes=rules.buffer_after_minutes)
    merged = merge_intervals(busy)
    starts = [s for s, _ in merged]
    ends = [e for _, e in merged]
    free: list[Interval] = []
    for start, end in candidate_slots(schedule, rules, window):
        if start < earliest or start > latest_start:
            continue
        need_start, need_end = start - before, end + after
        # The last busy interval starting before we need to be done; merged intervals
        # are disjoint and sorted, so it is the only one that can overlap.
        i = bisect_left(starts, need_end) - 1
        if i >= 0 and ends[i] > need_start:
            continue
        free.append((start, end))
    return free


def free_slots_naive(
    *, schedule: Schedule, rules: SlotRules, busy: Sequence[Interval], window: Interval, now: datetime,
) -> list[Interval]:
    """The obvious algorithm: every slot against every busy interval. The benchmark's baseline
    and the tests' oracle."""
    earliest, latest_start = _bookable(rules, window, now)
    before = timedelta(minutes=rules.buffer_before_minutes)
    after = timedelta(minutes=rules.buffer_after_minutes)
    return [
        (start, end) for start, end in candidate_slots(schedule, rules, window)
        if earliest <= start <= latest_start
        and not any(b_start < end + after and b_end > start - before for b_start, b_end in busy)
    ]
