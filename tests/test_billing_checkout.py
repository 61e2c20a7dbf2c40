"""A paid booking from booking to confirmation, through the Stripe emulator over real HTTP:
Checkout Session per booking, the webhook, the client's return, declines and abandoned checkouts."""

from __future__ import annotations

import json

import pytest
import stripe
from django_tenants.utils import tenant_context

from billing.models import Payment
from booking.models import CallParticipant
from core.urls import host_url
from tests.billing_support import (
    book,
    local_path,
    manage_token,
    offering,
    open_every_day,
    paid_booking,
    pay,
    session_id,
    slot,
)

pytestmark = pytest.mark.usefixtures("payments_ready")


@pytest.fixture
def api(alpha_api):
    open_every_day(alpha_api)
    return alpha_api


@pytest.fixture
def emulator(stripe_emulator):
    return stripe.StripeClient("sk_test_consultio", base_addresses={"api": f"{stripe_emulator}/sandbox/stripe"},
                               max_network_retries=0)


def _participant(tenant, booking_id) -> CallParticipant:
    with tenant_context(tenant):
        return CallParticipant.objects.select_related("call", "payment").get(public_id=booking_id)


def test_a_paid_booking_gets_a_checkout_session_for_what_was_booked(api, emulator, tenant_alpha, alpha_host):
    booking = paid_booking(api, amount=5000, currency="EUR")
    assert booking["status"] == "pending_payment"
    session = emulator.v1.checkout.sessions.retrieve(session_id(booking["checkout_url"]))
    assert (session.amount_total, session.currency, session.status) == (5000, "eur", "open")
    assert session.customer_email == "carla@client.example"
    assert session.metadata.to_dict() == {"schema": "t_alpha", "call": session.metadata["call"],
                                          "participant": booking["id"]}
    participant = _participant(tenant_alpha, booking["id"])
    assert session.metadata["call"] == str(participant.call.public_id)
    # The hold and the session end together; success and cancel lead back to the tenant's host.
    assert session.expires_at == int(participant.hold_expires_at.timestamp())
    site = host_url(alpha_host)
    assert session.success_url.startswith(f"{site}/bookings/{booking['id']}/paid/?token=")
    assert "{CHECKOUT_SESSION_ID}" in session.success_url
    assert session.cancel_url.startswith(f"{site}/bookings/{booking['id']}/checkout-canceled/")
    # The destination charge and the platform's fee (the default plan: 5 %) are set on the session.
    assert (participant.payment.amount, participant.payment.application_fee) == (5000, 250)


def test_paying_with_4242_confirms_the_booking_through_the_webhook(api, tenant_alpha, stripe_webhooks, client,
                                                                   alpha_host):
    booking = paid_booking(api, amount=12000, currency="USD")
    response = pay(booking["checkout_url"])
    assert response.status_code == 200 and response.json()["status"] == "complete"
    answers = stripe_webhooks.forward()
    assert [r.status_code for r in answers] and all(r.status_code == 200 for r in answers)
    participant = _participant(tenant_alpha, booking["id"])
    assert participant.status == "confirmed" and participant.call.status == "confirmed"
    assert participant.hold_expires_at is None
    payment = participant.payment
    assert (payment.status, payment.amount, payment.application_fee) == ("paid", 12000, 600)
    assert payment.payment_intent_id.startswith("pi_") and payment.charge_id.startswith("ch_")
    # Stripe's date for the tenant's share was fetched after confirmation.
    assert payment.available_on is not None
    page = client.get(f"/bookings/{booking['id']}/?token={manage_token(booking)}", HTTP_HOST=alpha_host)
    assert "Confirmed" in page.content.decode() and "paid" in page.content.decode()


def test_the_return_page_confirms_before_the_webhook_arrives(api, tenant_alpha, client, alpha_host):
    booking = paid_booking(api)
    redirect_url = pay(booking["checkout_url"]).json()["redirect_url"]
    # No webhook is delivered in this test: the return alone must show the confirmation.
    response = client.get(local_path(redirect_url), HTTP_HOST=alpha_host, follow=True)
    assert response.status_code == 200
    assert "your call is confirmed" in response.content.decode()
    assert _participant(tenant_alpha, booking["id"]).status == "confirmed"


def test_a_declined_card_keeps_the_session_open_and_tells_the_client(api, tenant_alpha, stripe_webhooks, client,
                                                                     alpha_host):
    booking = paid_booking(api)
    declined = pay(booking["checkout_url"], card="4000 0000 0000 9995")
    assert declined.status_code == 402
    assert declined.json()["error"]["decline_code"] == "insufficient_funds"
    stripe_webhooks.forward()
    participant = _participant(tenant_alpha, booking["id"])
    assert participant.status == "pending_payment" and participant.payment.status == "open"
    assert "insufficient funds" in participant.payment.failure_message
    page = client.get(f"/bookings/{booking['id']}/?token={manage_token(booking)}", HTTP_HOST=alpha_host)
    assert "The last payment attempt failed" in page.content.decode()
    # Another card on the same session works.
    assert pay(booking["checkout_url"]).status_code == 200
    stripe_webhooks.forward()
    assert _participant(tenant_alpha, booking["id"]).status == "confirmed"


def test_leaving_checkout_releases_the_hold_and_closes_the_session(api, tenant_alpha, client, alpha_host, emulator,
                                                                   stripe_webhooks):
    created = offering(api, amount=5000)
    start = slot(api, created["id"])
    booking = book(api, created["id"], start).json()
    assert start not in _slots(api, created["id"])
    session = emulator.v1.checkout.sessions.retrieve(session_id(booking["checkout_url"]))
    response = client.get(local_path(session.cancel_url), HTTP_HOST=alpha_host, follow=True)
    assert "nothing was charged and the time is free again" in response.content.decode()
    participant = _participant(tenant_alpha, booking["id"])
    assert (participant.status, participant.canceled_by) == ("canceled", "system")
    assert participant.payment.status == "expired"
    assert start in _slots(api, created["id"])
    assert emulator.v1.checkout.sessions.retrieve(session.id).status == "expired"
    # The session can no longer be paid, and the expiry event changes nothing more.
    assert pay(booking["checkout_url"]).status_code == 409
    assert all(r.status_code == 200 for r in stripe_webhooks.forward())
    assert _participant(tenant_alpha, booking["id"]).status == "canceled"


def _slots(api, offering_id):
    from datetime import timedelta

    from django.utils import timezone

    from tests.billing_support import KYIV

    day = timezone.now().astimezone(KYIV).date() + timedelta(days=3)
    return [s["start"] for s in api.call("get", f"/offerings/{offering_id}/slots?start={day}&end={day}",
                                         auth=False).json()["slots"]]


def test_an_expired_session_releases_the_hold(api, tenant_alpha, emulator, stripe_webhooks):
    booking = paid_booking(api)
    emulator.v1.checkout.sessions.expire(session_id(booking["checkout_url"]))
    answers = stripe_webhooks.forward(types=("checkout.session.expired",))
    assert [r.status_code for r in answers] == [200]
    participant = _participant(tenant_alpha, booking["id"])
    assert (participant.status, participant.cancel_reason) == ("canceled", "Payment not completed")
    assert participant.call.status == "canceled"


def test_a_double_click_on_pay_makes_one_session(api, tenant_alpha, client, alpha_host, emulator):
    booking = paid_booking(api)
    token = manage_token(booking)
    first = client.post(f"/bookings/{booking['id']}/pay/", {"token": token}, HTTP_HOST=alpha_host)
    second = client.post(f"/bookings/{booking['id']}/pay/", {"token": token}, HTTP_HOST=alpha_host)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == booking["checkout_url"]
    with tenant_context(tenant_alpha):
        assert Payment.objects.count() == 1
    from sandbox.models import StripeObject

    assert StripeObject.objects.filter(object="checkout.session",
                                       data__metadata__participant=booking["id"]).count() == 1


def test_a_group_booking_pays_for_its_seats(api, tenant_alpha, emulator):
    from datetime import timedelta

    from django.utils import timezone

    start = (timezone.now() + timedelta(days=4)).replace(microsecond=0)
    group = offering(api, amount=2500, kind="group", title="Workshop", start=start.isoformat(),
                     end=(start + timedelta(hours=2)).isoformat(), capacity=5)
    response = book(api, group["id"], seats=2)
    assert response.status_code == 201, response.content
    session = emulator.v1.checkout.sessions.retrieve(session_id(response.json()["checkout_url"]))
    assert session.amount_total == 5000
    with tenant_context(tenant_alpha):
        assert Payment.objects.get().application_fee == 250


def test_jpy_has_no_minor_units(api, tenant_alpha, emulator, stripe_webhooks, client, alpha_host):
    booking = paid_booking(api, amount=5000, currency="JPY")
    session = emulator.v1.checkout.sessions.retrieve(session_id(booking["checkout_url"]))
    assert (session.amount_total, session.currency) == (5000, "jpy")  # ¥5,000, not ¥50
    pay(booking["checkout_url"])
    stripe_webhooks.forward()
    with tenant_context(tenant_alpha):
        payment = Payment.objects.get()
    assert (payment.amount, payment.application_fee, payment.currency) == (5000, 250, "JPY")
    page = client.get(f"/bookings/{booking['id']}/?token={manage_token(booking)}", HTTP_HOST=alpha_host)
    assert "¥5,000" in page.content.decode()


def test_the_booking_page_sends_the_client_to_checkout(api, client, alpha_host, tenant_alpha):
    created = offering(api, amount=5000)
    start = slot(api, created["id"])
    response = client.post(f"/book/{created['id']}/", {
        "start": start, "name": "Pat Page", "email": "pat@client.example", "time_zone": "Europe/Berlin",
        "seats": 1}, HTTP_HOST=alpha_host)
    assert response.status_code == 302
    assert "/sandbox/stripe/checkout/cs_test_" in response["Location"]
    with tenant_context(tenant_alpha):
        assert Payment.objects.get().checkout_url == response["Location"]


def test_webhook_events_name_the_tenant_in_metadata(api, stripe_webhooks):
    booking = paid_booking(api)
    pay(booking["checkout_url"])
    completed = stripe_webhooks.of_type("checkout.session.completed")[-1]
    event = json.loads(completed["body"])
    assert event["data"]["object"]["metadata"]["schema"] == "t_alpha"


@pytest.mark.parametrize("path", ["paid/", "checkout-canceled/"])
def test_return_pages_need_the_bookings_own_token(api, client, alpha_host, beta_host, tenant_alpha, path):
    booking = paid_booking(api)
    wrong = client.get(f"/bookings/{booking['id']}/{path}?token=forged", HTTP_HOST=alpha_host)
    assert wrong.status_code == 403
    foreign = client.get(f"/bookings/{booking['id']}/{path}?token={manage_token(booking)}", HTTP_HOST=beta_host)
    assert foreign.status_code == 404
    assert client.post(f"/bookings/{booking['id']}/pay/", {"token": "forged"}, HTTP_HOST=alpha_host) \
        .status_code == 403
    participant = _participant(tenant_alpha, booking["id"])
    assert (participant.status, participant.payment.status) == ("pending_payment", "open")
