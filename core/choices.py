"""Reference lists: IANA time zones, ISO 4217 currencies (with their minor
units) and ISO 639-1 languages. Built once from zoneinfo and Babel's CLDR data."""

from __future__ import annotations

import zoneinfo
from datetime import date
from functools import cache

from babel import Locale
from babel.core import get_global
from babel.numbers import get_currency_name, get_currency_precision, get_territory_currencies


@cache
def time_zones() -> frozenset[str]:
    return frozenset(
        name for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/"))
    ) | {"UTC"}


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(time_zones())]


@cache
def currencies() -> dict[str, str]:
    """Currencies in legal tender today somewhere, code → English name."""
    today = date.today()
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, start_date=today, tender=True))
    return {code: get_currency_name(code, locale="en") for code in sorted(codes) if len(code) == 3}


def currency_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} — {name}") for code, name in currencies().items()]


def currency_minor_units(code: str) -> int:
    """Digits after the decimal point: 2 for USD, 0 for JPY, 3 for KWD."""
    return get_currency_precision(code)


@cache
def languages() -> dict[str, str]:
    names = Locale("en").languages
    return {code: names[code] for code in sorted(names) if len(code) == 2 and code.isalpha()}


def language_choices() -> list[tuple[str, str]]:
    return sorted(languages().items(), key=lambda item: item[1])
