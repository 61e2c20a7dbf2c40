"""Slot engine on a heavy calendar: a 90-day window, three periods a day, 500
existing calls plus busy events (500 / 2,000 / 8,000), against the naive
algorithm (every candidate slot checked against every busy interval)."""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from booking.slots import Period, Schedule, SlotRules, free_slots, free_slots_naive, window_for_days

TZ = "Europe/Kyiv"
CALLS = 500
EVENT_COUNTS = (500, 2000, 8000)


def _calendar(events: int, seed: int = 1):
    rng = random.Random(seed)
    schedule = Schedule(time_zone=TZ, weekly={
        d: (Period(8 * 60, 11 * 60), Period(12 * 60, 15 * 60), Period(16 * 60, 19 * 60)) for d in range(7)})
    start = date(2027, 3, 1)
    now = datetime(2027, 2, 28, tzinfo=UTC)
    window = window_for_days(start, start + timedelta(days=89), TZ)
    span = int((window[1] - window[0]).total_seconds() // 60)
    busy = []
    for _ in range(CALLS + events):
        begin = window[0] + timedelta(minutes=rng.randrange(0, span, 15))
        busy.append((begin, begin + timedelta(minutes=rng.choice([30, 45, 60, 90]))))
    rules = SlotRules(duration_minutes=30, step_minutes=15, buffer_before_minutes=10, buffer_after_minutes=10,
                      horizon_days=120)
    return dict(schedule=schedule, rules=rules, busy=busy, window=window, now=now)


def _time(fn, kwargs, repeat: int) -> tuple[float, list]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn(**kwargs)
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run() -> list[dict]:
    results = []
    for events in EVENT_COUNTS:
        kwargs = _calendar(events)
        fast, fast_slots = _time(free_slots, kwargs, repeat=7)
        naive, naive_slots = _time(free_slots_naive, kwargs, repeat=1 if events > 2000 else 3)
        assert fast_slots == naive_slots, "the engines disagree"
        results.append({
            "name": f"slots_90_days_{CALLS}_calls_{events}_events", "value": round(fast, 4), "unit": "s",
            "baseline": round(naive, 4), "ratio": round(naive / fast, 1),
            "params": {"window_days": 90, "periods_per_day": 3, "calls": CALLS, "busy_events": events,
                       "busy_intervals": CALLS + events, "free_slots": len(fast_slots),
                       "baseline_is": "naive: every candidate against every busy interval", "statistic": "median"},
        })
    return results
