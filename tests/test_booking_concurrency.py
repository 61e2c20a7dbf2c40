"""Twenty clients race for one slot, and for the last seats of a group call, on
real PostgreSQL with real threads: exactly the right number win, the rest get
409, nobody gets a 500.

The racers need committed data, while each test runs in a transaction that is
rolled back. So everything these tests write or read goes through threads of
their own (each thread has its own database connection, in autocommit), on a
tenant of their own that is removed, schema and all, afterwards.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

RACERS = 20

pytestmark = pytest.mark.django_db  # the test database, not the development one


def in_own_connection(fn):
    """Run ``fn`` on a fresh connection that commits as it goes."""

    def run():
        try:
            return fn()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def own_tenant_remove(tenant_id: int) -> None:
    """Drop a tenant a test committed, schema, rows and due work included."""
    from core.models import DueWork
    from tenants.models import StaffAction, Tenant

    connection.set_schema_to_public()
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is not None:
        DueWork.objects.filter(schema_name=tenant.schema_name).delete()
        StaffAction.objects.filter(tenant=tenant).delete()
        tenant.domains.all().delete()
        tenant.delete(force_drop=True)


@pytest.fixture
def race_tenant(db):
    from accounts.models import User
    from booking.availability import PeriodIn, availability_replace
    from booking.offerings import offering_create
    from tenants.services import tenant_provision

    def create():
        tenant = tenant_provision(slug="race", name="Race", owner_name="Rita Race", owner_email="rita@race.example",
                                  owner_password="race-owner-pass-1", source="tests").tenant
        with schema_context(tenant.schema_name):
            owner = User.objects.get()
            availability_replace(consultant=owner, time_zone="UTC",
                                 weekly=[(d, PeriodIn("00:00", "24:00")) for d in range(7)], overrides=[])
            single = offering_create(consultant=owner, kind="individual", data={
                "title": "Call", "duration_minutes": 60, "price_amount": 0, "min_notice_minutes": 0})
            start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
            group = offering_create(consultant=owner, kind="group", data={
                "title": "Workshop", "start_at": start + timedelta(days=1),
                "end_at": start + timedelta(days=1, hours=1), "capacity": 5, "price_amount": 0})
        return {"tenant_id": tenant.pk, "host": "race.localhost", "single": str(single.public_id),
                "group": str(group.public_id), "start": start}

    data = in_own_connection(create)
    try:
        yield data
    finally:
        in_own_connection(lambda: own_tenant_remove(data["tenant_id"]))


def _race(host: str, bodies: list[dict]) -> list[int]:
    def book(body: dict) -> int:
        try:
            return Client().post("/api/v1/bookings", body, content_type="application/json", HTTP_HOST=host).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(book, bodies))


def test_twenty_clients_racing_for_one_slot_exactly_one_wins(race_tenant):
    start = race_tenant["start"].astimezone(ZoneInfo("UTC")).isoformat()
    bodies = [{"offering_id": race_tenant["single"], "start": start, "name": f"Client {i}",
               "email": f"client{i}@race.example"} for i in range(RACERS)]
    statuses = _race(race_tenant["host"], bodies)
    assert sorted(statuses) == [201] + [409] * (RACERS - 1)
    from booking.models import Call

    def count():
        with schema_context("t_race"):
            return Call.objects.filter(kind="individual").count()

    assert in_own_connection(count) == 1


def test_twenty_clients_racing_for_five_seats_never_oversell(race_tenant):
    bodies = [{"offering_id": race_tenant["group"], "name": f"Client {i}", "email": f"seat{i}@race.example",
               "seats": 1 + i % 2} for i in range(RACERS)]
    statuses = _race(race_tenant["host"], bodies)
    assert set(statuses) <= {201, 409}
    from django.db.models import Sum

    from booking.models import CallParticipant

    def sold():
        with schema_context("t_race"):
            participants = CallParticipant.objects.filter(call__kind="group")
            return participants.count(), participants.aggregate(n=Sum("seats"))["n"]

    bookings, seats = in_own_connection(sold)
    assert bookings == statuses.count(201)
    # Five seats, requests of one or two: never more than five, and at most one seat left unsold
    # (when only two-seat requests remained).
    assert 4 <= seats <= 5


def test_the_same_booking_form_sent_several_times_at_once_makes_one_booking(race_tenant):
    """A double (or triple) click: the same form, with its one-time key, reaches the server several
    times at once. One booking is made, and every answer leads to it."""
    from booking.models import CallParticipant

    def send_at_once(offering: str, fields: dict) -> list[tuple[int, str]]:
        def send(_) -> tuple[int, str]:
            try:
                response = Client().post(f"/book/{offering}/", {
                    "name": "Dee Double", "email": "dee@race.example", "time_zone": "UTC", **fields},
                    HTTP_HOST=race_tenant["host"])
                return response.status_code, response.get("Location", "").split("?")[0]
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=5) as pool:
            return list(pool.map(send, range(5)))

    single = send_at_once(race_tenant["single"], {"start": race_tenant["start"].isoformat(), "submit_key": "form-a"})
    group = send_at_once(race_tenant["group"], {"seats": 2, "submit_key": "form-b"})
    for answers in (single, group):
        assert {status for status, _ in answers} == {302}, answers
        assert len({location for _, location in answers}) == 1, answers

    def booked():
        with schema_context("t_race"):
            return sorted(CallParticipant.objects.values_list("call__kind", "seats"))

    assert in_own_connection(booked) == [("group", 2), ("individual", 1)]
