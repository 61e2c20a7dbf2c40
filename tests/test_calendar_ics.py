"""ICS addresses as busy sources, fetched over real HTTP from a loopback server, and the private
ICS feed of a consultant's own calls."""

from __future__ import annotations

import ipaddress
import threading
import uuid
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from icalendar import Calendar

from core.exceptions import InvalidInput
from tests.billing_support import book, offering, open_every_day, slot

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


# --- A calendar server on loopback ------------------------------------------------------------------


class CalendarServer:
    """Serves what a test puts at a path: ``put(path, body, status=, headers=, etag=)``. With an
    ``etag``, a request carrying it in If-None-Match gets 304, as real servers answer."""

    def __init__(self) -> None:
        self.routes: dict[str, dict] = {}
        self.requests: list[dict] = []
        routes, requests = self.routes, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                requests.append({"path": self.path, "headers": dict(self.headers)})
                route = routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"not found")
                    return
                etag = route.get("etag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                body = route["body"].encode() if isinstance(route["body"], str) else route["body"]
                self.send_response(route["status"])
                for name, value in ({"Content-Type": "text/calendar; charset=utf-8"} | route["headers"]).items():
                    self.send_header(name, value)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def put(self, path: str, body: str | bytes = "", *, status: int = 200, headers: dict | None = None,
            etag: str | None = None) -> str:
        self.routes[path] = {"body": body, "status": status, "headers": headers or {}, "etag": etag}
        return self.url(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    running = CalendarServer()
    yield running
    running.close()


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    """The test server is on loopback, which production refuses."""
    settings.CALENDAR_ICS_ALLOW_PRIVATE = True


@pytest.fixture
def alice(tenant_alpha):
    from accounts.models import User

    with tenant_context(tenant_alpha):
        return User.objects.select_related("profile").get(email="alice@alpha.example")


def vcalendar(*events: str, name: str | None = None, zone: str | None = None) -> str:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Tests//Calendar//EN"]
    head += [f"X-WR-CALNAME:{name}"] if name else []
    head += [f"X-WR-TIMEZONE:{zone}"] if zone else []
    lines = head + [line for event in events for line in event.strip().splitlines()] + ["END:VCALENDAR"]
    return "\r\n".join(line.strip() for line in lines) + "\r\n"


def vevent(uid: str, *lines: str) -> str:
    return "\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z", *lines, "END:VEVENT"])


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def local(day: date, hour: int, minute: int = 0) -> str:
    return f"{day:%Y%m%d}T{hour:02d}{minute:02d}00"


def at(day: date, hour: int, zone: ZoneInfo = UTC, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def add(tenant, consultant, url: str):
    from calendars.ics import ics_connection_add

    with tenant_context(tenant):
        return ics_connection_add(consultant=consultant, url=url)


def sync(tenant, conn_id: int, *, now: datetime | None = None) -> str:
    from calendars.models import CalendarConnection
    from calendars.sync import connection_sync

    with tenant_context(tenant):
        return connection_sync(CalendarConnection.objects.get(pk=conn_id), now=now or timezone.now())


def mirrored(tenant, conn_id: int) -> dict[str, tuple]:
    from calendars.models import ExternalCalendarEvent

    with tenant_context(tenant):
        rows = ExternalCalendarEvent.objects.filter(calendar__connection_id=conn_id)
        return {row.provider_event_id: (row.start, row.end, row.all_day, row.transparency, row.status)
                for row in rows}


def connection_of(tenant, conn_id: int):
    from calendars.models import CalendarConnection

    with tenant_context(tenant):
        return CalendarConnection.objects.get(pk=conn_id)


def calendar_of(tenant, conn_id: int):
    from calendars.models import ExternalCalendar

    with tenant_context(tenant):
        return ExternalCalendar.objects.get(connection_id=conn_id)


def nothing_stored(tenant) -> bool:
    from calendars.models import CalendarConnection, ExternalCalendar, ExternalCalendarEvent

    with tenant_context(tenant):
        return not (CalendarConnection.objects.exists() or ExternalCalendar.objects.exists()
                    or ExternalCalendarEvent.objects.exists())


@pytest.fixture
def today() -> date:
    return timezone.now().date()


# --- Importing --------------------------------------------------------------------------------------


def test_an_ics_address_mirrors_timed_all_day_and_recurring_events(server, tenant_alpha, alice, today):
    d1, d2, d3, d4 = (today + timedelta(days=n) for n in (1, 2, 3, 4))
    feed = vcalendar(
        vevent("timed", f"DTSTART:{utc(at(d2, 10))}", f"DTEND:{utc(at(d2, 11))}", "SUMMARY:Dentist"),
        vevent("day-off", f"DTSTART;VALUE=DATE:{d3:%Y%m%d}", f"DTEND;VALUE=DATE:{d3 + timedelta(days=1):%Y%m%d}"),
        vevent("trip", f"DTSTART;VALUE=DATE:{d4:%Y%m%d}", "DURATION:P2D"),
        vevent("floating", f"DTSTART:{local(d2, 14)}", "DURATION:PT30M", "STATUS:TENTATIVE"),
        # Weekly, four times; the second is excluded, the third moved to the afternoon, one extra date.
        vevent("weekly", f"DTSTART;TZID=Europe/Berlin:{local(d1, 9)}", f"DTEND;TZID=Europe/Berlin:{local(d1, 10)}",
               "RRULE:FREQ=WEEKLY;COUNT=4", f"EXDATE;TZID=Europe/Berlin:{local(d1 + timedelta(days=7), 9)}",
               f"RDATE;TZID=Europe/Berlin:{local(d1 + timedelta(days=2), 12)}"),
        vevent("weekly", f"RECURRENCE-ID;TZID=Europe/Berlin:{local(d1 + timedelta(days=14), 9)}",
               f"DTSTART;TZID=Europe/Berlin:{local(d1 + timedelta(days=14), 15)}",
               f"DTEND;TZID=Europe/Berlin:{local(d1 + timedelta(days=14), 16)}"),
        vevent("free", f"DTSTART:{utc(at(d2, 12))}", f"DTEND:{utc(at(d2, 13))}", "TRANSP:TRANSPARENT"),
        vevent("cancelled", f"DTSTART:{utc(at(d2, 15))}", f"DTEND:{utc(at(d2, 16))}", "STATUS:CANCELLED"),
        vevent("no-length", f"DTSTART:{utc(at(d2, 16))}"),
        vevent("long-ago", f"DTSTART:{utc(at(today - timedelta(days=40), 9))}",
               f"DTEND:{utc(at(today - timedelta(days=40), 10))}"),
        vevent("far-ahead", f"DTSTART:{utc(at(today + timedelta(days=200), 9))}",
               f"DTEND:{utc(at(today + timedelta(days=200), 10))}"),
        # The consultant's own feed, subscribed back: those events are the calls themselves.
        vevent(f"{uuid.uuid4()}-host@alpha.localhost", f"DTSTART:{utc(at(d2, 17))}", f"DTEND:{utc(at(d2, 18))}"),
        name="Home", zone="America/New_York")
    conn = add(tenant_alpha, alice, server.put("/home.ics", feed, etag='"v1"'))

    stored = connection_of(tenant_alpha, conn.pk)
    assert (stored.provider, stored.account_email, stored.status, stored.ics_etag) == ("ics", "", "active", '"v1"')
    assert stored.last_synced_at is not None and stored.next_sync_at > timezone.now()
    calendar = calendar_of(tenant_alpha, conn.pk)
    assert (calendar.name, calendar.provider_calendar_id, calendar.readable, calendar.writable,
            calendar.can_write, calendar.time_zone, calendar.consultant_id) == (
        "Home", "ics", True, False, False, "America/New_York", alice.pk)

    def weekly(day: date, hour: int) -> str:
        return f"weekly/{at(day, hour, BERLIN).isoformat()}"

    midnight = lambda day: datetime.combine(day, time(0), tzinfo=NEW_YORK).astimezone(UTC)  # noqa: E731
    assert mirrored(tenant_alpha, conn.pk) == {
        "timed": (at(d2, 10), at(d2, 11), False, "opaque", "confirmed"),
        # Whole days in the calendar's zone (New York), the end exclusive.
        "day-off": (midnight(d3), midnight(d3 + timedelta(days=1)), True, "opaque", "confirmed"),
        "trip": (midnight(d4), midnight(d4 + timedelta(days=2)), True, "opaque", "confirmed"),
        # A floating time is in the calendar's zone too.
        "floating": (at(d2, 14, NEW_YORK), at(d2, 14, NEW_YORK, 30), False, "opaque", "tentative"),
        weekly(d1, 9): (at(d1, 9, BERLIN), at(d1, 10, BERLIN), False, "opaque", "confirmed"),
        f"weekly/{at(d1 + timedelta(days=2), 12, BERLIN).isoformat()}": (
            at(d1 + timedelta(days=2), 12, BERLIN), at(d1 + timedelta(days=2), 13, BERLIN), False, "opaque",
            "confirmed"),
        weekly(d1 + timedelta(days=14), 9): (at(d1 + timedelta(days=14), 15, BERLIN),
                                             at(d1 + timedelta(days=14), 16, BERLIN), False, "opaque", "confirmed"),
        weekly(d1 + timedelta(days=21), 9): (at(d1 + timedelta(days=21), 9, BERLIN),
                                             at(d1 + timedelta(days=21), 10, BERLIN), False, "opaque", "confirmed"),
        "free": (at(d2, 12), at(d2, 13), False, "transparent", "confirmed"),
    }

    # What blocks the consultant: the transparent event does not.
    from booking.selectors import busy_for

    with tenant_context(tenant_alpha):
        busy = busy_for(consultant=alice, window=(at(d2, 0), at(d2, 23)))
    assert (at(d2, 10), at(d2, 11)) in busy and (at(d2, 12), at(d2, 13)) not in busy


def test_all_day_events_fall_back_to_the_consultants_zone(server, tenant_alpha, alice, today):
    day = today + timedelta(days=5)
    conn = add(tenant_alpha, alice, server.put("/plain.ics", vcalendar(
        vevent("holiday", f"DTSTART;VALUE=DATE:{day:%Y%m%d}"))))
    zone = ZoneInfo(alice.profile.time_zone)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    assert mirrored(tenant_alpha, conn.pk) == {"holiday": (start, end, True, "opaque", "confirmed")}
    # Without a name in the file, the calendar is named after the server.
    assert calendar_of(tenant_alpha, conn.pk).name == "127.0.0.1"


def test_a_broken_event_does_not_hide_the_others(server, tenant_alpha, alice, today):
    day = today + timedelta(days=2)
    conn = add(tenant_alpha, alice, server.put("/mixed.ics", vcalendar(
        vevent("broken", "DTSTART:garbage", "DTEND:garbage"),
        vevent("fine", f"DTSTART:{utc(at(day, 9))}", f"DTEND:{utc(at(day, 10))}"))))
    assert set(mirrored(tenant_alpha, conn.pk)) == {"fine"}


def test_adding_the_same_address_again_reuses_its_connection(server, tenant_alpha, alice, today):
    url = server.put("/same.ics", vcalendar())
    first = add(tenant_alpha, alice, url)
    assert add(tenant_alpha, alice, f"  {url}  ").pk == first.pk
    from calendars.models import CalendarConnection, ExternalCalendar

    with tenant_context(tenant_alpha):
        assert CalendarConnection.objects.count() == 1 and ExternalCalendar.objects.count() == 1


def test_an_unchanged_feed_keeps_the_mirror_and_a_changed_one_replaces_it(server, tenant_alpha, alice, today):
    day = today + timedelta(days=2)
    one = vevent("one", f"DTSTART:{utc(at(day, 9))}", f"DTEND:{utc(at(day, 10))}")
    two = vevent("two", f"DTSTART:{utc(at(day, 11))}", f"DTEND:{utc(at(day, 12))}")
    url = server.put("/work.ics", vcalendar(one, two), etag='"v1"')
    conn = add(tenant_alpha, alice, url)
    assert set(mirrored(tenant_alpha, conn.pk)) == {"one", "two"}

    later = timezone.now() + timedelta(minutes=20)
    assert sync(tenant_alpha, conn.pk, now=later) == "synced"
    assert server.requests[-1]["headers"].get("If-None-Match") == '"v1"'
    assert set(mirrored(tenant_alpha, conn.pk)) == {"one", "two"}
    assert connection_of(tenant_alpha, conn.pk).last_synced_at == later

    moved = vevent("two", f"DTSTART:{utc(at(day, 14))}", f"DTEND:{utc(at(day, 15))}")
    three = vevent("three", f"DTSTART;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}")
    server.put("/work.ics", vcalendar(moved, three), etag='"v2"')
    assert sync(tenant_alpha, conn.pk, now=later + timedelta(minutes=20)) == "synced"
    events = mirrored(tenant_alpha, conn.pk)
    assert set(events) == {"two", "three"}  # "one" was removed from the file
    assert events["two"][:2] == (at(day, 14), at(day, 15))
    assert connection_of(tenant_alpha, conn.pk).ics_etag == '"v2"'


def test_a_large_calendar_is_refused(server, tenant_alpha, alice):
    padding = "X-PADDING:" + "x" * 70 + "\r\n"
    body = vcalendar().replace("END:VCALENDAR", padding * (10 * 1024 * 1024 // len(padding) + 1) + "END:VCALENDAR")
    with pytest.raises(InvalidInput, match="larger than 10 MB"):
        add(tenant_alpha, alice, server.put("/huge.ics", body))
    assert nothing_stored(tenant_alpha)


# --- Refused addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "message"), [
    ("", "Give the calendar's ICS address"),
    ("ftp://calendar.example/cal.ics", "must start with https://"),
    ("calendar.example/cal.ics", "must start with https://"),
    ("https:///cal.ics", "no server name"),
    ("https://calendar.example/my cal.ics", "no spaces"),
    ("https://calendar.example:99999/cal.ics", "not a valid web address"),
    ("https://calendar.example/" + "a" * 2000, "too long"),
])
def test_bad_addresses_are_refused_with_a_clear_message(tenant_alpha, alice, url, message):
    with pytest.raises(InvalidInput, match=message) as refused:
        add(tenant_alpha, alice, url)
    assert refused.value.field == "url"
    assert nothing_stored(tenant_alpha)


def test_webcal_addresses_are_fetched_over_https():
    from calendars.ics import ics_url_clean

    assert ics_url_clean("webcal://p01-caldav.icloud.com/published/2/abc") == \
        "https://p01-caldav.icloud.com/published/2/abc"
    assert ics_url_clean("WEBCALS://example.com/a.ics") == "https://example.com/a.ics"


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:4700:4700::1111", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.9", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),  # noqa: S104
    ("::1", False), ("fe80::1", False), ("fd00::1", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
])
def test_only_public_addresses_count_as_public(address, public):
    from calendars.ics import address_public

    assert address_public(ipaddress.ip_address(address)) is public


def test_private_addresses_are_refused_when_not_allowed(server, tenant_alpha, alice, settings):
    settings.CALENDAR_ICS_ALLOW_PRIVATE = False
    url = server.put("/cal.ics", vcalendar())
    for address in (url, f"http://localhost:{server.port}/cal.ics"):
        with pytest.raises(InvalidInput, match="private network"):
            add(tenant_alpha, alice, address)
    assert server.requests == []  # refused before connecting
    assert nothing_stored(tenant_alpha)


def test_redirects_are_followed_but_not_to_a_private_address(server, tenant_alpha, alice, settings, monkeypatch):
    from calendars import ics

    # The test network has no public address: let the test server's own address count as one.
    real = ics.address_public
    monkeypatch.setattr(ics, "address_public", lambda ip: str(ip) == "127.0.0.1" or real(ip))
    settings.CALENDAR_ICS_ALLOW_PRIVATE = False
    server.put("/final.ics", vcalendar(name="Moved"))
    server.put("/hop1", status=302, headers={"Location": "/hop2"})
    server.put("/hop2", status=301, headers={"Location": server.url("/final.ics")})
    conn = add(tenant_alpha, alice, server.url("/hop1"))
    assert calendar_of(tenant_alpha, conn.pk).name == "Moved"

    server.put("/metadata", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    server.put("/loopback", status=307, headers={"Location": f"http://127.0.0.2:{server.port}/final.ics"})
    for path in ("/metadata", "/loopback"):
        with pytest.raises(InvalidInput, match="private network"):
            add(tenant_alpha, alice, server.url(path))

    for n in range(4):
        server.put(f"/loop{n}", status=302, headers={"Location": f"/loop{n + 1}"})
    server.put("/loop4", vcalendar())
    with pytest.raises(InvalidInput, match="redirected more than 3 times"):
        add(tenant_alpha, alice, server.url("/loop0"))
    from calendars.models import CalendarConnection

    with tenant_context(tenant_alpha):
        assert CalendarConnection.objects.count() == 1  # only the first one


@pytest.mark.parametrize(("route", "message"), [
    ({"body": "<!doctype html><title>Sign in</title>", "headers": {"Content-Type": "text/html"}},
     "does not serve a calendar"),
    ({"body": "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\n", "headers": {}}, "cannot be read"),
    ({"body": "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
      "headers": {}}, "cannot be read"),
    ({"body": "gone", "status": 404, "headers": {"Content-Type": "text/plain"}}, "Nothing was found"),
    ({"body": "no", "status": 403, "headers": {"Content-Type": "text/plain"}}, "refused access"),
])
def test_an_address_without_a_calendar_is_refused_at_once(server, tenant_alpha, alice, route, message):
    url = server.put("/not-a-calendar", route["body"], status=route.get("status", 200), headers=route["headers"])
    with pytest.raises(InvalidInput, match=message) as refused:
        add(tenant_alpha, alice, url)
    assert refused.value.field == "url" and "cannot be added" in refused.value.message
    assert nothing_stored(tenant_alpha)


def test_an_unreachable_server_is_reported_at_once(tenant_alpha, alice):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    with pytest.raises(InvalidInput, match="cannot be reached"):
        add(tenant_alpha, alice, f"http://127.0.0.1:{port}/cal.ics")
    assert nothing_stored(tenant_alpha)


# --- Failures of an established address -------------------------------------------------------------


def test_a_feed_that_disappears_needs_reconnecting_and_is_told_once(server, tenant_alpha, alice, today, mailbox,
                                                                   django_capture_on_commit_callbacks):
    day = today + timedelta(days=2)
    url = server.put("/gone.ics", vcalendar(vevent("busy", f"DTSTART:{utc(at(day, 9))}", f"DTEND:{utc(at(day, 10))}")))
    conn = add(tenant_alpha, alice, url)
    del server.routes["/gone.ics"]  # 404 from now on
    with django_capture_on_commit_callbacks(execute=True):
        assert sync(tenant_alpha, conn.pk) == "needs_reconnect"
    with django_capture_on_commit_callbacks(execute=True):
        assert sync(tenant_alpha, conn.pk) == "skipped"
    stored = connection_of(tenant_alpha, conn.pk)
    assert stored.status == "needs_reconnect" and "HTTP 404" in stored.failure_reason
    assert stored.next_sync_at is None
    told = [m for m in mailbox if "Reconnect your calendar" in m["Subject"]]
    assert len(told) == 1 and told[0]["To"] == "alice@alpha.example"
    assert url in mailbox.bodies(told[0])
    # The last known busy time keeps blocking.
    assert set(mirrored(tenant_alpha, conn.pk)) == {"busy"}

    # Once the address works again, adding it again brings the connection back.
    server.put("/gone.ics", vcalendar())
    assert add(tenant_alpha, alice, url).pk == conn.pk
    stored = connection_of(tenant_alpha, conn.pk)
    assert stored.status == "active" and stored.failure_reason == "" and stored.failure_notified_at is None
    assert mirrored(tenant_alpha, conn.pk) == {}


def test_a_server_error_is_retried_later_honouring_retry_after(server, tenant_alpha, alice, today, mailbox,
                                                              django_capture_on_commit_callbacks):
    day = today + timedelta(days=2)
    url = server.put("/busy.ics", vcalendar(vevent("busy", f"DTSTART:{utc(at(day, 9))}", f"DTEND:{utc(at(day, 10))}")))
    conn = add(tenant_alpha, alice, url)
    now = timezone.now()
    server.put("/busy.ics", "down", status=503, headers={"Content-Type": "text/plain", "Retry-After": "120"})
    with django_capture_on_commit_callbacks(execute=True):
        assert sync(tenant_alpha, conn.pk, now=now) == "retry"
    stored = connection_of(tenant_alpha, conn.pk)
    assert stored.status == "active" and "HTTP 503" in stored.failure_reason
    assert stored.next_sync_at == now + timedelta(seconds=120)

    server.put("/busy.ics", "down", status=500, headers={"Content-Type": "text/plain"})
    assert sync(tenant_alpha, conn.pk, now=now) == "retry"
    assert now < connection_of(tenant_alpha, conn.pk).next_sync_at <= now + timedelta(hours=1)
    assert set(mirrored(tenant_alpha, conn.pk)) == {"busy"}  # the mirror is kept
    assert not [m for m in mailbox if "Reconnect" in m["Subject"]]

    server.put("/busy.ics", vcalendar())
    assert sync(tenant_alpha, conn.pk, now=now + timedelta(minutes=5)) == "synced"
    assert connection_of(tenant_alpha, conn.pk).failure_reason == ""


def test_an_address_failing_for_days_needs_the_consultant(server, tenant_alpha, alice, mailbox,
                                                         django_capture_on_commit_callbacks):
    url = server.put("/flaky.ics", vcalendar())
    conn = add(tenant_alpha, alice, url)
    server.put("/flaky.ics", "down", status=503, headers={"Content-Type": "text/plain"})
    now = connection_of(tenant_alpha, conn.pk).last_synced_at
    assert sync(tenant_alpha, conn.pk, now=now + timedelta(days=1)) == "retry"
    with django_capture_on_commit_callbacks(execute=True):
        assert sync(tenant_alpha, conn.pk, now=now + timedelta(days=3)) == "needs_reconnect"
    stored = connection_of(tenant_alpha, conn.pk)
    assert stored.status == "needs_reconnect" and "not worked for 2 days" in stored.failure_reason
    assert len([m for m in mailbox if "Reconnect your calendar" in m["Subject"]]) == 1


# --- The private feed of the consultant's calls ----------------------------------------------------


@pytest.fixture
def api(alpha_api):
    open_every_day(alpha_api)
    return alpha_api


def _book_free(api, *, days_ahead: int, index: int = 0, **changes) -> tuple[dict, str]:
    created = offering(api, amount=0, title="Intro call", duration_minutes=30)
    start = slot(api, created["id"], days_ahead=days_ahead, index=index)
    response = book(api, created["id"], start, **changes)
    assert response.status_code == 201, response.content
    return response.json(), start


def _feed_path(tenant, consultant, *, regenerate: bool = False) -> str:
    from calendars.feed import feed_regenerate, feed_url

    with tenant_context(tenant):
        url = feed_regenerate(consultant) if regenerate else feed_url(consultant)
    return url


def _calls(tenant) -> dict[str, object]:
    from booking.models import Call

    with tenant_context(tenant):
        return {str(call.public_id): call for call in Call.objects.prefetch_related("participants")}


def test_the_feed_lists_confirmed_and_recently_canceled_calls(api, client, alpha_host, tenant_alpha, alice,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _book_free(api, days_ahead=3, name="Kim Client", email="kim@client.example")
        _book_free(api, days_ahead=4, name="Lee Client", email="lee@client.example")
        _book_free(api, days_ahead=5, name="Max Client", email="max@client.example")
    calls = {next(iter(c.participants.all())).name: c for c in _calls(tenant_alpha).values()}
    canceled = api.call("post", f"/me/calls/{calls['Lee Client'].public_id}/cancel", {"reason": "Ill"})
    assert canceled.status_code == 200, canceled.content
    # A call that took place 40 days ago is no longer in the feed.
    from booking.models import Call

    with tenant_context(tenant_alpha):
        old = calls["Max Client"]
        shift = timedelta(days=45)
        Call.objects.filter(pk=old.pk).update(start_at=old.start_at - shift, end_at=old.end_at - shift,
                                              blocked_start=old.blocked_start - shift,
                                              blocked_end=old.blocked_end - shift, status=Call.Status.COMPLETED)

    url = _feed_path(tenant_alpha, alice)
    assert url.startswith("http://alpha.localhost:8000/calendar-feed/") and url.endswith(".ics")
    assert _feed_path(tenant_alpha, alice) == url  # the same address until regenerated
    response = client.get(urlsplit(url).path, HTTP_HOST=alpha_host)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, max-age=300"
    text = response.content.decode()
    feed = Calendar.from_ical(text)
    assert str(feed["X-WR-CALNAME"]) == "Alpha Advisory — Alice Alpha"
    assert str(feed["VERSION"]) == "2.0" and str(feed["PRODID"])
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT15M" in text and "X-PUBLISHED-TTL:PT15M" in text

    events = {str(event["UID"]): event for event in feed.walk("VEVENT")}
    kim, lee = calls["Kim Client"], calls["Lee Client"]
    assert set(events) == {f"{kim.public_id}-host@alpha.localhost", f"{lee.public_id}-host@alpha.localhost"}
    confirmed = events[f"{kim.public_id}-host@alpha.localhost"]
    assert str(confirmed["STATUS"]) == "CONFIRMED" and int(confirmed["SEQUENCE"]) == 0
    assert confirmed["DTSTART"].dt == kim.start_at and confirmed["DTEND"].dt == kim.end_at
    assert f"DTSTART:{utc(kim.start_at)}" in text and f"DTEND:{utc(kim.end_at)}" in text  # in UTC
    assert str(confirmed["SUMMARY"]) == "Intro call — Kim Client"
    room = f"http://alpha.localhost:8000/calls/{kim.public_id}/room/"
    assert str(confirmed["URL"]) == room and str(confirmed["LOCATION"]) == room
    assert room in str(confirmed["DESCRIPTION"]) and f"/calls/{kim.public_id}/" in str(confirmed["DESCRIPTION"])
    gone = events[f"{lee.public_id}-host@alpha.localhost"]
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) == 1

    # The same number of queries with more calls.
    with CaptureQueriesContext(connection) as few:
        assert client.get(urlsplit(url).path, HTTP_HOST=alpha_host).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            _book_free(api, days_ahead=6 + n, email=f"more{n}@client.example")
    with CaptureQueriesContext(connection) as more:
        again = client.get(urlsplit(url).path, HTTP_HOST=alpha_host)
    assert len(Calendar.from_ical(again.content).walk("VEVENT")) == 5
    assert len(more.captured_queries) == len(few.captured_queries)

    # A calendar app asking again with the ETag it has gets 304.
    unchanged = client.get(urlsplit(url).path, HTTP_HOST=alpha_host, HTTP_IF_NONE_MATCH=again["ETag"])
    assert unchanged.status_code == 304


def test_calls_waiting_for_payment_stay_out_of_the_feed(api, client, alpha_host, tenant_alpha, alice, payments_ready):
    created = offering(api, amount=5000, title="Paid call")
    response = book(api, created["id"], slot(api, created["id"], days_ahead=3))
    assert response.json()["status"] == "pending_payment"
    feed = client.get(urlsplit(_feed_path(tenant_alpha, alice)).path, HTTP_HOST=alpha_host)
    assert feed.status_code == 200 and Calendar.from_ical(feed.content).walk("VEVENT") == []


def test_unknown_and_replaced_feed_addresses_answer_404(client, alpha_host, tenant_alpha, alice):
    assert client.get("/calendar-feed/not-a-token.ics", HTTP_HOST=alpha_host).status_code == 404
    old = urlsplit(_feed_path(tenant_alpha, alice)).path
    assert client.get(old, HTTP_HOST=alpha_host).status_code == 200
    assert client.head(old, HTTP_HOST=alpha_host).status_code == 200
    assert client.post(old, HTTP_HOST=alpha_host).status_code == 405
    new = urlsplit(_feed_path(tenant_alpha, alice, regenerate=True)).path
    assert new != old
    assert client.get(old, HTTP_HOST=alpha_host).status_code == 404
    assert client.get(new, HTTP_HOST=alpha_host).status_code == 200


def test_another_tenants_host_does_not_serve_the_feed(client, alpha_host, beta_host, tenant_alpha, alice):
    path = urlsplit(_feed_path(tenant_alpha, alice)).path
    assert client.get(path, HTTP_HOST=alpha_host).status_code == 200
    assert client.get(path, HTTP_HOST=beta_host).status_code == 404


def test_scripts_add_an_ics_address_through_the_api(server, alpha_api, tenant_alpha, today):
    day = today + timedelta(days=2)
    url = server.put("/api.ics", vcalendar(vevent("busy", f"DTSTART:{utc(at(day, 9))}", f"DTEND:{utc(at(day, 10))}"),
                                           name="Family"))
    created = alpha_api.call("post", "/me/calendar-connections", {"provider": "ics", "url": url})
    assert created.status_code == 201, created.content
    assert created.json() | {"id": "x", "last_synced_at": "x"} == {
        "id": "x", "provider": "ics", "account_email": None, "url": url, "status": "active", "last_synced_at": "x",
        "failure_reason": None}
    calendars = alpha_api.call("get", "/me/calendars").json()
    assert [(c["name"], c["readable"], c["writable"]) for c in calendars] == [("Family", True, False)]
    assert set(mirrored(tenant_alpha, int(created.json()["id"]))) == {"busy"}

    refused = alpha_api.call("post", "/me/calendar-connections",
                             {"provider": "ics", "url": server.url("/missing.ics")})
    assert refused.status_code == 422 and "Nothing was found" in refused.json()["detail"]
    assert len(alpha_api.call("get", "/me/calendar-connections").json()) == 1
