"""Calendar sync against the Microsoft emulator (identity platform + Graph) over real HTTP:
connecting, delta sync with series and all-day events, a forgotten delta link, subscriptions with
their validation handshake and renewal, notifications, write-back and a revoked grant."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.calendar_support import Emulator, connect, emulators_on, hourly_offering, new_email
from tests.calendar_support import at as _at
from tests.calendar_support import slot_hours as _slots
from tests.calendar_support import sync as _sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def microsoft(settings, live_server_url) -> Emulator:
    return Emulator(emulators_on(settings, live_server_url), "microsoft")


@pytest.fixture
def day() -> date:
    return (timezone.now() + timedelta(days=3)).date()


@pytest.fixture
def offering(alpha_api) -> dict:
    return hourly_offering(alpha_api)





def _graph_time(value: dict) -> datetime:
    return datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=UTC)


def test_connecting_microsoft_and_mirroring_its_default_calendar(alpha_api, client, platform_host, microsoft,
                                                                 offering, day, tenant_alpha):
    email = new_email("ms")
    microsoft.calendar(email, "Side projects")
    connection_id = connect(alpha_api, client, platform_host, "microsoft", email)
    [listed] = alpha_api.call("get", "/me/calendar-connections").json()
    assert (listed["provider"], listed["account_email"], listed["status"]) == ("microsoft", email, "active")
    calendars = {c["name"]: c for c in alpha_api.call("get", "/me/calendars").json()}
    assert (calendars["Calendar"]["primary"], calendars["Calendar"]["readable"],
            calendars["Calendar"]["writable"]) == (True, True, True)
    assert calendars["Side projects"]["readable"] is False

    busy = microsoft.event(email, _at(day, 10), _at(day, 11))
    microsoft.event(email, _at(day, 12), _at(day, 13), transparent=True)
    microsoft.event(email, _at(day, 13), _at(day, 14), declined=True)
    microsoft.event(email, (day + timedelta(days=1)).isoformat(), (day + timedelta(days=2)).isoformat(),
                    all_day=True)
    series = microsoft.event(email, _at(day + timedelta(days=2), 16), _at(day + timedelta(days=2), 17),
                             recurrence="RRULE:FREQ=DAILY;COUNT=2")
    assert _sync(tenant_alpha, connection_id) == "synced"
    assert _slots(alpha_api, offering, day) == [9, 11, 12, 13, 14, 15, 16]
    assert _slots(alpha_api, offering, day + timedelta(days=1)) == []
    assert _slots(alpha_api, offering, day + timedelta(days=2)) == list(range(9, 16))
    assert _slots(alpha_api, offering, day + timedelta(days=3)) == list(range(9, 16))

    # Incremental: a move, a deleted series.
    microsoft.move(busy["id"], start=_at(day, 15), end=_at(day, 16))
    microsoft.delete(series["id"])
    assert _sync(tenant_alpha, connection_id) == "synced"
    assert _slots(alpha_api, offering, day) == [9, 10, 11, 12, 13, 14, 16]
    assert _slots(alpha_api, offering, day + timedelta(days=2)) == list(range(9, 17))


def test_a_forgotten_delta_link_means_one_full_resync(alpha_api, client, platform_host, microsoft, offering, day,
                                                      tenant_alpha):
    email = new_email("ms")
    connection_id = connect(alpha_api, client, platform_host, "microsoft", email)
    gone = microsoft.event(email, _at(day, 9), _at(day, 10))
    _sync(tenant_alpha, connection_id)
    microsoft.post("invalidate-sync", {"account_email": email}, status=200)
    microsoft.delete(gone["id"])
    microsoft.event(email, _at(day, 16), _at(day, 17))
    assert _sync(tenant_alpha, connection_id) == "synced"
    assert _slots(alpha_api, offering, day) == list(range(9, 16))


def test_subscriptions_are_validated_notify_and_are_renewed(alpha_api, client, platform_host, microsoft, offering,
                                                            day, tenant_alpha, push_receiver, settings,
                                                            django_capture_on_commit_callbacks):
    from calendars.models import PushChannel
    from calendars.sync import due_sync

    settings.CALENDAR_PUSH_BASE_URL = push_receiver.url
    email = new_email("ms")
    connection_id = connect(alpha_api, client, platform_host, "microsoft", email)
    _sync(tenant_alpha, connection_id)
    handshakes = [n for n in push_receiver.received if "validationToken=" in n["path"]]
    assert len(handshakes) == 1 and handshakes[0]["path"].startswith("/webhooks/microsoft-calendar?")
    with tenant_context(tenant_alpha):
        channel = PushChannel.objects.get()
    # Graph's handshake against the product's own endpoint: the token comes back as plain text.
    echoed = client.post("/webhooks/microsoft-calendar?validationToken=Validation%3A+Testing+client+application",
                         b"", content_type="text/plain", HTTP_HOST=platform_host)
    assert echoed.status_code == 200 and echoed.content == b"Validation: Testing client application"
    assert echoed["Content-Type"].startswith("text/plain")

    microsoft.event(email, _at(day, 11), _at(day, 12))
    [notification] = [n for n in push_receiver.received if "validationToken=" not in n["path"]]
    body = json.loads(notification["body"])
    assert body["value"][0]["subscriptionId"] == channel.channel_id
    assert body["value"][0]["clientState"] == channel.secret

    forged = json.loads(notification["body"])
    forged["value"][0]["clientState"] = "guess"
    refused = client.post("/webhooks/microsoft-calendar", forged, content_type="application/json",
                          HTTP_HOST=platform_host)
    assert refused.status_code == 403
    assert 11 in _slots(alpha_api, offering, day)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.post("/webhooks/microsoft-calendar", notification["body"],
                               content_type="application/json", HTTP_HOST=platform_host)
    assert accepted.status_code == 202
    assert 11 not in _slots(alpha_api, offering, day)
    assert client.post("/webhooks/microsoft-calendar", b"nonsense", content_type="application/json",
                       HTTP_HOST=platform_host).status_code == 400

    # A day before it runs out, the subscription is renewed in place.
    with tenant_context(tenant_alpha):
        PushChannel.objects.update(expires_at=timezone.now() + timedelta(hours=12))
        due_sync()
        renewed = PushChannel.objects.get()
    assert renewed.channel_id == channel.channel_id and renewed.expires_at > timezone.now() + timedelta(days=2)


def test_calls_are_written_to_outlook_moved_and_removed(alpha_api, client, platform_host, microsoft, offering, day,
                                                        tenant_alpha, django_capture_on_commit_callbacks):
    from urllib.parse import parse_qs, urlsplit

    email = new_email("ms")
    connection_id = connect(alpha_api, client, platform_host, "microsoft", email)
    with django_capture_on_commit_callbacks(execute=True):
        booked = alpha_api.call("post", "/bookings", {
            "offering_id": offering["id"], "start": _at(day, 10).isoformat(), "name": "Mo Client",
            "email": "mo@client.example", "timezone": "Europe/London"}, auth=False)
    assert booked.status_code == 201, booked.content
    [event] = microsoft.events(email)
    assert event["subject"].startswith("Strategy hour") and _graph_time(event["start"]) == _at(day, 10)
    assert "/room/" in event["location"]["displayName"]
    _sync(tenant_alpha, connection_id)
    assert _slots(alpha_api, offering, day) == [9, 11, 12, 13, 14, 15, 16]

    url = urlsplit(booked.json()["manage_url"])
    booking_id, token = url.path.split("/")[2], parse_qs(url.query)["token"][0]
    with django_capture_on_commit_callbacks(execute=True):
        moved = alpha_api.call("post", f"/bookings/{booking_id}/reschedule?token={token}",
                               {"start": _at(day, 15).isoformat()}, auth=False)
    assert moved.status_code == 200
    [event_after] = microsoft.events(email)
    assert event_after["id"] == event["id"] and _graph_time(event_after["start"]) == _at(day, 15)
    with django_capture_on_commit_callbacks(execute=True):
        alpha_api.call("post", f"/bookings/{booking_id}/cancel?token={token}", {"reason": "x"}, auth=False)
    assert microsoft.events(email) == []


def test_a_repeated_create_after_a_lost_answer_makes_one_event(alpha_api, client, platform_host, microsoft,
                                                               offering, day, tenant_alpha,
                                                               django_capture_on_commit_callbacks):
    """The write is retried as if Graph's first answer had been lost: ``transactionId`` keeps it single."""
    from calendars.models import CallCalendarEvent
    from calendars.writeback import call_event_write

    email = new_email("ms")
    connect(alpha_api, client, platform_host, "microsoft", email)
    with django_capture_on_commit_callbacks(execute=True):
        alpha_api.call("post", "/bookings", {
            "offering_id": offering["id"], "start": _at(day, 10).isoformat(), "name": "Mo Client",
            "email": "mo@client.example", "timezone": "Europe/London"}, auth=False)
    with tenant_context(tenant_alpha):
        row = CallCalendarEvent.objects.get()
        CallCalendarEvent.objects.filter(pk=row.pk).update(provider_event_id="", pending=True,
                                                           next_attempt_at=timezone.now())
        assert call_event_write(call_id=row.call_id) == "written"
        assert CallCalendarEvent.objects.get().provider_event_id == row.provider_event_id
    assert len(microsoft.events(email)) == 1


def test_a_revoked_microsoft_grant_needs_reconnecting(alpha_api, client, platform_host, microsoft, tenant_alpha):
    email = new_email("ms")
    connection_id = connect(alpha_api, client, platform_host, "microsoft", email)
    microsoft.post("revoke", {"account_email": email}, status=200)
    microsoft.post("expire-tokens", {"account_email": email}, status=200)
    assert _sync(tenant_alpha, connection_id) == "needs_reconnect"
    assert alpha_api.call("get", "/me/calendar-connections").json()[0]["status"] == "needs_reconnect"


def test_microsoft_rotates_refresh_tokens_and_its_429_is_honoured(alpha_api, client, platform_host, microsoft,
                                                                  tenant_alpha):
    from calendars.crypto import token_decrypt
    from calendars.models import CalendarConnection

    email = new_email("ms")
    connection_id = connect(alpha_api, client, platform_host, "microsoft", email)
    with tenant_context(tenant_alpha):
        before = token_decrypt(CalendarConnection.objects.get(pk=connection_id).refresh_token)
    microsoft.post("expire-tokens", {"account_email": email}, status=200)
    assert _sync(tenant_alpha, connection_id) == "synced"
    with tenant_context(tenant_alpha):
        after = token_decrypt(CalendarConnection.objects.get(pk=connection_id).refresh_token)
    assert after and after != before  # the newest refresh token is kept

    microsoft.fault(email, 429, count=1, retry_after=90)
    started = timezone.now()
    assert _sync(tenant_alpha, connection_id) == "retry"
    with tenant_context(tenant_alpha):
        next_at = CalendarConnection.objects.get(pk=connection_id).next_sync_at
    assert started + timedelta(seconds=89) <= next_at <= timezone.now() + timedelta(seconds=91)
