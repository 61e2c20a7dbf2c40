"""``POST /webhooks/stripe``: signatures, replays, routing and events out of order."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from billing.models import ConnectedAccount
from booking.models import CallParticipant
from core.models import WebhookEvent
from sandbox.stripe.signing import signature_header
from tests.billing_support import open_every_day, paid_booking, pay


def _event(event_type: str, obj: dict, **extra) -> dict:
    return {"id": f"evt_test_{time.monotonic_ns()}", "object": "event", "type": event_type,
            "created": int(time.time()), "data": {"object": obj}, "livemode": False} | extra


def _post(platform_host, event: dict, *, secret: str | None = None, timestamp: int | None = None,
          signature: str | None = None):
    body = json.dumps(event)
    header = signature if signature is not None else signature_header(
        body, secret or settings.STRIPE_WEBHOOK_SECRET, timestamp)
    return Client().post("/webhooks/stripe", body, content_type="application/json", HTTP_HOST=platform_host,
                         HTTP_STRIPE_SIGNATURE=header)


def test_a_signed_event_of_an_unhandled_type_is_recorded_and_answered_200(platform_host):
    event = _event("customer.created", {"id": "cus_1", "object": "customer"})
    response = _post(platform_host, event)
    assert response.status_code == 200 and response.json() == {"received": True, "handled": False}
    stored = WebhookEvent.objects.get(event_id=event["id"])
    assert (stored.provider, stored.type, stored.outcome) == ("stripe", "customer.created", "ignored")
    assert json.loads(stored.payload) == event


@pytest.mark.parametrize("case", ["forged", "wrong secret", "stale", "missing", "garbage"])
def test_forged_or_stale_events_get_400_and_change_nothing(platform_host, case):
    event = _event("account.updated", {"id": "acct_x", "object": "account", "charges_enabled": True})
    kwargs = {
        "forged": {"signature": f"t={int(time.time())},v1={'0' * 64}"},
        "wrong secret": {"secret": "whsec_someone_else"},
        "stale": {"timestamp": int(time.time()) - 301},  # Stripe's tolerance is five minutes
        "missing": {"signature": ""},
        "garbage": {"signature": "nonsense"},
    }[case]
    response = _post(platform_host, event, **kwargs)
    assert response.status_code == 400
    assert "Invalid Stripe signature" in response.json()["detail"]
    assert not WebhookEvent.objects.filter(event_id=event["id"]).exists()


def test_an_event_just_inside_the_tolerance_is_accepted(platform_host):
    event = _event("customer.created", {"id": "cus_2", "object": "customer"})
    assert _post(platform_host, event, timestamp=int(time.time()) - 240).status_code == 200


def test_an_event_routed_nowhere_is_recorded_as_unrouted(platform_host):
    event = _event("checkout.session.completed", {"id": "cs_x", "object": "checkout.session",
                                                  "metadata": {"schema": "t_nobody"}, "payment_status": "paid"})
    assert _post(platform_host, event).json() == {"received": True, "handled": False}
    assert WebhookEvent.objects.get(event_id=event["id"]).outcome == "unrouted"


def test_webhooks_live_on_the_platform_host_only(alpha_host):
    event = _event("customer.created", {"id": "cus_3", "object": "customer"})
    body = json.dumps(event)
    response = Client().post("/webhooks/stripe", body, content_type="application/json", HTTP_HOST=alpha_host,
                             HTTP_STRIPE_SIGNATURE=signature_header(body, settings.STRIPE_WEBHOOK_SECRET))
    assert response.status_code == 404


@pytest.fixture
def api(alpha_api, payments_ready):
    open_every_day(alpha_api)
    return alpha_api


def test_a_replayed_event_is_a_no_op(api, tenant_alpha, stripe_webhooks):
    booking = paid_booking(api)
    pay(booking["checkout_url"])
    completed = stripe_webhooks.of_type("checkout.session.completed")[-1]
    first = stripe_webhooks.post(completed["body"], completed["headers"]["Stripe-Signature"])
    assert first.json() == {"received": True, "handled": True}
    with tenant_context(tenant_alpha):
        participant = CallParticipant.objects.select_related("payment").get(public_id=booking["id"])
        paid_at = participant.payment.paid_at
    again = stripe_webhooks.post(completed["body"], completed["headers"]["Stripe-Signature"])
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": True}
    with tenant_context(tenant_alpha):
        participant.payment.refresh_from_db()
        assert participant.payment.paid_at == paid_at
    event_id = json.loads(completed["body"])["id"]
    assert WebhookEvent.objects.filter(event_id=event_id).count() == 1


def test_a_late_expiry_after_payment_changes_nothing(api, tenant_alpha, stripe_webhooks, platform_host):
    booking = paid_booking(api)
    pay(booking["checkout_url"])
    stripe_webhooks.forward()
    completed = json.loads(stripe_webhooks.of_type("checkout.session.completed")[-1]["body"])
    # An expiry for the same session, delivered late and out of order, must not undo the payment.
    stale = _event("checkout.session.expired", completed["data"]["object"] | {"status": "expired"},
                   created=completed["created"] - 10)
    assert _post(platform_host, stale).status_code == 200
    with tenant_context(tenant_alpha):
        participant = CallParticipant.objects.select_related("payment", "call").get(public_id=booking["id"])
    assert (participant.status, participant.payment.status, participant.call.status) == (
        "confirmed", "paid", "confirmed")


def test_completion_after_the_hold_was_released_reinstates_a_free_slot(api, tenant_alpha, stripe_webhooks):
    from booking.services import booking_release_unpaid

    booking = paid_booking(api)
    with tenant_context(tenant_alpha):
        participant = CallParticipant.objects.get(public_id=booking["id"])
        booking_release_unpaid(participant_id=participant.pk, reason="Payment not completed")
    # The client was still on Stripe's page and paid: the time is still free, so the booking stands.
    pay(booking["checkout_url"])
    stripe_webhooks.forward()
    with tenant_context(tenant_alpha):
        participant.refresh_from_db()
        assert participant.status == "confirmed" and participant.call.status == "confirmed"
        assert not hasattr(participant.payment, "refund")


def test_completion_after_the_slot_went_to_someone_else_refunds(api, tenant_alpha, stripe_webhooks, mailbox):
    from booking.services import booking_release_unpaid
    from tests.billing_support import book

    booking = paid_booking(api)
    with tenant_context(tenant_alpha):
        participant = CallParticipant.objects.select_related("call").get(public_id=booking["id"])
        booking_release_unpaid(participant_id=participant.pk, reason="Payment not completed")
        start = participant.call.start_at.isoformat()
    other = book(api, booking["offering"]["id"], start, email="other@client.example")
    assert other.status_code == 201
    pay(booking["checkout_url"])
    stripe_webhooks.forward()  # runs the refund task on commit, as a worker would
    with tenant_context(tenant_alpha):
        participant.refresh_from_db()
        refund = participant.payment.refund
    assert participant.status == "canceled"
    assert (refund.amount, refund.reason, refund.status) == (5000, "paid_too_late", "succeeded")
    told = [m for m in mailbox if m["To"] == "carla@client.example"]
    assert told[-1]["Subject"] == "Refunded: Strategy call" and "€50.00 is refunded" in mailbox.bodies(told[-1])


def test_account_events_arriving_out_of_order_leave_the_current_state(alpha_api, stripe_emulator, tenant_alpha,
                                                                       stripe_webhooks):
    import httpx

    created = alpha_api.call("post", "/me/payouts/onboarding").json()
    account_id = created["account_id"]
    url = f"{stripe_emulator}/sandbox/stripe/accounts/{account_id}/onboarding"
    httpx.post(url, json={"outcome": "abandon"})
    httpx.post(url, json={"outcome": "complete"})
    events = stripe_webhooks.of_type("account.updated")[-2:]
    for item in reversed(events):  # the newer state first, the older one last
        assert stripe_webhooks.post(item["body"], item["headers"]["Stripe-Signature"]).status_code == 200
    with tenant_context(tenant_alpha):
        account = ConnectedAccount.objects.get(stripe_account_id=account_id)
    assert account.charges_enabled and account.payouts_enabled
