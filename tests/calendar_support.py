"""Shared steps of the calendar sync tests: point the product at the emulators (over real HTTP),
connect an emulated account the way a consultant does, and act as its owner in the emulator."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from urllib.parse import urlsplit

import httpx


def emulators_on(settings, live_server_url: str) -> str:
    settings.CALENDAR_SANDBOX = True
    settings.GOOGLE_AUTH_URL = f"{live_server_url}/sandbox/google/o/oauth2/v2/auth"
    settings.GOOGLE_TOKEN_URL = f"{live_server_url}/sandbox/google/token"
    settings.GOOGLE_REVOKE_URL = f"{live_server_url}/sandbox/google/revoke"
    settings.GOOGLE_USERINFO_URL = f"{live_server_url}/sandbox/google/v1/userinfo"
    settings.GOOGLE_CALENDAR_API_BASE = f"{live_server_url}/sandbox/google/calendar/v3"
    settings.MICROSOFT_AUTHORITY = f"{live_server_url}/sandbox/microsoft"
    settings.MICROSOFT_GRAPH_BASE = f"{live_server_url}/sandbox/microsoft/graph/v1.0"
    settings.CALENDAR_PUSH_BASE_URL = live_server_url
    return live_server_url


def new_email(prefix: str = "cal") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


class Emulator:
    """One provider's dev endpoints, as a script (or the dev page) uses them."""

    def __init__(self, base: str, provider: str) -> None:
        self.url = f"{base}/sandbox/{provider}/dev"
        self.provider = provider

    def post(self, path: str, body: dict, status: int = 201) -> dict:
        response = httpx.post(f"{self.url}/{path}", json=body)
        assert response.status_code in (status, 200, 201), response.text
        return response.json() if response.content else {}

    def event(self, email: str, start: datetime | str, end: datetime | str, **extra) -> dict:
        body = {"account_email": email, "calendar": extra.pop("calendar", "primary"), "summary": "Busy",
                "start": start if isinstance(start, str) else start.isoformat(),
                "end": end if isinstance(end, str) else end.isoformat(), "all_day": False,
                "transparent": False} | extra
        response = httpx.post(f"{self.url}/events", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def move(self, event_id: str, **changes) -> dict:
        body = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in changes.items()}
        response = httpx.patch(f"{self.url}/events/{event_id}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def delete(self, event_id: str) -> None:
        assert httpx.delete(f"{self.url}/events/{event_id}").status_code == 204

    def events(self, email: str) -> list[dict]:
        return httpx.get(f"{self.url}/events", params={"account_email": email}).json()["items"]

    def channels(self, email: str) -> list[dict]:
        return httpx.get(f"{self.url}/channels", params={"account_email": email}).json()["items"]

    def fault(self, email: str, status: int, count: int = 1, retry_after: int = 1) -> None:
        self.post("faults", {"account_email": email, "status": status, "count": count, "retry_after": retry_after})

    def calendar(self, email: str, name: str) -> dict:
        return self.post("calendars", {"account_email": email, "name": name})


def connect(api, client, platform_host: str, provider: str, email: str) -> str:
    """Connect ``email``'s emulated account through the API, the consent page and the callback on
    the platform host, as the consultant's browser would; returns the connection id."""
    started = api.call("post", "/me/calendar-connections", {"provider": provider})
    assert started.status_code == 201, started.content
    consent = httpx.get(started.json()["authorize_url"] + f"&approve=1&login_hint={email}")
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["Location"])
    assert back.path == f"/oauth/callback/{provider}"
    done = client.get(f"{back.path}?{back.query}", HTTP_HOST=platform_host)
    assert done.status_code == 302, done.content.decode()[:2000]
    assert "/calendars/?connected=" in done["Location"]
    return done["Location"].rsplit("=", 1)[1]


def hourly_offering(api) -> dict:
    """The tenant's owner takes hour-long calls 09:00–17:00 UTC every day (a free offering)."""
    hours = api.call("put", "/me/availability", {
        "timezone": "UTC", "weekly": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(7)],
        "overrides": []})
    assert hours.status_code == 200, hours.content
    created = api.call("post", "/me/offerings", {
        "kind": "individual", "title": "Strategy hour", "duration_minutes": 60, "slot_step_minutes": 60,
        "price": {"amount": 0}, "min_notice_minutes": 60})
    assert created.status_code == 201, created.content
    return created.json()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def slot_hours(api, offering: dict, day: date) -> list[int]:
    """The hours (UTC) of the free slots on ``day``."""
    response = api.call("get", f"/offerings/{offering['id']}/slots?start={day}&end={day}&tz=UTC", auth=False)
    assert response.status_code == 200, response.content
    return [datetime.fromisoformat(slot["start"]).hour for slot in response.json()["slots"]]


def sync(tenant, connection_id: str) -> str:
    """Sync one connection now, as the worker would."""
    from django_tenants.utils import tenant_context

    from calendars.models import CalendarConnection
    from calendars.sync import connection_sync

    with tenant_context(tenant):
        return connection_sync(CalendarConnection.objects.get(pk=connection_id))
