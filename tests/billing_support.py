"""Helpers for the billing tests: a consultant with open hours, paid offerings,
bookings and payments through the Stripe emulator."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from django.utils import timezone

KYIV = ZoneInfo("Europe/Kyiv")


def open_every_day(api) -> None:
    response = api.call("put", "/me/availability", {
        "timezone": "Europe/Kyiv",
        "weekly": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)], "overrides": []})
    assert response.status_code == 200, response.content


def offering(api, *, amount: int, currency: str = "EUR", **changes) -> dict:
    body = {"kind": "individual", "title": "Strategy call", "duration_minutes": 60,
            "price": {"amount": amount, "currency": currency}, "min_notice_minutes": 60} | changes
    response = api.call("post", "/me/offerings", body)
    assert response.status_code == 201, response.content
    return response.json()


def slot(api, offering_id: str, *, days_ahead: int = 3, index: int = 0) -> str:
    day: date = timezone.now().astimezone(KYIV).date() + timedelta(days=days_ahead)
    response = api.call("get", f"/offerings/{offering_id}/slots?start={day}&end={day}", auth=False)
    assert response.status_code == 200, response.content
    return response.json()["slots"][index]["start"]


def book(api, offering_id: str, start: str | None = None, **changes):
    body = {"offering_id": offering_id, "name": "Carla Client", "email": "carla@client.example",
            "timezone": "America/New_York"} | changes
    if start:
        body["start"] = start
    return api.call("post", "/bookings", body, auth=False)


def paid_booking(api, *, amount: int = 5000, currency: str = "EUR", days_ahead: int = 3, **changes) -> dict:
    created = offering(api, amount=amount, currency=currency, **changes)
    response = book(api, created["id"], slot(api, created["id"], days_ahead=days_ahead))
    assert response.status_code == 201, response.content
    return response.json() | {"offering": created}


def session_id(checkout_url: str) -> str:
    return urlsplit(checkout_url).path.rstrip("/").rsplit("/", 1)[-1]


def pay(checkout_url: str, card: str = "4242424242424242") -> httpx.Response:
    """What paying on the hosted checkout page does (the emulator's script endpoint)."""
    return httpx.post(f"{checkout_url.rstrip('/')}/pay", json={"card": card})


def local_path(url: str) -> str:
    """An absolute URL on a tenant host, as a path for the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def manage_token(booking: dict) -> str:
    return booking["manage_url"].split("token=", 1)[1]


def as_utc(value: str) -> datetime:
    return datetime.fromisoformat(value)
