"""Refunds: who cancels decides the reason and the amount; a refund is issued once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import BillingSettings, Payment, Refund
from booking.models import BookingSettings, Call, CallParticipant
from tests.billing_support import manage_token, open_every_day, paid_booking, pay


@pytest.fixture
def api(alpha_api, payments_ready):
    open_every_day(alpha_api)
    return alpha_api


@pytest.fixture
def emulator(stripe_emulator):
    return stripe.StripeClient("sk_test_consultio", base_addresses={"api": f"{stripe_emulator}/sandbox/stripe"},
                               max_network_retries=0)


@pytest.fixture
def paid(api, stripe_webhooks, tenant_alpha):
    """A confirmed booking paid with 4242 (5,000 EUR cents; the platform keeps 250)."""

    def make(**kwargs):
        booking = paid_booking(api, **kwargs)
        assert pay(booking["checkout_url"]).status_code == 200
        stripe_webhooks.forward()
        with tenant_context(tenant_alpha):
            participant = CallParticipant.objects.select_related("call", "payment").get(public_id=booking["id"])
        assert participant.status == "confirmed"
        return booking, participant

    return make


def _charge(emulator, payment: Payment):
    intent = emulator.v1.payment_intents.retrieve(payment.payment_intent_id)
    return emulator.v1.charges.retrieve(intent.latest_charge)


def _cancel_as_client(api, booking, django_capture_on_commit_callbacks, reason="Something came up"):
    with django_capture_on_commit_callbacks(execute=True):
        return api.call("post", f"/bookings/{booking['id']}/cancel?token={manage_token(booking)}",
                        {"reason": reason}, auth=False)


def test_host_cancel_refunds_everything_including_the_platform_fee(api, paid, emulator, tenant_alpha,
                                                                  django_capture_on_commit_callbacks):
    booking, participant = paid()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.call("post", f"/me/calls/{participant.call.public_id}/cancel", {"reason": "I am ill"})
    assert response.status_code == 200
    refund = response.json()["participants"][0]["refund"]
    assert refund["amount"] == 5000 and refund["currency"] == "EUR"
    assert refund["reason"] == "Host canceled the call"
    charge = _charge(emulator, participant.payment)
    assert (charge.amount_refunded, charge.refunded) == (5000, True)
    # The tenant gave back its whole share: nothing of this call is left on its balance.
    listed = api.call("get", "/me/calls?status=canceled").json()["items"][0]["participants"][0]
    assert listed["refund"] == {"amount": 5000, "currency": "EUR", "status": "succeeded",
                                "reason": "Host canceled the call"}
    with tenant_context(tenant_alpha):
        stored = Refund.objects.get()
    assert (stored.transfer_reversed, stored.stripe_refund_id[:3]) == (4750, "re_")


def test_client_cancel_before_the_cut_off_refunds_in_full(api, paid, emulator, django_capture_on_commit_callbacks):
    booking, participant = paid(days_ahead=3)
    response = _cancel_as_client(api, booking, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert response.json()["refund"]["amount"] == 5000
    assert response.json()["refund"]["reason"] == "Client canceled the call"
    assert _charge(emulator, participant.payment).amount_refunded == 5000


@pytest.mark.parametrize(("percent", "refunded"), [(0, None), (50, 2500), (100, 5000)])
def test_client_cancel_after_the_cut_off_follows_the_tenant_policy(api, paid, emulator, tenant_alpha, percent,
                                                                   refunded, django_capture_on_commit_callbacks):
    with tenant_context(tenant_alpha):
        BookingSettings.objects.update_or_create(defaults={"client_change_cutoff_hours": 24 * 7})
        BillingSettings.objects.update_or_create(defaults={"late_cancel_refund_percent": percent})
    booking, participant = paid(days_ahead=3)
    response = _cancel_as_client(api, booking, django_capture_on_commit_callbacks)
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    refund = response.json()["refund"]
    assert (refund["amount"] if refund else None) == refunded
    assert _charge(emulator, participant.payment).amount_refunded == (refunded or 0)


def test_a_client_cannot_claim_a_no_show(api, paid, tenant_alpha, django_capture_on_commit_callbacks):
    booking, _ = paid()
    response = _cancel_as_client(api, booking, django_capture_on_commit_callbacks,
                                 reason="Host didn't join the call")
    assert response.json()["refund"]["reason"] == "Client canceled the call"
    assert response.json()["cancel_reason"] == "Host didn't join the call"  # kept as the client's message
    with tenant_context(tenant_alpha):
        assert Refund.objects.get().reason == "client_canceled"


def test_a_refund_is_issued_once_whatever_is_retried(api, paid, emulator, tenant_alpha,
                                                     django_capture_on_commit_callbacks):
    from billing.refunds import refund_issue, refund_record

    booking, participant = paid()
    _cancel_as_client(api, booking, django_capture_on_commit_callbacks)
    assert _cancel_as_client(api, booking, django_capture_on_commit_callbacks).status_code == 409
    with tenant_context(tenant_alpha):
        refund = Refund.objects.get()
        payment = Payment.objects.get()
        assert refund_record(payment=payment, amount=5000, reason="host_canceled") == refund
        # A retried task (say the worker died after Stripe answered) sends the same idempotency key.
        Refund.objects.filter(pk=refund.pk).update(status="pending", stripe_refund_id="")
        again = refund_issue(refund_id=refund.pk)
        assert again.stripe_refund_id == refund.stripe_refund_id
    assert _charge(emulator, participant.payment).amount_refunded == 5000


def test_a_refund_waits_out_a_stripe_outage(api, paid, tenant_alpha, settings, emulator,
                                            django_capture_on_commit_callbacks):
    from billing import stripe_api
    from billing.refunds import refund_issue
    from billing.sweep import billing_sweep
    from core.models import DueWork

    booking, participant = paid()
    live_base = settings.STRIPE_API_BASE
    with tenant_context(tenant_alpha):
        from booking.services import booking_cancel_by_client

        booking_cancel_by_client(booking_id=booking["id"], token=manage_token(booking))
        refund = Refund.objects.get()
        settings.STRIPE_API_BASE = "http://127.0.0.1:9/v1-nowhere"
        with pytest.raises(stripe_api.ProviderError):
            refund_issue(refund_id=refund.pk)
        refund.refresh_from_db()
        assert refund.status == "pending"
        assert DueWork.objects.filter(schema_name="t_alpha", kind="billing.sweep").exists()
        settings.STRIPE_API_BASE = live_base
        assert billing_sweep(now=timezone.now()) >= 1
        refund.refresh_from_db()
    assert refund.status == "succeeded" and refund.attempts == 2
    assert _charge(emulator, participant.payment).amount_refunded == 5000


def _end_call(tenant, call: Call):
    with tenant_context(tenant):
        start = timezone.now() - timedelta(hours=2)
        Call.objects.filter(pk=call.pk).update(start_at=start, end_at=start + timedelta(hours=1),
                                               blocked_start=start, blocked_end=start + timedelta(hours=1))
        return Call.objects.get(pk=call.pk)


@pytest.mark.parametrize(("host_joined", "client_joined", "reason"), [
    (False, True, "host_no_show"), (False, False, "nobody_joined"), (True, False, None)])
def test_attendance_decides_no_show_refunds(api, paid, tenant_alpha, emulator, host_joined, client_joined, reason,
                                            django_capture_on_commit_callbacks):
    from billing.refunds import refund_for_attendance

    booking, participant = paid()
    call = _end_call(tenant_alpha, participant.call)
    with tenant_context(tenant_alpha), django_capture_on_commit_callbacks(execute=True):
        refunds = refund_for_attendance(call=call, host_joined=host_joined,
                                        joined_participant_ids={participant.pk} if client_joined else set())
    assert [r.reason for r in refunds] == ([reason] if reason else [])
    assert _charge(emulator, participant.payment).amount_refunded == (5000 if reason else 0)


def test_attendance_is_settled_only_after_the_call(api, paid, tenant_alpha):
    from billing.refunds import refund_for_attendance
    from core.exceptions import Conflict

    _, participant = paid()
    with tenant_context(tenant_alpha), pytest.raises(Conflict):
        refund_for_attendance(call=participant.call, host_joined=False, joined_participant_ids=set())


def test_canceling_an_unpaid_booking_closes_its_checkout(api, tenant_alpha, emulator,
                                                         django_capture_on_commit_callbacks):
    from tests.billing_support import session_id

    booking = paid_booking(api)
    response = _cancel_as_client(api, booking, django_capture_on_commit_callbacks)
    assert response.status_code == 200 and response.json()["refund"] is None
    assert emulator.v1.checkout.sessions.retrieve(session_id(booking["checkout_url"])).status == "expired"
    assert pay(booking["checkout_url"]).status_code == 409


def test_the_client_sees_the_refund_before_and_after_canceling(api, paid, client, alpha_host, tenant_alpha):
    with tenant_context(tenant_alpha):
        BillingSettings.objects.update_or_create(defaults={"late_cancel_refund_percent": 50})
    booking, _ = paid(days_ahead=3)
    page = f"/bookings/{booking['id']}/?token={manage_token(booking)}"
    assert "Canceling now refunds €50.00 to your card." in client.get(page, HTTP_HOST=alpha_host).content.decode()
    with tenant_context(tenant_alpha):
        BookingSettings.objects.update_or_create(defaults={"client_change_cutoff_hours": 24 * 7})
    html = client.get(page, HTTP_HOST=alpha_host).content.decode()
    assert "Canceling now refunds €25.00 to your card." in html
    assert "Choose another time" not in html and "too close to the call to move it" in html
