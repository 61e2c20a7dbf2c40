"""Calendar sync against the Google emulator over real HTTP (the app served on loopback, as in the
tests): the initial sync of a calendar holding 5,000 events, against an incremental sync after 50
changes (adds, moves, deletes) — and the slots of a month computed with those 5,000 events in the
mirror, against the same with an empty mirror."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

EVENTS = 5000
CHANGES = 50
SLOT_RUNS = 7
ACCOUNT = "bench.consultant@example.com"


def _serve() -> tuple[str, object]:
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    django_app = get_wsgi_application()

    def app(environ, start_response):
        try:
            yield from django_app(environ, start_response)
        finally:
            connections.close_all()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedWSGIServer(("127.0.0.1", port), Quiet, allow_reuse_address=True)
    server.set_app(app)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{port}", server


def _emulated(base: str) -> dict:
    google = f"{base}/sandbox/google"
    return {
        "CALENDAR_SANDBOX": True, "GOOGLE_AUTH_URL": f"{google}/o/oauth2/v2/auth",
        "GOOGLE_TOKEN_URL": f"{google}/token", "GOOGLE_REVOKE_URL": f"{google}/revoke",
        "GOOGLE_USERINFO_URL": f"{google}/v1/userinfo", "GOOGLE_CALENDAR_API_BASE": f"{google}/calendar/v3",
        # Push channels are opened, but nothing listens: the poll (and these timings) do the work.
        "CALENDAR_PUSH_BASE_URL": "http://127.0.0.1:9",
    }


def _tenant():
    from accounts.models import User
    from booking.models import Offering
    from booking.offerings import offering_create
    from tenants.services import tenant_provision

    tenant = tenant_provision(slug="calbench", name="Calendar Bench", owner_name="Cal Bench",
                              owner_email="owner@calbench.example", owner_password="bench-owner-pass-1",
                              source="bench").tenant
    with tenant_context(tenant):
        from booking.availability import PeriodIn, availability_replace

        owner = User.objects.get(email="owner@calbench.example")
        availability_replace(consultant=owner, time_zone="UTC", overrides=[],
                             weekly=[(d, PeriodIn("08:00", "18:00")) for d in range(7)])
        offering = offering_create(consultant=owner, kind=Offering.Kind.INDIVIDUAL, data={
            "title": "Bench call", "duration_minutes": 30, "slot_step_minutes": 15, "price_amount": 0,
            "currency": "USD", "horizon_days": 90, "min_notice_minutes": 0})
    return tenant, owner, offering


def _seed_events(start: datetime) -> list[str]:
    """5,000 busy events over the next 90 days, as their owner would have made them."""
    from sandbox.google import store

    ids = []
    for n in range(EVENTS):
        begin = start + timedelta(minutes=30 * ((n * 7919) % (90 * 48)))
        event = store.dev_event_create(email=ACCOUNT, summary=f"Busy {n}", start=begin.isoformat(),
                                       end=(begin + timedelta(minutes=45)).isoformat())
        ids.append(event["id"])
    return ids


def _connect(tenant, owner):
    from calendars.connect import connect_finish, connect_start, state_read

    with tenant_context(tenant):
        url = connect_start(consultant=owner, provider="google")
    consent = httpx.get(url + f"&approve=1&login_hint={ACCOUNT}")
    query = parse_qs(urlsplit(consent.headers["Location"]).query)
    data = state_read(state=query["state"][0], provider="google")
    with tenant_context(tenant):
        return connect_finish(data=data, code=query["code"][0])


def _timed_sync(tenant, conn) -> float:
    from calendars.sync import connection_sync

    with tenant_context(tenant):
        started = time.perf_counter()
        outcome = connection_sync(conn)
        elapsed = time.perf_counter() - started
    assert outcome == "synced", outcome
    return elapsed


def _slots_time(offering, day: date) -> tuple[float, int]:
    from booking.selectors import offering_slots

    times, count = [], 0
    for _ in range(SLOT_RUNS):
        started = time.perf_counter()
        slots = offering_slots(offering=offering, start=day, end=day + timedelta(days=29), time_zone="UTC",
                               now=timezone.now())
        times.append(time.perf_counter() - started)
        count = len(slots)
    return statistics.median(times), count


def run() -> list[dict]:
    import logging

    from calendars.models import ExternalCalendarEvent
    from sandbox.google import store

    # Push channels are opened but nothing listens: keep the emulator's delivery warnings out of the table.
    logging.getLogger("sandbox.google.store").setLevel(logging.ERROR)
    base, server = _serve()
    try:
        with override_settings(**_emulated(base)):
            tenant, owner, offering = _tenant()
            start = datetime.combine(timezone.now().date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
            seeded = time.perf_counter()
            ids = _seed_events(start)
            print(f"calendars: {EVENTS} emulated events made in {time.perf_counter() - seeded:.1f} s", flush=True)
            conn = _connect(tenant, owner)
            initial = _timed_sync(tenant, conn)
            with tenant_context(tenant):
                mirrored = ExternalCalendarEvent.objects.count()
            for n in range(CHANGES):
                if n % 5 < 2:  # 20 new events
                    begin = start + timedelta(days=n, hours=3)
                    store.dev_event_create(email=ACCOUNT, summary=f"New {n}", start=begin.isoformat(),
                                           end=(begin + timedelta(hours=1)).isoformat())
                elif n % 5 < 4:  # 20 moved
                    begin = start + timedelta(days=n % 80, hours=5)
                    store.dev_event_update(event_id=ids[n], changes={
                        "start": begin.isoformat(), "end": (begin + timedelta(hours=1)).isoformat()})
                else:  # 10 deleted
                    store.dev_event_delete(event_id=ids[n])
            incremental = _timed_sync(tenant, conn)
            with tenant_context(tenant):
                after = ExternalCalendarEvent.objects.count()
                day = start.date()
                with_events, free_with = _slots_time(offering, day)
                ExternalCalendarEvent.objects.all().delete()
                without_events, free_without = _slots_time(offering, day)
            connection.set_schema_to_public()
    finally:
        server.shutdown()
        server.server_close()
    assert after == mirrored + 10, (mirrored, after)
    return [
        {"name": f"calendar_initial_sync_{EVENTS}_events", "value": round(initial, 3), "unit": "s",
         "baseline": round(incremental, 3), "ratio": round(initial / incremental, 1),
         "params": {"events": EVENTS, "mirrored": mirrored, "baseline_is": f"incremental sync after {CHANGES} "
                    "changes (20 added, 20 moved, 10 deleted)", "provider": "Google emulator over HTTP",
                    "page_size": 2500}},
        {"name": f"slots_30_days_with_{EVENTS}_mirrored_events", "value": round(with_events, 4), "unit": "s",
         "baseline": round(without_events, 4), "ratio": round(without_events / with_events, 2),
         "params": {"mirrored_events": after, "free_slots_with": free_with, "free_slots_without": free_without,
                    "baseline_is": "the same slots with an empty mirror", "statistic": "median",
                    "runs": SLOT_RUNS}},
    ]

