"""Eight clicks on "Pay" at the same moment, on real PostgreSQL with real threads, against the
Stripe emulator over HTTP: one Checkout Session, one payment record, every click sent to it.

Like ``test_booking_concurrency``, the racers need committed data: everything goes through
threads with their own connections, on a tenant of its own that is removed afterwards."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.test_booking_concurrency import in_own_connection, own_tenant_remove

CLICKS = 8

pytestmark = pytest.mark.django_db


@pytest.fixture
def pay_tenant(db, stripe_emulator):
    from accounts.models import User
    from billing.onboarding import account_ensure, account_refresh
    from booking.availability import PeriodIn, availability_replace
    from booking.offerings import offering_create
    from booking.services import BookingRequest, booking_create
    from tenants.services import tenant_provision

    def create():
        tenant = tenant_provision(slug="payrace", name="Pay Race", owner_name="Pia Pay",
                                  owner_email="pia@payrace.example", owner_password="payrace-owner-1",
                                  source="tests").tenant
        with schema_context(tenant.schema_name):
            connection.tenant = tenant
            owner = User.objects.get()
            account = account_ensure(owner_email=owner.email)
            httpx.post(f"{stripe_emulator}/sandbox/stripe/accounts/{account.stripe_account_id}/onboarding",
                       json={"outcome": "complete"}).raise_for_status()
            assert account_refresh().ready
            availability_replace(consultant=owner, time_zone="UTC",
                                 weekly=[(d, PeriodIn("00:00", "24:00")) for d in range(7)], overrides=[])
            paid = offering_create(consultant=owner, kind="individual", data={
                "title": "Paid call", "duration_minutes": 60, "price_amount": 9000, "currency": "USD",
                "min_notice_minutes": 0})
            start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
            booked = booking_create(request=BookingRequest(
                offering_id=str(paid.public_id), start=start, name="Pat", email="pat@client.example"))
        return {"tenant_id": tenant.pk, "host": "payrace.localhost",
                "booking": str(booked.participant.public_id), "token": booked.manage_token}

    data = in_own_connection(create)
    try:
        yield data
    finally:
        in_own_connection(lambda: own_tenant_remove(data["tenant_id"]))


def test_simultaneous_pay_clicks_make_one_checkout_session(pay_tenant):
    from billing.models import Payment
    from sandbox.models import StripeObject

    def click(_) -> tuple[int, str]:
        try:
            response = Client().post(f"/bookings/{pay_tenant['booking']}/pay/", {"token": pay_tenant["token"]},
                                     HTTP_HOST=pay_tenant["host"])
            return response.status_code, response.get("Location", "")
        finally:
            from django.db import connections

            connections.close_all()

    with ThreadPoolExecutor(max_workers=CLICKS) as pool:
        answers = list(pool.map(click, range(CLICKS)))
    assert {status for status, _ in answers} == {302}
    locations = {location for _, location in answers}
    assert len(locations) == 1 and "/sandbox/stripe/checkout/cs_test_" in locations.pop()

    def recorded():
        with schema_context("t_payrace"):
            payments = Payment.objects.count()
        sessions = StripeObject.objects.filter(object="checkout.session",
                                               data__metadata__participant=pay_tenant["booking"]).count()
        return payments, sessions

    assert in_own_connection(recorded) == (1, 1)
