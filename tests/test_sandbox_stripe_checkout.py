"""Checkout Sessions on the Stripe emulator, through the stripe library and the hosted page."""

import time
import uuid

import httpx
import pytest
import stripe
from django.conf import settings

from tests.test_sandbox_stripe_accounts import _wait_for


@pytest.fixture
def stripe_client(live_server_url, db):
    return stripe.StripeClient("sk_test_emulator", base_addresses={"api": f"{live_server_url}/sandbox/stripe"},
                               max_network_retries=0)


@pytest.fixture
def connected(stripe_client):
    return stripe_client.v1.accounts.create(params={"type": "express"}).id


def _session(stripe_client, destination, **extra):
    params = {
        "mode": "payment", "customer_email": "kim@client.example",
        "line_items": [{"quantity": 2, "price_data": {"currency": "jpy", "unit_amount": 5000,
                                                      "product_data": {"name": "Workshop seat"}}}],
        "payment_intent_data": {"application_fee_amount": 500, "transfer_data": {"destination": destination},
                                "metadata": {"schema": "t_demo"}},
        "metadata": {"schema": "t_demo", "participant": "p-1"},
        "expires_at": int(time.time()) + 31 * 60,
        "success_url": "http://demo.localhost:8000/bookings/b/paid?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://demo.localhost:8000/bookings/b/canceled",
    } | extra
    return stripe_client.v1.checkout.sessions.create(params=params)


def _events(received, count):
    return [stripe.Webhook.construct_event(d["body"], d["headers"]["Stripe-Signature"],
                                           settings.STRIPE_WEBHOOK_SECRET) for d in _wait_for(received, count)]


def test_paying_with_4242_completes_the_session_and_tells_the_webhook(stripe_client, connected, live_server_url,
                                                                     webhook_receiver):
    session = _session(stripe_client, connected)
    assert session.id.startswith("cs_test_") and session.status == "open" and session.payment_status == "unpaid"
    assert (session.amount_total, session.currency) == (10000, "jpy")
    response = httpx.post(f"{live_server_url}/sandbox/stripe/checkout/{session.id}/pay",
                          json={"card": "4242 4242 4242 4242"})
    assert response.status_code == 200
    assert response.json() == {"status": "complete",
                               "redirect_url": f"http://demo.localhost:8000/bookings/b/paid?session={session.id}"}
    paid = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    intent = stripe_client.v1.payment_intents.retrieve(paid.payment_intent)
    assert (intent.amount, intent.application_fee_amount, intent.transfer_data.destination) == (10000, 500, connected)
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    assert charge.paid and charge.metadata["schema"] == "t_demo"
    (event,) = _events(webhook_receiver, 1)
    assert event.type == "checkout.session.completed" and event.data.object.metadata["participant"] == "p-1"
    again = httpx.post(f"{live_server_url}/sandbox/stripe/checkout/{session.id}/pay", json={"card": "4242424242424242"})
    assert again.status_code == 409


DECLINES = [("4000000000000002", "generic_decline", "Your card was declined."),
            ("4000000000009995", "insufficient_funds", "Your card has insufficient funds.")]


@pytest.mark.parametrize(("card", "decline_code", "message"), DECLINES)
def test_declined_cards_leave_the_session_open_and_fail_its_payment_intent(
        stripe_client, connected, live_server_url, webhook_receiver, card, decline_code, message):
    session = _session(stripe_client, connected)
    pay = f"{live_server_url}/sandbox/stripe/checkout/{session.id}/pay"
    response = httpx.post(pay, json={"card": card})
    assert response.status_code == 402
    assert response.json() == {"error": {"type": "card_error", "message": message, "code": "card_declined",
                                         "decline_code": decline_code}}
    still = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (still.status, still.payment_status) == ("open", "unpaid") and still.payment_intent.startswith("pi_")
    intent = stripe_client.v1.payment_intents.retrieve(still.payment_intent)
    assert intent.status == "requires_payment_method"
    error = intent.last_payment_error
    assert (error.type, error.code, error.decline_code, error.message) == ("card_error", "card_declined",
                                                                           decline_code, message)
    failed = stripe_client.v1.charges.retrieve(error.charge)
    assert (failed.status, failed.paid, failed.failure_code) == ("failed", False, "card_declined")
    (event,) = _events(webhook_receiver, 1)
    assert event.type == "payment_intent.payment_failed" and event.data.object.id == intent.id
    assert event.data.object.metadata.to_dict() == {"schema": "t_demo"}
    assert event.data.object.last_payment_error.decline_code == decline_code

    # Paying again with a good card completes the same payment intent.
    assert httpx.post(pay, json={"card": "4242424242424242"}).status_code == 200
    paid = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert paid.payment_intent == intent.id
    intent = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert (intent.status, intent.last_payment_error, intent.amount_received) == ("succeeded", None, 10000)
    assert intent.latest_charge != failed.id
    assert [e.type for e in _events(webhook_receiver, 2)] == ["payment_intent.payment_failed",
                                                             "checkout.session.completed"]


def test_the_hosted_page_pays_and_redirects(stripe_client, connected, webhook_receiver):
    session = _session(stripe_client, connected)
    page = httpx.get(session.url)
    assert page.status_code == 200 and "4242 4242 4242 4242" in page.text
    declined = httpx.post(session.url, data={"card": "4000 0000 0000 0002"})
    assert declined.status_code == 402 and "Your card was declined." in declined.text
    intent_id = stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent
    assert stripe_client.v1.payment_intents.retrieve(intent_id).last_payment_error.decline_code == "generic_decline"
    (failed,) = _events(webhook_receiver, 1)
    assert failed.type == "payment_intent.payment_failed" and failed.data.object.id == intent_id
    again = httpx.post(session.url, data={"card": "4000 0000 0000 9995"})
    assert again.status_code == 402 and "insufficient funds" in again.text
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent == intent_id
    paid = httpx.post(session.url, data={"card": "4242 4242 4242 4242"})
    assert paid.status_code == 302 and paid.headers["location"].endswith(f"session={session.id}")
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent == intent_id
    assert stripe_client.v1.payment_intents.retrieve(intent_id).status == "succeeded"


def test_a_mistyped_card_number_changes_nothing(stripe_client, connected, live_server_url):
    session = _session(stripe_client, connected)
    response = httpx.post(f"{live_server_url}/sandbox/stripe/checkout/{session.id}/pay", json={"card": "1234"})
    assert response.status_code == 402 and response.json()["error"]["code"] == "incorrect_number"
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent is None


def test_expiring_a_session_tells_the_webhook(stripe_client, connected, webhook_receiver):
    session = _session(stripe_client, connected)
    expired = stripe_client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired" and expired.url is None
    (event,) = _events(webhook_receiver, 1)
    assert event.type == "checkout.session.expired"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.expire(session.id)


def test_double_submit_with_one_idempotency_key_makes_one_session(stripe_client, connected):
    key = f"checkout-{uuid.uuid4()}"
    expires = int(time.time()) + 40 * 60
    sessions = stripe_client.v1.checkout.sessions
    first = sessions.create(params=_params(connected, expires), options={"idempotency_key": key})
    second = sessions.create(params=_params(connected, expires), options={"idempotency_key": key})
    assert first.id == second.id


def _params(destination, expires):
    return {"mode": "payment", "expires_at": expires, "success_url": "http://x/s", "cancel_url": "http://x/c",
            "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 100,
                                                          "product_data": {"name": "Call"}}}],
            "payment_intent_data": {"transfer_data": {"destination": destination}}}


@pytest.mark.parametrize(("changes", "param"), [
    ({"expires_at": 1}, "expires_at"),
    ({"line_items": []}, "line_items"),
    ({"success_url": ""}, "success_url"),
    ({"payment_intent_data": {"transfer_data": {"destination": "acct_unknown"}}},
     "payment_intent_data[transfer_data][destination]"),
])
def test_bad_sessions_are_refused_with_the_param_named(stripe_client, connected, changes, param):
    with pytest.raises(stripe.InvalidRequestError) as error:
        _session(stripe_client, connected, **changes)
    assert error.value.param == param


def test_a_second_click_on_pay_goes_where_the_first_went_and_charges_once(stripe_client, connected):
    session = _session(stripe_client, connected)
    first = httpx.post(session.url, data={"card": "4242 4242 4242 4242"})
    second = httpx.post(session.url, data={"card": "4242 4242 4242 4242"})
    assert first.status_code == second.status_code == 302
    assert second.headers["location"] == first.headers["location"]
    intent = stripe_client.v1.payment_intents.retrieve(stripe_client.v1.checkout.sessions.retrieve(session.id)
                                                       .payment_intent)
    assert intent.amount_received == 10000
    back = httpx.get(session.url)
    assert back.status_code == 200 and "This payment is complete" in back.text
    assert 'name="card"' not in back.text and "no-store" in back.headers["cache-control"]
