"""Graph's ``patternedRecurrence`` (pattern + range), checked and filled in as Graph returns it, and its
translation to an RFC 5545 RRULE that dateutil expands into occurrences (and back, for the scripts'
``"RRULE:…"`` strings)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
INDEXES = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
PATTERN_TYPES = ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly")
RANGE_TYPES = ("endDate", "noEnd", "numbered")
FREQUENCIES = {"daily": "DAILY", "weekly": "WEEKLY", "absoluteMonthly": "MONTHLY", "relativeMonthly": "MONTHLY",
               "absoluteYearly": "YEARLY", "relativeYearly": "YEARLY"}
NO_DATE = "0001-01-01"


class RecurrenceError(ValueError):
    """The recurrence cannot be accepted; the message says why."""


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RecurrenceError(f"recurrence {name} must be an integer from {low} to {high}.")
    return value


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise RecurrenceError(f"recurrence range {name} must be a date (YYYY-MM-DD).") from None


def pattern_normalize(value: Any, *, tz_label: str) -> dict:
    """The recurrence as Graph stores and returns it, every property present."""
    if not isinstance(value, dict) or not isinstance(value.get("pattern"), dict) or not isinstance(
            value.get("range"), dict):
        raise RecurrenceError("recurrence needs a pattern and a range.")
    pattern, range_ = value["pattern"], value["range"]
    kind = pattern.get("type")
    if kind not in PATTERN_TYPES:
        raise RecurrenceError(f"recurrence pattern type must be one of {', '.join(PATTERN_TYPES)}.")
    interval = _int(pattern.get("interval", 1), "interval", 1, 99)
    days = pattern.get("daysOfWeek") or []
    if not isinstance(days, list) or any(not isinstance(d, str) or d.lower() not in DAYS for d in days):
        raise RecurrenceError("recurrence daysOfWeek must name days (monday … sunday).")
    days = [d.lower() for d in days]
    first_day = str(pattern.get("firstDayOfWeek") or "sunday").lower()
    if first_day not in DAYS:
        raise RecurrenceError("recurrence firstDayOfWeek must name a day.")
    index = str(pattern.get("index") or "first")
    if index not in INDEXES:
        raise RecurrenceError("recurrence index must be first, second, third, fourth or last.")
    month = day_of_month = 0
    if kind in ("weekly", "relativeMonthly", "relativeYearly") and not days:
        raise RecurrenceError(f"a {kind} recurrence needs daysOfWeek.")
    if kind in ("absoluteMonthly", "absoluteYearly"):
        day_of_month = _int(pattern.get("dayOfMonth"), "dayOfMonth", 1, 31)
    if kind in ("absoluteYearly", "relativeYearly"):
        month = _int(pattern.get("month"), "month", 1, 12)

    range_type = range_.get("type")
    if range_type not in RANGE_TYPES:
        raise RecurrenceError("recurrence range type must be endDate, noEnd or numbered.")
    start_date = _date(range_.get("startDate"), "startDate")
    end_date, count = NO_DATE, 0
    if range_type == "endDate":
        end = _date(range_.get("endDate"), "endDate")
        if end < start_date:
            raise RecurrenceError("recurrence range endDate is before its startDate.")
        end_date = end.isoformat()
    if range_type == "numbered":
        count = _int(range_.get("numberOfOccurrences"), "numberOfOccurrences", 1, 999)
    return {
        "pattern": {"type": kind, "interval": interval, "month": month, "dayOfMonth": day_of_month,
                    "daysOfWeek": days if kind in ("weekly", "relativeMonthly", "relativeYearly") else [],
                    "firstDayOfWeek": first_day, "index": index},
        "range": {"type": range_type, "startDate": start_date.isoformat(), "endDate": end_date,
                  "recurrenceTimeZone": str(range_.get("recurrenceTimeZone") or tz_label),
                  "numberOfOccurrences": count},
    }


def rrule_from_pattern(recurrence: dict, *, zone: ZoneInfo) -> str:
    """The RRULE of a normalized recurrence; an end date includes its whole day in ``zone``."""
    pattern, range_ = recurrence["pattern"], recurrence["range"]
    kind = pattern["type"]
    parts = [f"FREQ={FREQUENCIES[kind]}", f"INTERVAL={pattern['interval']}"]
    by_day = ",".join(ICAL_DAYS[DAYS.index(d)] for d in pattern["daysOfWeek"])
    if kind == "weekly":
        parts += [f"BYDAY={by_day}", f"WKST={ICAL_DAYS[DAYS.index(pattern['firstDayOfWeek'])]}"]
    elif kind == "absoluteMonthly":
        parts.append(f"BYMONTHDAY={pattern['dayOfMonth']}")
    elif kind == "relativeMonthly":
        parts += [f"BYDAY={by_day}", f"BYSETPOS={INDEXES[pattern['index']]}"]
    elif kind == "absoluteYearly":
        parts += [f"BYMONTH={pattern['month']}", f"BYMONTHDAY={pattern['dayOfMonth']}"]
    elif kind == "relativeYearly":
        parts += [f"BYMONTH={pattern['month']}", f"BYDAY={by_day}", f"BYSETPOS={INDEXES[pattern['index']]}"]
    if range_["type"] == "numbered":
        parts.append(f"COUNT={range_['numberOfOccurrences']}")
    elif range_["type"] == "endDate":
        until = datetime.combine(date.fromisoformat(range_["endDate"]), time(23, 59, 59), zone).astimezone(UTC)
        parts.append(f"UNTIL={until.strftime('%Y%m%dT%H%M%SZ')}")
    return "RRULE:" + ";".join(parts)


_BYDAY_ITEM = re.compile(r"^([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")
_RRULE_KEYS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}


def pattern_from_rrule(rule: str, *, start_local: datetime, tz_label: str) -> dict:
    """Graph's recurrence for an RRULE string such as ``RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=4``; the
    series starts on ``start_local``'s date. Rules Outlook cannot express are refused."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts: dict[str, str] = {}
    for item in filter(None, text.split(";")):
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or key not in _RRULE_KEYS or key in parts:
            raise RecurrenceError(f"unsupported or repeated RRULE part: {item!r}.")
        parts[key] = value.strip().upper()
    freq = parts.get("FREQ")
    if freq not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        raise RecurrenceError("RRULE FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError("RRULE takes COUNT or UNTIL, not both.")
    try:
        interval = int(parts.get("INTERVAL", "1"))
        count = int(parts["COUNT"]) if "COUNT" in parts else None
        set_pos = int(parts["BYSETPOS"]) if "BYSETPOS" in parts else None
        month = int(parts["BYMONTH"]) if "BYMONTH" in parts else start_local.month
        day_of_month = int(parts["BYMONTHDAY"]) if "BYMONTHDAY" in parts else start_local.day
    except ValueError:
        raise RecurrenceError("RRULE INTERVAL, COUNT, BYSETPOS, BYMONTH and BYMONTHDAY are single integers.") from None
    days, ordinal = [], set_pos
    for item in filter(None, parts.get("BYDAY", "").split(",")):
        match = _BYDAY_ITEM.match(item)
        if not match:
            raise RecurrenceError(f"unsupported RRULE BYDAY value: {item!r}.")
        days.append(DAYS[ICAL_DAYS.index(match.group(2))])
        if match.group(1):
            ordinal = int(match.group(1))
    index_names = {number: name for name, number in INDEXES.items()}
    if ordinal is not None and ordinal not in index_names:
        raise RecurrenceError("RRULE positions must be 1, 2, 3, 4 or -1.")
    index = index_names.get(ordinal or 1, "first")

    if freq == "DAILY":
        if days:
            raise RecurrenceError("a DAILY RRULE with BYDAY cannot be expressed; use WEEKLY.")
        kind = "daily"
    elif freq == "WEEKLY":
        kind = "weekly"
        days = days or [DAYS[start_local.weekday()]]
    elif freq == "MONTHLY":
        kind = "relativeMonthly" if days else "absoluteMonthly"
    else:
        kind = "relativeYearly" if days else "absoluteYearly"
    first_day = DAYS[ICAL_DAYS.index(parts["WKST"])] if parts.get("WKST") in ICAL_DAYS else "sunday"

    range_: dict[str, Any] = {"type": "noEnd", "startDate": start_local.date().isoformat(),
                              "recurrenceTimeZone": tz_label}
    if count is not None:
        range_.update(type="numbered", numberOfOccurrences=count)
    elif "UNTIL" in parts:
        raw = parts["UNTIL"]
        try:
            if len(raw) == 8:
                end_date = datetime.strptime(raw, "%Y%m%d").date()
            else:
                until = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                end_date = until.astimezone(start_local.tzinfo).date()
        except ValueError:
            raise RecurrenceError("RRULE UNTIL must be YYYYMMDD or YYYYMMDDTHHMMSSZ.") from None
        range_.update(type="endDate", endDate=end_date.isoformat())
    pattern = {"type": kind, "interval": interval, "daysOfWeek": days, "firstDayOfWeek": first_day,
               "index": index, "month": month, "dayOfMonth": day_of_month}
    return pattern_normalize({"pattern": pattern, "range": range_}, tz_label=tz_label)
