"""Wall-clock times as the API and forms write them: "HH:MM", with "24:00" allowed as an end."""

from __future__ import annotations

import re

_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_minute(value: str, *, allow_end_of_day: bool = False) -> int:
    match = _HHMM.match(value or "")
    if not match:
        raise ValueError(f"“{value}” is not a time (use HH:MM, e.g. 09:30)")
    minute = int(match.group(1)) * 60 + int(match.group(2))
    if minute > 1440 or (minute == 1440 and not allow_end_of_day):
        raise ValueError(f"“{value}” is not a time of day")
    return minute


def format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_period(start: int, end: int) -> str:
    return f"{format_minute(start)}–{format_minute(end)}"
