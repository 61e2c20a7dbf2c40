"""Calendar sync against the Google emulator over real HTTP: connecting (and the refused states),
choosing calendars, mirroring busy events into the slots, resyncs, tokens, failures, push
notifications and writing calls back."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from conftest import ALPHA_OWNER_PASSWORD, MEMBER_PASSWORD
from tests.calendar_support import Emulator, connect, emulators_on, hourly_offering, new_email
from tests.calendar_support import at as _at
from tests.calendar_support import slot_hours as _slots
from tests.calendar_support import sync as _sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def emulated(settings, live_server_url):
    return emulators_on(settings, live_server_url)


@pytest.fixture
def google(emulated) -> Emulator:
    return Emulator(emulated, "google")


@pytest.fixture
def day() -> date:
    return (timezone.now() + timedelta(days=3)).date()


@pytest.fixture
def offering(alpha_api) -> dict:
    return hourly_offering(alpha_api)





def _conn(tenant, connection_id: str):
    from calendars.models import CalendarConnection

    with tenant_context(tenant):
        return CalendarConnection.objects.get(pk=connection_id)


# --- Connecting -----------------------------------------------------------------------------------------


def test_connecting_google_lists_its_calendars_primary_readable_and_writable(
        alpha_api, client, platform_host, google, tenant_alpha):
    email = new_email()
    google.calendar(email, "Family")
    connection_id = connect(alpha_api, client, platform_host, "google", email)

    listed = alpha_api.call("get", "/me/calendar-connections").json()
    assert listed == [{"id": connection_id, "provider": "google", "account_email": email, "url": None,
                       "status": "active", "last_synced_at": None, "failure_reason": None}]
    calendars = {c["name"]: c for c in alpha_api.call("get", "/me/calendars").json()}
    assert calendars[email] | {"id": "x"} == {"id": "x", "connection_id": connection_id, "name": email,
                                             "primary": True, "readable": True, "writable": True}
    assert calendars["Family"]["readable"] is False and calendars["Family"]["writable"] is False
    # Tokens are stored encrypted.
    stored = _conn(tenant_alpha, connection_id)
    assert stored.access_token and stored.refresh_token.startswith("gAAAA")
    from calendars.crypto import token_decrypt

    assert token_decrypt(stored.access_token) not in stored.access_token

    # Connecting the same account again reuses its connection.
    assert connect(alpha_api, client, platform_host, "google", email) == connection_id
    assert len(alpha_api.call("get", "/me/calendar-connections").json()) == 1
    # A second account's primary calendar is readable but not writable: Alice already has one.
    other = connect(alpha_api, client, platform_host, "google", new_email())
    second = [c for c in alpha_api.call("get", "/me/calendars").json() if c["connection_id"] == other]
    assert [(c["primary"], c["readable"], c["writable"]) for c in second] == [(True, True, False)]


def _started_state(alpha_api, provider: str = "google") -> str:
    from urllib.parse import parse_qs, urlsplit

    url = alpha_api.call("post", "/me/calendar-connections", {"provider": provider}).json()["authorize_url"]
    return parse_qs(urlsplit(url).query)["state"][0]


def test_a_tampered_expired_reused_or_misdirected_state_is_refused(alpha_api, client, platform_host, google):
    import httpx

    state = _started_state(alpha_api)
    tampered = client.get(f"/oauth/callback/google?code=abc&state={state[:-2]}xx", HTTP_HOST=platform_host)
    assert tampered.status_code == 400 and "not valid" in tampered.content.decode()
    assert client.get("/oauth/callback/google?code=abc", HTTP_HOST=platform_host).status_code == 400
    # Google's state on Microsoft's callback.
    assert client.get(f"/oauth/callback/microsoft?code=abc&state={state}", HTTP_HOST=platform_host).status_code == 400
    later = timezone.now() + timedelta(minutes=11)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        expired = client.get(f"/oauth/callback/google?code=abc&state={state}", HTTP_HOST=platform_host)
    assert expired.status_code == 400 and "expired" in expired.content.decode()

    started = alpha_api.call("post", "/me/calendar-connections", {"provider": "google"}).json()["authorize_url"]
    consent = httpx.get(started + f"&approve=1&login_hint={new_email()}")
    callback = consent.headers["Location"].split("/oauth/", 1)[1]
    assert client.get(f"/oauth/{callback}", HTTP_HOST=platform_host).status_code == 302
    again = client.get(f"/oauth/{callback}", HTTP_HOST=platform_host)
    assert again.status_code == 400 and "already used" in again.content.decode()
    assert len(alpha_api.call("get", "/me/calendar-connections").json()) == 1


def test_declining_on_the_consent_page_connects_nothing(alpha_api, client, platform_host, google):
    import httpx

    started = alpha_api.call("post", "/me/calendar-connections", {"provider": "google"}).json()["authorize_url"]
    declined = httpx.get(started + f"&approve=0&login_hint={new_email()}")
    back = declined.headers["Location"].split("/oauth/", 1)[1]
    response = client.get(f"/oauth/{back}", HTTP_HOST=platform_host)
    assert response.status_code == 302 and response["Location"].endswith("/calendars/?error=access_denied")
    assert alpha_api.call("get", "/me/calendar-connections").json() == []


@pytest.mark.parametrize(("body", "message"), [
    ({"provider": "yahoo"}, "“provider” must be"),
    ({}, "“provider” must be"),
    ({"provider": "ics"}, "ICS address"),
    ({"provider": "google", "login_hint": 5}, "login_hint"),
])
def test_bad_connection_requests_get_422(alpha_api, google, body, message):
    response = alpha_api.call("post", "/me/calendar-connections", body)
    assert response.status_code == 422 and message in response.json()["detail"]


def test_assistants_have_no_calendars_and_other_tenants_ids_are_unknown(
        alpha_api, beta_api, client, platform_host, google, make_member, tenant_alpha, login, alpha_host):
    connection_id = connect(alpha_api, client, platform_host, "google", new_email())
    calendar_id = alpha_api.call("get", "/me/calendars").json()[0]["id"]
    assert beta_api.call("delete", f"/me/calendar-connections/{connection_id}").status_code == 404
    assert beta_api.call("patch", f"/me/calendars/{calendar_id}", {"readable": False}).status_code == 404
    make_member(tenant_alpha, "assistant", "ada@alpha.example", "Ada Assistant")
    token = client.post("/api/v1/auth/token", {"email": "ada@alpha.example", "password": MEMBER_PASSWORD},
                        content_type="application/json", HTTP_HOST=alpha_host)
    assert token.status_code == 200, token.content
    forbidden = client.get("/api/v1/me/calendars", HTTP_HOST=alpha_host,
                           HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    assert forbidden.status_code == 403


# --- Choosing calendars ---------------------------------------------------------------------------------


def test_one_writable_calendar_and_bad_patches_change_nothing(alpha_api, client, platform_host, google):
    email = new_email()
    google.calendar(email, "Work")
    connect(alpha_api, client, platform_host, "google", email)
    calendars = {c["name"]: c for c in alpha_api.call("get", "/me/calendars").json()}
    work = calendars["Work"]
    changed = alpha_api.call("patch", f"/me/calendars/{work['id']}", {"writable": True, "readable": True})
    assert changed.status_code == 200 and changed.json() | {"id": "x"} == work | {
        "id": "x", "writable": True, "readable": True}
    now = {c["name"]: c for c in alpha_api.call("get", "/me/calendars").json()}
    assert now[email]["writable"] is False and now["Work"]["writable"] is True
    for body, field in [({"readable": "yes"}, "readable"), ({"writable": 1}, "writable"), ({"colour": "red"}, "colour"),
                        ({}, None)]:
        refused = alpha_api.call("patch", f"/me/calendars/{work['id']}", body)
        assert refused.status_code == 422, body
        if field:
            assert field in refused.json()["detail"]
    assert {c["name"]: c for c in alpha_api.call("get", "/me/calendars").json()} == now
    assert alpha_api.call("patch", "/me/calendars/999999", {"readable": True}).status_code == 404
    assert alpha_api.call("patch", "/me/calendars/abc", {"readable": True}).status_code == 404


# --- Busy events into slots -----------------------------------------------------------------------------


def test_busy_events_block_slots_and_follow_moves_and_deletes(
        alpha_api, client, platform_host, google, offering, day, tenant_alpha):
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    assert _slots(alpha_api, offering, day) == list(range(9, 17))
    meeting = google.event(email, _at(day, 10), _at(day, 11, 30))
    google.event(email, _at(day, 14), _at(day, 15), transparent=True)  # free: blocks nothing
    google.event(email, _at(day, 15), _at(day, 16), declined=True)  # declined: blocks nothing
    assert _sync(tenant_alpha, connection_id) == "synced"
    assert _slots(alpha_api, offering, day) == [9, 12, 13, 14, 15, 16]
    assert alpha_api.call("get", "/me/calendar-connections").json()[0]["last_synced_at"] is not None

    google.move(meeting["id"], start=_at(day, 13), end=_at(day, 14))
    _sync(tenant_alpha, connection_id)
    assert _slots(alpha_api, offering, day) == [9, 10, 11, 12, 14, 15, 16]
    google.delete(meeting["id"])
    _sync(tenant_alpha, connection_id)
    assert _slots(alpha_api, offering, day) == list(range(9, 17))


def test_all_day_and_recurring_events(alpha_api, client, platform_host, google, offering, day, tenant_alpha):
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    google.event(email, day.isoformat(), (day + timedelta(days=1)).isoformat(), all_day=True)
    series = google.event(email, _at(day + timedelta(days=1), 9), _at(day + timedelta(days=1), 10),
                          recurrence="RRULE:FREQ=DAILY;COUNT=3")
    _sync(tenant_alpha, connection_id)
    assert _slots(alpha_api, offering, day) == []
    for offset in (1, 2, 3):
        assert _slots(alpha_api, offering, day + timedelta(days=offset)) == list(range(10, 17))
    assert _slots(alpha_api, offering, day + timedelta(days=4)) == list(range(9, 17))
    google.delete(series["id"])
    _sync(tenant_alpha, connection_id)
    for offset in (1, 2, 3):
        assert _slots(alpha_api, offering, day + timedelta(days=offset)) == list(range(9, 17))


def test_a_forgotten_sync_token_means_one_full_resync(alpha_api, client, platform_host, google, offering, day,
                                                      tenant_alpha):
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    kept = google.event(email, _at(day, 9), _at(day, 10))
    _sync(tenant_alpha, connection_id)
    google.post("invalidate-sync", {"account_email": email}, status=200)
    google.delete(kept["id"])
    google.event(email, _at(day, 16), _at(day, 17))
    assert _sync(tenant_alpha, connection_id) == "synced"
    assert _slots(alpha_api, offering, day) == list(range(9, 16))


def test_slots_query_count_does_not_grow_with_mirrored_events(alpha_api, offering, day, tenant_alpha):
    from accounts.models import User
    from calendars.models import CalendarConnection, ExternalCalendar, ExternalCalendarEvent

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            _slots(alpha_api, offering, day)
        return len(queries)

    before = count()
    with tenant_context(tenant_alpha):
        alice = User.objects.get(email="alice@alpha.example")
        conn = CalendarConnection.objects.create(consultant=alice, provider="google", account_id="a",
                                                 account_email="a@example.com")
        calendar = ExternalCalendar.objects.create(connection=conn, consultant=alice, provider_calendar_id="a",
                                                   name="a", readable=True)
        ExternalCalendarEvent.objects.bulk_create(
            ExternalCalendarEvent(calendar=calendar, consultant=alice, provider_event_id=str(n),
                                  start=_at(day, 9) + timedelta(minutes=n % 55),
                                  end=_at(day, 9) + timedelta(minutes=n % 55 + 5))
            for n in range(500))
    assert count() == before
    assert _slots(alpha_api, offering, day) == list(range(10, 17))


# --- Tokens and failures --------------------------------------------------------------------------------


def test_an_expired_access_token_is_refreshed(alpha_api, client, platform_host, google, offering, day,
                                              tenant_alpha):
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    before = _conn(tenant_alpha, connection_id).access_token
    google.post("expire-tokens", {"account_email": email}, status=200)
    google.event(email, _at(day, 12), _at(day, 13))
    assert _sync(tenant_alpha, connection_id) == "synced"
    assert _conn(tenant_alpha, connection_id).access_token != before
    assert 12 not in _slots(alpha_api, offering, day)


def test_a_revoked_grant_needs_reconnecting_and_is_told_once(alpha_api, client, platform_host, google, offering,
                                                            day, tenant_alpha, django_capture_on_commit_callbacks,
                                                            mailbox, login):
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    google.event(email, _at(day, 12), _at(day, 13))
    _sync(tenant_alpha, connection_id)
    google.post("revoke", {"account_email": email}, status=200)
    google.post("expire-tokens", {"account_email": email}, status=200)
    with django_capture_on_commit_callbacks(execute=True):
        assert _sync(tenant_alpha, connection_id) == "needs_reconnect"
    with django_capture_on_commit_callbacks(execute=True):
        assert _sync(tenant_alpha, connection_id) == "skipped"
    listed = alpha_api.call("get", "/me/calendar-connections").json()[0]
    assert listed["status"] == "needs_reconnect" and listed["failure_reason"]
    login(client, alpha_api.host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    told = [m for m in mailbox if "Reconnect your calendar" in m["Subject"]]
    assert len(told) == 1 and told[0]["To"] == "alice@alpha.example"
    assert "/calendars/" in mailbox.bodies(told[0])
    # The booking page keeps working, and the last known busy time still blocks.
    assert _slots(alpha_api, offering, day) == [9, 10, 11, 13, 14, 15, 16]
    # The workspace says so too, on the dashboard and the calendars page.
    assert "needs reconnecting" in client.get("/dashboard/", HTTP_HOST=alpha_api.host).content.decode()
    assert "Needs reconnecting." in client.get("/calendars/", HTTP_HOST=alpha_api.host).content.decode()
    # Reconnecting (same account) makes it active again.
    assert connect(alpha_api, client, platform_host, "google", email) == connection_id
    assert alpha_api.call("get", "/me/calendar-connections").json()[0]["status"] == "active"


def test_provider_down_keeps_slots_served_from_the_mirror(alpha_api, client, platform_host, google, offering, day,
                                                          tenant_alpha):
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    google.event(email, _at(day, 12), _at(day, 13))
    _sync(tenant_alpha, connection_id)
    google.fault(email, 503, count=5)
    assert _sync(tenant_alpha, connection_id) == "retry"
    conn = _conn(tenant_alpha, connection_id)
    assert conn.status == "active" and conn.next_sync_at > timezone.now()
    assert _slots(alpha_api, offering, day) == [9, 10, 11, 13, 14, 15, 16]


def test_a_429_is_honoured_with_its_retry_after(alpha_api, client, platform_host, google, tenant_alpha):
    from core.models import DueWork

    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    google.fault(email, 429, count=1, retry_after=120)
    started = timezone.now()
    assert _sync(tenant_alpha, connection_id) == "retry"
    next_at = _conn(tenant_alpha, connection_id).next_sync_at
    assert started + timedelta(seconds=119) <= next_at <= timezone.now() + timedelta(seconds=121)
    due = DueWork.objects.get(schema_name=tenant_alpha.schema_name, kind="calendars.sync").due_at
    assert due <= next_at
    # Nothing is asked of Google before then: the periodic work leaves the connection alone.
    from calendars.sync import due_sync

    with tenant_context(tenant_alpha):
        assert due_sync(now=started + timedelta(seconds=60))["synced"] == 0
        assert due_sync(now=started + timedelta(seconds=125))["synced"] == 1


# --- Push notifications ---------------------------------------------------------------------------------


def _forward_google(client, platform_host: str, notification: dict, **override):
    headers = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in notification["headers"].items()
               if name.lower().startswith("x-goog-")}
    headers.update(override)
    return client.post("/webhooks/google-calendar", b"", content_type="application/octet-stream",
                       HTTP_HOST=platform_host, **headers)


def test_a_push_notification_syncs_the_calendar(alpha_api, client, platform_host, google, offering, day,
                                                tenant_alpha, push_receiver, settings,
                                                django_capture_on_commit_callbacks):
    settings.CALENDAR_PUSH_BASE_URL = push_receiver.url
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    _sync(tenant_alpha, connection_id)  # opens the channel
    [channel] = google.channels(email)
    assert channel["address"] == f"{push_receiver.url}/webhooks/google-calendar" and not channel["stopped"]
    google.event(email, _at(day, 11), _at(day, 12))
    exists = [n for n in push_receiver.received if n["headers"].get("X-Goog-Resource-State") == "exists"]
    assert len(exists) == 1

    forged = _forward_google(client, platform_host, exists[0], HTTP_X_GOOG_CHANNEL_TOKEN="guess")
    assert forged.status_code == 403
    unknown = _forward_google(client, platform_host, exists[0], HTTP_X_GOOG_CHANNEL_ID="consultio-nope")
    assert unknown.status_code == 404
    assert 11 in _slots(alpha_api, offering, day)
    with django_capture_on_commit_callbacks(execute=True):
        assert _forward_google(client, platform_host, exists[0]).status_code == 200
    assert 11 not in _slots(alpha_api, offering, day)


def test_another_tenants_channel_cannot_be_triggered_with_this_tenants_secret(
        alpha_api, beta_api, client, platform_host, google, tenant_alpha, tenant_beta, push_receiver, settings):
    from calendars.models import PushChannel

    settings.CALENDAR_PUSH_BASE_URL = push_receiver.url
    alpha_conn = connect(alpha_api, client, platform_host, "google", new_email())
    beta_conn = connect(beta_api, client, platform_host, "google", new_email())
    _sync(tenant_alpha, alpha_conn)
    _sync(tenant_beta, beta_conn)
    with tenant_context(tenant_alpha):
        alpha_channel = PushChannel.objects.get()
    with tenant_context(tenant_beta):
        beta_channel = PushChannel.objects.get()
    response = client.post("/webhooks/google-calendar", b"", content_type="application/octet-stream",
                           HTTP_HOST=platform_host,
                           HTTP_X_GOOG_CHANNEL_ID=beta_channel.channel_id,
                           HTTP_X_GOOG_CHANNEL_TOKEN=alpha_channel.secret, HTTP_X_GOOG_RESOURCE_STATE="exists")
    assert response.status_code == 403
    # Webhooks live on the platform host only.
    assert client.post("/webhooks/google-calendar", b"", content_type="application/octet-stream",
                       HTTP_HOST=alpha_api.host).status_code == 404


def test_disconnecting_stops_channels_and_gives_the_slots_back(alpha_api, client, platform_host, google, offering,
                                                               day, tenant_alpha, push_receiver, settings):
    settings.CALENDAR_PUSH_BASE_URL = push_receiver.url
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    google.event(email, _at(day, 12), _at(day, 13))
    _sync(tenant_alpha, connection_id)
    assert 12 not in _slots(alpha_api, offering, day)
    assert alpha_api.call("delete", f"/me/calendar-connections/{connection_id}").status_code == 204
    channels = google.channels(email)
    assert channels and all(channel["stopped"] for channel in channels)
    assert _slots(alpha_api, offering, day) == list(range(9, 17))
    assert alpha_api.call("get", "/me/calendar-connections").json() == []
    assert alpha_api.call("delete", f"/me/calendar-connections/{connection_id}").status_code == 404


# --- Writing calls back ---------------------------------------------------------------------------------


def _book(api, offering: dict, start: datetime):
    response = api.call("post", "/bookings", {
        "offering_id": offering["id"], "start": start.isoformat(), "name": "Carla Client",
        "email": "carla@client.example", "timezone": "Europe/Paris"}, auth=False)
    assert response.status_code == 201, response.content
    return response.json()


def _manage(body: dict) -> tuple[str, str]:
    from urllib.parse import parse_qs, urlsplit

    url = urlsplit(body["manage_url"])
    return url.path.split("/")[2], parse_qs(url.query)["token"][0]


def test_booked_calls_are_written_moved_and_removed(alpha_api, client, platform_host, google, offering, day,
                                                    tenant_alpha, django_capture_on_commit_callbacks):
    from calendars.models import CallCalendarEvent

    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    with django_capture_on_commit_callbacks(execute=True):
        booking = _book(alpha_api, offering, _at(day, 10))
    [event] = google.events(email)
    assert event["summary"].startswith("Strategy hour") and "Carla Client" in event["summary"]
    assert datetime.fromisoformat(event["start"]["dateTime"]) == _at(day, 10)
    assert "/room/" in event["description"]
    with tenant_context(tenant_alpha):
        assert CallCalendarEvent.objects.get().provider_event_id == event["id"]
    # The call's own event does not block anything beyond the call itself.
    _sync(tenant_alpha, connection_id)
    assert _slots(alpha_api, offering, day) == [9, 11, 12, 13, 14, 15, 16]

    booking_id, token = _manage(booking)
    with django_capture_on_commit_callbacks(execute=True):
        moved = alpha_api.call("post", f"/bookings/{booking_id}/reschedule?token={token}",
                               {"start": _at(day, 14).isoformat()}, auth=False)
    assert moved.status_code == 200, moved.content
    [event_after] = google.events(email)
    assert event_after["id"] == event["id"]
    assert datetime.fromisoformat(event_after["start"]["dateTime"]) == _at(day, 14)
    _sync(tenant_alpha, connection_id)
    assert _slots(alpha_api, offering, day) == [9, 10, 11, 12, 13, 15, 16]

    with django_capture_on_commit_callbacks(execute=True):
        canceled = alpha_api.call("post", f"/bookings/{booking_id}/cancel?token={token}", {"reason": "Ill"},
                                  auth=False)
    assert canceled.status_code == 200
    assert google.events(email) == []
    _sync(tenant_alpha, connection_id)
    assert _slots(alpha_api, offering, day) == list(range(9, 17))


def test_a_failed_write_is_retried_until_it_lands(alpha_api, client, platform_host, google, offering, day,
                                                  tenant_alpha, django_capture_on_commit_callbacks):
    from calendars.models import CallCalendarEvent
    from calendars.sync import due_sync

    email = new_email()
    connect(alpha_api, client, platform_host, "google", email)
    google.fault(email, 503, count=1)
    with django_capture_on_commit_callbacks(execute=True):
        booking = _book(alpha_api, offering, _at(day, 10))
    assert booking["status"] == "confirmed"
    assert google.events(email) == []
    with tenant_context(tenant_alpha):
        row = CallCalendarEvent.objects.get()
        assert row.pending and row.last_error and row.next_attempt_at > timezone.now()
        due_sync(now=row.next_attempt_at + timedelta(seconds=1))
        row.refresh_from_db()
        assert not row.pending and row.provider_event_id
    assert len(google.events(email)) == 1


def test_choosing_another_calendar_for_calls_moves_the_upcoming_ones(
        alpha_api, client, platform_host, google, offering, day, tenant_alpha, django_capture_on_commit_callbacks):
    from calendars.sync import due_sync

    email = new_email()
    google.calendar(email, "Work")
    connect(alpha_api, client, platform_host, "google", email)
    with django_capture_on_commit_callbacks(execute=True):
        _book(alpha_api, offering, _at(day, 10))
    [event] = google.events(email)
    work = next(c for c in alpha_api.call("get", "/me/calendars").json() if c["name"] == "Work")
    with django_capture_on_commit_callbacks(execute=True):
        alpha_api.call("patch", f"/me/calendars/{work['id']}", {"writable": True})
    with tenant_context(tenant_alpha):
        due_sync()
        from calendars.models import CallCalendarEvent

        row = CallCalendarEvent.objects.select_related("calendar").get()
        assert row.calendar.name == "Work" and not row.pending
    # Out of the primary calendar, into Work: still one event.
    [moved] = google.events(email)
    assert datetime.fromisoformat(moved["start"]["dateTime"]) == _at(day, 10)
    del event


def test_the_emulated_calendars_page(client, platform_host, google, settings):
    email = new_email()
    google.event(email, "2030-01-02T10:00:00+00:00", "2030-01-02T11:00:00+00:00")
    page = client.get("/sandbox/calendars/", HTTP_HOST=platform_host)
    assert page.status_code == 200
    html = page.content.decode()
    assert email in html and "sandbox/calendars.js" in html and 'name="account_email"' in html
    settings.CALENDAR_SANDBOX = False
    assert client.get("/sandbox/calendars/", HTTP_HOST=platform_host).status_code == 404


def test_the_oauth_callback_and_webhooks_live_on_the_platform_host_only(alpha_api, client, google, alpha_host):
    state = _started_state(alpha_api)
    assert client.get(f"/oauth/callback/google?code=x&state={state}", HTTP_HOST=alpha_host,
                      follow=True).status_code == 404
    assert client.post("/webhooks/microsoft-calendar?validationToken=x", b"", content_type="text/plain",
                       HTTP_HOST=alpha_host).status_code == 404


def test_a_google_channel_is_replaced_before_it_expires(alpha_api, client, platform_host, google, tenant_alpha,
                                                        push_receiver, settings):
    from calendars.models import PushChannel
    from calendars.sync import due_sync
    from core.models import PushRoute

    settings.CALENDAR_PUSH_BASE_URL = push_receiver.url
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    _sync(tenant_alpha, connection_id)
    with tenant_context(tenant_alpha):
        old = PushChannel.objects.get()
        PushChannel.objects.update(expires_at=timezone.now() + timedelta(hours=6))
        due_sync()
        new = PushChannel.objects.get()
    assert new.channel_id != old.channel_id and new.expires_at > timezone.now() + timedelta(days=5)
    stopped = {c["id"]: c["stopped"] for c in google.channels(email)}
    assert stopped == {old.channel_id: True, new.channel_id: False}
    assert list(PushRoute.objects.filter(provider="google", channel_id__in=[old.channel_id, new.channel_id])
                .values_list("channel_id", flat=True)) == [new.channel_id]


def test_a_booking_change_during_a_write_is_written_after_it(alpha_api, client, platform_host, google, offering,
                                                              day, tenant_alpha, django_capture_on_commit_callbacks):
    """A reschedule that arrives while an older write is in flight is not lost: the older write
    does not mark the row done, and the newer state is written after it."""
    from calendars.models import CallCalendarEvent
    from calendars.writeback import _done, _lease, writebacks_due

    email = new_email()
    connect(alpha_api, client, platform_host, "google", email)
    with django_capture_on_commit_callbacks(execute=True):
        booking = _book(alpha_api, offering, _at(day, 10))
    with tenant_context(tenant_alpha):
        row = CallCalendarEvent.objects.get()
        CallCalendarEvent.objects.filter(pk=row.pk).update(pending=True, next_attempt_at=timezone.now())
        in_flight = _lease(row.call_id, timezone.now())  # an older write holds the row
    booking_id, token = _manage(booking)
    with django_capture_on_commit_callbacks(execute=True):
        moved = alpha_api.call("post", f"/bookings/{booking_id}/reschedule?token={token}",
                               {"start": _at(day, 14).isoformat()}, auth=False)
    assert moved.status_code == 200
    with tenant_context(tenant_alpha):
        assert CallCalendarEvent.objects.get().pending  # its own attempt found the row held
        _done(in_flight, "written", timezone.now())  # the older write finishes last
        row = CallCalendarEvent.objects.get()
        assert row.pending and row.leased_until is None
        writebacks_due(now=timezone.now() + timedelta(seconds=1))
        assert not CallCalendarEvent.objects.get().pending
    [event] = google.events(email)
    assert datetime.fromisoformat(event["start"]["dateTime"]) == _at(day, 14)


def test_calls_booked_while_the_account_needs_reconnecting_are_written_after_reconnecting(
        alpha_api, client, platform_host, google, offering, day, tenant_alpha, django_capture_on_commit_callbacks):
    from calendars.models import CallCalendarEvent
    from calendars.sync import due_sync

    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    google.post("revoke", {"account_email": email}, status=200)
    google.post("expire-tokens", {"account_email": email}, status=200)
    assert _sync(tenant_alpha, connection_id) == "needs_reconnect"
    with django_capture_on_commit_callbacks(execute=True):
        _book(alpha_api, offering, _at(day, 10))
    with tenant_context(tenant_alpha):
        row = CallCalendarEvent.objects.get()
        assert row.pending and row.next_attempt_at is None and row.attempts == 0  # waiting, not failing
    assert google.events(email) == []
    assert connect(alpha_api, client, platform_host, "google", email) == connection_id
    with tenant_context(tenant_alpha):
        due_sync(now=timezone.now() + timedelta(seconds=1))
        assert not CallCalendarEvent.objects.get().pending
    [event] = google.events(email)
    assert datetime.fromisoformat(event["start"]["dateTime"]) == _at(day, 10)


def test_a_calendar_gone_at_the_provider_does_not_stop_the_others(alpha_api, client, platform_host, google,
                                                                   offering, day, tenant_alpha):
    from calendars.models import ExternalCalendar

    email = new_email()
    google.calendar(email, "Team")
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    team = next(c for c in alpha_api.call("get", "/me/calendars").json() if c["name"] == "Team")
    alpha_api.call("patch", f"/me/calendars/{team['id']}", {"readable": True})
    google.event(email, _at(day, 12), _at(day, 13))
    with tenant_context(tenant_alpha):  # Team was deleted at Google meanwhile
        ExternalCalendar.objects.filter(pk=team["id"]).update(provider_calendar_id="deleted@group.calendar.test")
    assert _sync(tenant_alpha, connection_id) == "synced"
    assert 12 not in _slots(alpha_api, offering, day)
    calendars = alpha_api.call("get", "/me/calendars").json()
    assert [c["name"] for c in calendars].count("Team") == 1 and team["id"] not in [c["id"] for c in calendars]


def test_a_calls_own_event_never_blocks_even_when_it_could_not_be_removed(
        alpha_api, client, platform_host, google, offering, day, tenant_alpha, django_capture_on_commit_callbacks):
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    with django_capture_on_commit_callbacks(execute=True):
        booking = _book(alpha_api, offering, _at(day, 10))
    google.fault(email, 503, count=3)
    booking_id, token = _manage(booking)
    with django_capture_on_commit_callbacks(execute=True):
        alpha_api.call("post", f"/bookings/{booking_id}/cancel?token={token}", {"reason": "x"}, auth=False)
    import httpx

    assert httpx.delete(f"{google.url}/faults").status_code in (200, 204)
    assert len(google.events(email)) == 1  # still in Google: the delete failed and waits for its retry
    assert _sync(tenant_alpha, connection_id) == "synced"
    assert 10 in _slots(alpha_api, offering, day)  # mirrored, but it is the canceled call's own event


def test_turning_a_calendar_off_and_on(alpha_api, client, platform_host, google, offering, day, tenant_alpha,
                                       push_receiver, settings, django_capture_on_commit_callbacks):
    settings.CALENDAR_PUSH_BASE_URL = push_receiver.url
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    google.event(email, _at(day, 12), _at(day, 13))
    _sync(tenant_alpha, connection_id)
    calendar_id = alpha_api.call("get", "/me/calendars").json()[0]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        off = alpha_api.call("patch", f"/me/calendars/{calendar_id}", {"readable": False})
    assert off.status_code == 200 and off.json()["readable"] is False
    assert _slots(alpha_api, offering, day) == list(range(9, 17))
    assert [c["stopped"] for c in google.channels(email)] == [True]
    with django_capture_on_commit_callbacks(execute=True):
        alpha_api.call("patch", f"/me/calendars/{calendar_id}", {"readable": True})
    assert 12 not in _slots(alpha_api, offering, day)
    assert sorted(c["stopped"] for c in google.channels(email)) == [False, True]


def test_disconnecting_takes_the_upcoming_calls_out_of_the_calendar(
        alpha_api, client, platform_host, google, offering, day, tenant_alpha, django_capture_on_commit_callbacks):
    email = new_email()
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    with django_capture_on_commit_callbacks(execute=True):
        _book(alpha_api, offering, _at(day, 10))
    assert len(google.events(email)) == 1
    assert alpha_api.call("delete", f"/me/calendar-connections/{connection_id}").status_code == 204
    assert google.events(email) == []


def test_an_all_day_event_blocks_the_day_in_the_calendars_own_zone(alpha_api, client, platform_host, google,
                                                                  offering, day, tenant_alpha):
    """Auckland is 13 hours ahead in November: its day D runs from D-1 11:00 to D 11:00 UTC."""
    email = new_email()
    away = google.post("calendars", {"account_email": email, "name": "Auckland office",
                                     "time_zone": "Pacific/Auckland"})
    connection_id = connect(alpha_api, client, platform_host, "google", email)
    calendar_id = next(c["id"] for c in alpha_api.call("get", "/me/calendars").json() if c["name"] == "Auckland office")
    alpha_api.call("patch", f"/me/calendars/{calendar_id}", {"readable": True})
    google.event(email, day.isoformat(), (day + timedelta(days=1)).isoformat(), all_day=True, calendar=away["id"])
    assert _sync(tenant_alpha, connection_id) == "synced"
    assert _slots(alpha_api, offering, day - timedelta(days=1)) == [9, 10]
    assert _slots(alpha_api, offering, day) == list(range(11, 17))


def test_a_calendar_added_at_the_provider_appears_at_the_next_poll(alpha_api, client, platform_host, google,
                                                                   tenant_alpha):
    from calendars.sync import due_sync

    email = new_email()
    connect(alpha_api, client, platform_host, "google", email)
    google.calendar(email, "Added later")
    with tenant_context(tenant_alpha):
        due_sync(now=timezone.now() + timedelta(hours=1))
    assert "Added later" in [c["name"] for c in alpha_api.call("get", "/me/calendars").json()]
