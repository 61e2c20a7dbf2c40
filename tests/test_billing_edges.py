"""Billing at its edges: late payments, routing that must not cross tenants, Stripe's temporary
errors, payouts returned by the bank, currencies Stripe counts differently."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import ConnectedAccount, Payment, Payout, Refund
from booking.models import Call, CallParticipant
from core.models import WebhookEvent
from sandbox.stripe.signing import signature_header
from tests.billing_support import manage_token, open_every_day, paid_booking, pay, session_id


@pytest.fixture
def api(alpha_api, payments_ready):
    open_every_day(alpha_api)
    return alpha_api


@pytest.fixture
def emulator(stripe_emulator):
    return stripe.StripeClient("sk_test_consultio", base_addresses={"api": f"{stripe_emulator}/sandbox/stripe"},
                               max_network_retries=0)


def _signed_post(platform_host, event: dict):
    body = json.dumps(event)
    return Client().post("/webhooks/stripe", body, content_type="application/json", HTTP_HOST=platform_host,
                         HTTP_STRIPE_SIGNATURE=signature_header(body, settings.STRIPE_WEBHOOK_SECRET))


def _event(event_type: str, obj: dict, **extra) -> dict:
    return {"id": f"evt_edge_{time.monotonic_ns()}", "object": "event", "type": event_type,
            "created": int(time.time()), "data": {"object": obj}} | extra


def test_the_tenants_account_pays_out_only_when_asked(payments_ready, emulator):
    account = emulator.v1.accounts.retrieve(payments_ready.stripe_account_id)
    assert account.settings.payouts.schedule.interval == "manual"  # the freeze rule decides, not Stripe


def test_a_payment_after_the_call_started_is_refunded(api, tenant_alpha, stripe_webhooks):
    booking = paid_booking(api)
    with tenant_context(tenant_alpha):
        participant = CallParticipant.objects.get(public_id=booking["id"])
        start = timezone.now() - timedelta(minutes=5)
        Call.objects.filter(pk=participant.call_id).update(start_at=start, end_at=start + timedelta(hours=1),
                                                           blocked_start=start, blocked_end=start + timedelta(hours=1))
    pay(booking["checkout_url"])
    stripe_webhooks.forward()
    with tenant_context(tenant_alpha):
        participant.refresh_from_db()
        refund = Refund.objects.get(payment__participant=participant)
    assert (participant.status, participant.cancel_reason) == ("canceled", "Paid after the call had started")
    assert (refund.amount, refund.reason, refund.status) == (5000, "paid_too_late", "succeeded")


def test_checkout_that_cannot_start_gives_the_slot_back(api, tenant_alpha):
    from billing.payments import checkout_start_or_release
    from booking.services import BookingRequest, booking_create
    from core.exceptions import Conflict
    from tests.billing_support import offering, slot

    created = offering(api, amount=5000)
    start = slot(api, created["id"])
    with tenant_context(tenant_alpha):
        from datetime import datetime

        booked = booking_create(request=BookingRequest(
            offering_id=created["id"], start=datetime.fromisoformat(start), name="Lee", email="lee@client.example"))
        ConnectedAccount.objects.update(charges_enabled=False)  # Stripe disabled the account meanwhile
        with pytest.raises(Conflict):
            checkout_start_or_release(participant=booked.participant, success_url="http://a/", cancel_url="http://b/")
        booked.participant.refresh_from_db()
    assert (booked.participant.status, booked.participant.canceled_by) == ("canceled", "system")


def test_pay_twice_on_a_booking_without_a_session_makes_one(api, tenant_alpha, client, alpha_host):
    from booking.services import BookingRequest, booking_create
    from tests.billing_support import offering, slot

    created = offering(api, amount=5000)
    start = slot(api, created["id"])
    with tenant_context(tenant_alpha):
        from datetime import datetime

        booked = booking_create(request=BookingRequest(
            offering_id=created["id"], start=datetime.fromisoformat(start), name="Lee", email="lee@client.example"))
    url = f"/bookings/{booked.participant.public_id}/pay/"
    first = client.post(url, {"token": booked.manage_token}, HTTP_HOST=alpha_host)
    second = client.post(url, {"token": booked.manage_token}, HTTP_HOST=alpha_host)
    assert first.status_code == second.status_code == 302
    assert "/sandbox/stripe/checkout/cs_test_" in first["Location"] and first["Location"] == second["Location"]
    with tenant_context(tenant_alpha):
        assert Payment.objects.filter(participant=booked.participant).count() == 1


def test_leaving_checkout_while_stripe_is_down_keeps_the_hold_and_says_so(api, tenant_alpha, client, alpha_host,
                                                                          settings):
    booking = paid_booking(api)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9/nowhere"
    response = client.get(f"/bookings/{booking['id']}/checkout-canceled/?token={manage_token(booking)}",
                          HTTP_HOST=alpha_host, follow=True)
    assert "You can still pay until your time is released" in response.content.decode()
    with tenant_context(tenant_alpha):
        assert CallParticipant.objects.get(public_id=booking["id"]).status == "pending_payment"


def test_a_connected_accounts_event_cannot_name_another_tenant(api, payments_ready, platform_host, tenant_beta):
    event = _event("payout.paid", {"id": "po_cross", "object": "payout", "amount": 100, "currency": "usd",
                                   "status": "paid", "arrival_date": int(time.time()),
                                   "metadata": {"schema": "t_beta"}},
                   account=payments_ready.stripe_account_id)
    assert _signed_post(platform_host, event).json() == {"received": True, "handled": False}
    assert WebhookEvent.objects.get(event_id=event["id"]).outcome == "unrouted"
    with tenant_context(tenant_beta):
        assert not Payout.objects.exists()


def test_account_events_out_of_order_while_stripe_is_unreachable(api, payments_ready, platform_host, settings,
                                                                 tenant_alpha):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9/nowhere"  # handlers fall back to the event's own copy
    account = {"id": payments_ready.stripe_account_id, "object": "account", "details_submitted": True,
               "requirements": {"currently_due": []}}
    now = int(time.time()) + 60
    newer = _event("account.updated", account | {"charges_enabled": False, "payouts_enabled": False},
                   created=now + 10, account=account["id"])
    older = _event("account.updated", account | {"charges_enabled": True, "payouts_enabled": True},
                   created=now, account=account["id"])
    assert _signed_post(platform_host, newer).status_code == 200
    assert _signed_post(platform_host, older).status_code == 200
    with tenant_context(tenant_alpha):
        state = ConnectedAccount.objects.get()
    assert (state.charges_enabled, state.payouts_enabled) == (False, False)


def test_a_payout_the_bank_returns_counts_again(api, payments_ready, platform_host, tenant_alpha):
    base = {"id": "po_returned", "object": "payout", "amount": 700, "currency": "usd",
            "arrival_date": int(time.time())}
    seen = []
    # A late "in transit" never undoes "paid"; a bank returning the money does.
    for status in ("in_transit", "paid", "in_transit", "failed"):
        event = _event(f"payout.{status if status in ('paid', 'failed') else 'updated'}", base | {"status": status},
                       account=payments_ready.stripe_account_id)
        assert _signed_post(platform_host, event).status_code == 200
        with tenant_context(tenant_alpha):
            seen.append(Payout.objects.get(stripe_payout_id="po_returned").status)
    assert seen == ["in_transit", "paid", "paid", "failed"]


def test_stripe_reporting_a_refund_failed_is_recorded(api, tenant_alpha, stripe_webhooks, platform_host,
                                                      django_capture_on_commit_callbacks):
    booking = paid_booking(api)
    pay(booking["checkout_url"])
    stripe_webhooks.forward()
    with django_capture_on_commit_callbacks(execute=True):
        api.call("post", f"/bookings/{booking['id']}/cancel?token={manage_token(booking)}", {}, auth=False)
    with tenant_context(tenant_alpha):
        refund = Refund.objects.get()
    assert refund.status == "succeeded"
    event = _event("refund.failed", {"id": refund.stripe_refund_id, "object": "refund", "status": "failed",
                                     "failure_reason": "expired_or_canceled_card",
                                     "metadata": {"schema": "t_alpha", "refund": str(refund.public_id)}})
    assert _signed_post(platform_host, event).json()["handled"] is True
    with tenant_context(tenant_alpha):
        refund.refresh_from_db()
    assert (refund.status, refund.failure_message) == ("failed", "expired_or_canceled_card")


class _Answering(BaseHTTPRequestHandler):
    status = 500

    def do_GET(self):  # noqa: N802
        body = json.dumps({"error": {"type": "api_error", "message": "Something went wrong on Stripe's end."}})
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(("status", "temporary"), [(500, True), (503, True), (429, True), (404, False)])
def test_stripe_errors_worth_retrying_are_told_apart(settings, status, temporary):
    from billing import stripe_api

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answering)
    server.status = status
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    try:
        with pytest.raises(stripe_api.ProviderError) as caught:
            stripe_api.account_get("acct_x")
    finally:
        server.shutdown()
        server.server_close()
    assert caught.value.temporary is temporary


def test_isk_is_sent_to_stripe_with_two_decimals(api, emulator, tenant_alpha):
    booking = paid_booking(api, amount=5000, currency="ISK")
    session = emulator.v1.checkout.sessions.retrieve(session_id(booking["checkout_url"]))
    assert (session.amount_total, session.currency) == (500000, "isk")  # Stripe's special case
    with tenant_context(tenant_alpha):
        payment = Payment.objects.get()
    assert (payment.amount, payment.application_fee) == (5000, 250)
