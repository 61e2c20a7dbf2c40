"""The slot engine, on its own: no database."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.slots import (
    Period,
    Schedule,
    SlotRules,
    free_slots,
    free_slots_naive,
    wall_to_utc,
    window_for_days,
)

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def Rules(**kwargs) -> SlotRules:  # noqa: N802 - reads like the class it builds
    """Rules with a horizon far enough for the dates these tests use."""
    kwargs.setdefault("horizon_days", 3650)
    return SlotRules(**kwargs)


def hm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def every_day(start: str, end: str) -> dict[int, tuple[Period, ...]]:
    return {weekday: (Period(hm(start), hm(end)),) for weekday in range(7)}


def local_times(slots, tz: str) -> list[str]:
    return [s.astimezone(ZoneInfo(tz)).strftime("%H:%M") for s, _ in slots]


def test_the_product_descriptions_case_gives_exactly_eight_slots():
    tz = "Europe/Kyiv"
    schedule = Schedule(time_zone=tz, weekly=every_day("12:00", "15:00"))
    day = date(2027, 2, 10)
    busy = [(wall_to_utc(day, hm("13:00"), ZoneInfo(tz)), wall_to_utc(day, hm("14:00"), ZoneInfo(tz)))]
    slots = free_slots(schedule=schedule, rules=Rules(duration_minutes=15), busy=busy,
                       window=window_for_days(day, day, tz), now=NOW)
    assert local_times(slots, tz) == ["12:00", "12:15", "12:30", "12:45", "14:00", "14:15", "14:30", "14:45"]


@pytest.mark.parametrize(
    ("tz", "day"),
    [
        ("Europe/Kyiv", date(2027, 3, 28)),  # spring forward, 03:00 -> 04:00
        ("Europe/Kyiv", date(2027, 10, 31)),  # fall back, 04:00 -> 03:00
        ("America/New_York", date(2027, 3, 14)),  # 02:00 -> 03:00
        ("America/New_York", date(2027, 11, 7)),  # 02:00 -> 01:00
    ],
)
def test_working_hours_stay_local_on_dst_days(tz, day):
    schedule = Schedule(time_zone=tz, weekly=every_day("09:00", "17:00"))
    rules = Rules(duration_minutes=60)
    slots = free_slots(schedule=schedule, rules=rules, busy=[], window=window_for_days(day, day, tz), now=NOW)
    assert local_times(slots, tz) == [f"{h:02d}:00" for h in range(9, 17)]
    # The day before and after, the same local hours, at a different UTC offset on one side.
    before = free_slots(schedule=schedule, rules=rules, busy=[],
                        window=window_for_days(day - timedelta(days=1), day - timedelta(days=1), tz), now=NOW)
    after = free_slots(schedule=schedule, rules=rules, busy=[],
                       window=window_for_days(day + timedelta(days=1), day + timedelta(days=1), tz), now=NOW)
    assert local_times(before, tz) == local_times(after, tz) == local_times(slots, tz)
    assert before[0][0].utcoffset() == after[0][0].utcoffset() == timedelta(0)
    offset_before = before[0][0].astimezone(ZoneInfo(tz)).utcoffset()
    offset_after = after[0][0].astimezone(ZoneInfo(tz)).utcoffset()
    assert offset_before != offset_after


def test_a_period_across_the_spring_forward_gap_has_real_minutes_only():
    tz = "America/New_York"
    day = date(2027, 3, 14)
    schedule = Schedule(time_zone=tz, weekly=every_day("00:00", "05:00"))
    slots = free_slots(schedule=schedule, rules=Rules(duration_minutes=60), busy=[],
                       window=window_for_days(day, day, tz), now=NOW)
    # 00:00–05:00 local lasts four real hours that day.
    assert local_times(slots, tz) == ["00:00", "01:00", "03:00", "04:00"]


def test_period_ending_at_midnight_and_a_client_a_day_ahead():
    consultant = "America/Los_Angeles"
    client = "Pacific/Kiritimati"  # UTC+14: 22 hours ahead of Los Angeles in winter
    schedule = Schedule(time_zone=consultant, weekly={4: (Period(hm("22:00"), 1440),)})  # Fridays 22–24
    friday = date(2027, 2, 5)
    window = window_for_days(friday + timedelta(days=1), friday + timedelta(days=1), client)  # client's Saturday
    slots = free_slots(schedule=schedule, rules=Rules(duration_minutes=30), busy=[], window=window, now=NOW)
    assert local_times(slots, consultant) == ["22:00", "22:30", "23:00", "23:30"]
    assert {s.astimezone(ZoneInfo(client)).date() for s, _ in slots} == {date(2027, 2, 6)}
    assert local_times(slots, client) == ["20:00", "20:30", "21:00", "21:30"]


def test_vacations_and_overrides():
    tz = "UTC"
    schedule = Schedule(
        time_zone=tz, weekly=every_day("09:00", "11:00"),
        overrides={date(2027, 2, 2): (Period(hm("14:00"), hm("15:00")),), date(2027, 2, 3): ()},
        vacations=((date(2027, 2, 4), date(2027, 2, 5)),),
    )
    slots = free_slots(schedule=schedule, rules=Rules(duration_minutes=60), busy=[],
                       window=window_for_days(date(2027, 2, 1), date(2027, 2, 6), tz), now=NOW)
    by_day = {}
    for start, _ in slots:
        by_day.setdefault(start.date().isoformat(), []).append(start.strftime("%H:%M"))
    assert by_day == {"2027-02-01": ["09:00", "10:00"], "2027-02-02": ["14:00"], "2027-02-06": ["09:00", "10:00"]}


def test_buffers_keep_distance_from_busy_time():
    tz = "UTC"
    day = date(2027, 2, 1)
    schedule = Schedule(time_zone=tz, weekly=every_day("09:00", "13:00"))
    busy = [(datetime(2027, 2, 1, 11, 0, tzinfo=UTC), datetime(2027, 2, 1, 11, 30, tzinfo=UTC))]
    rules = Rules(duration_minutes=30, buffer_before_minutes=15, buffer_after_minutes=30)
    slots = free_slots(schedule=schedule, rules=rules, busy=busy, window=window_for_days(day, day, tz), now=NOW)
    # 10:00–10:30 needs free time until 11:00 (30 min after): fine; 10:30 would end at 11:00 + 30 min buffer.
    # After the busy block, a slot needs 15 min free before it: 11:45 is not on the 30-minute grid, so 12:00.
    assert local_times(slots, tz) == ["09:00", "09:30", "10:00", "12:00", "12:30"]


def test_minimum_notice_and_horizon():
    tz = "UTC"
    schedule = Schedule(time_zone=tz, weekly=every_day("09:00", "12:00"))
    now = datetime(2027, 2, 1, 8, 30, tzinfo=UTC)
    rules = SlotRules(duration_minutes=60, min_notice_minutes=120, horizon_days=2)
    slots = free_slots(schedule=schedule, rules=rules, busy=[],
                       window=window_for_days(date(2027, 2, 1), date(2027, 2, 10), tz), now=now)
    starts = [s.strftime("%m-%d %H:%M") for s, _ in slots]
    assert starts[0] == "02-01 11:00"  # 09:00 and 10:00 are within the 2-hour notice
    # The horizon ends two days from now (02-03 08:30): the last start is 02-02 11:00.
    assert starts[-1] == "02-02 11:00"
    assert all(s <= now + timedelta(days=2) for s, _ in slots)


def test_step_shorter_than_duration_overlaps_slots():
    tz = "UTC"
    day = date(2027, 2, 1)
    schedule = Schedule(time_zone=tz, weekly=every_day("09:00", "10:30"))
    slots = free_slots(schedule=schedule, rules=Rules(duration_minutes=60, step_minutes=15), busy=[],
                       window=window_for_days(day, day, tz), now=NOW)
    assert local_times(slots, tz) == ["09:00", "09:15", "09:30"]


def test_fast_engine_agrees_with_the_naive_one_on_random_calendars():
    rng = random.Random(7)
    tz = "Europe/Kyiv"
    schedule = Schedule(time_zone=tz, weekly={d: (Period(hm("08:00"), hm("12:00")), Period(hm("13:00"), hm("18:30")))
                                              for d in range(6)})
    base = datetime(2027, 3, 20, tzinfo=UTC)
    for _ in range(20):
        busy = []
        for _ in range(rng.randint(0, 60)):
            start = base + timedelta(minutes=rng.randrange(0, 20 * 24 * 60, 5))
            busy.append((start, start + timedelta(minutes=rng.choice([15, 30, 45, 90, 240]))))
        rules = Rules(duration_minutes=rng.choice([15, 30, 50, 60]), step_minutes=rng.choice([None, 15, 20]),
                          buffer_before_minutes=rng.choice([0, 5, 10]), buffer_after_minutes=rng.choice([0, 15]))
        window = window_for_days(date(2027, 3, 21), date(2027, 4, 5), tz)
        kwargs = dict(schedule=schedule, rules=rules, busy=busy, window=window, now=base)
        assert free_slots(**kwargs) == free_slots_naive(**kwargs)


def test_periods_are_validated():
    with pytest.raises(ValueError):
        Period(hm("15:00"), hm("12:00"))
    with pytest.raises(ValueError):
        Period(0, 1441)
