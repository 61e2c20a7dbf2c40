"""Earnings and withdrawals: the freeze rule, balances, payouts and the dashboard's income."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import httpx
import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import BillingSettings, ConnectedAccount, Payment, Payout
from booking.models import CallParticipant
from conftest import ALPHA_OWNER_PASSWORD
from tests.billing_support import open_every_day, paid_booking, pay


@pytest.fixture
def api(alpha_api, payments_ready):
    open_every_day(alpha_api)
    return alpha_api


@pytest.fixture
def clock(stripe_emulator, db):
    """Moves the emulator's clock (Stripe's side of time); put back afterwards."""
    url = f"{stripe_emulator}/sandbox/stripe/clock"

    def advance(seconds: int) -> int:
        response = httpx.post(url, json={"advance_seconds": int(seconds)})
        assert response.status_code == 200, response.text
        return response.json()["now"]

    yield advance
    assert httpx.delete(url).status_code == 200


@pytest.fixture
def paid_call(api, stripe_webhooks, tenant_alpha):
    """A call three days ahead, paid 100.00 USD: the tenant nets 95.00 after the 5 % fee."""
    booking = paid_booking(api, amount=10000, currency="USD", days_ahead=3)
    assert pay(booking["checkout_url"]).status_code == 200
    stripe_webhooks.forward()
    with tenant_context(tenant_alpha):
        participant = CallParticipant.objects.select_related("call", "payment").get(public_id=booking["id"])
    assert participant.payment.available_on is not None
    return participant


def _balance(api, at=None):
    if at is None:
        return api.call("get", "/me/payouts").json()
    with mock.patch("django.utils.timezone.now", return_value=at):
        return api.call("get", "/me/payouts").json()


def test_money_is_withdrawable_only_after_the_call_plus_the_freeze(api, paid_call, clock):
    start = paid_call.call.start_at
    assert paid_call.payment.available_on < start  # Stripe's two days come before the call
    now = _balance(api)
    assert now["currency"] == "USD"
    assert now["available"] == {"amount": 0, "currency": "USD"}
    assert now["pending"] == {"amount": 9500, "currency": "USD"}
    clock((start + timedelta(days=6) - timezone.now()).total_seconds())  # Stripe has long made it available
    just_before = _balance(api, at=start + timedelta(days=5) - timedelta(minutes=1))
    assert (just_before["available"]["amount"], just_before["pending"]["amount"]) == (0, 9500)
    after = _balance(api, at=start + timedelta(days=5, minutes=1))
    assert (after["available"]["amount"], after["pending"]["amount"]) == (9500, 0)


def test_stripe_availability_wins_when_it_comes_later(api, paid_call, tenant_alpha, clock):
    with tenant_context(tenant_alpha):
        BillingSettings.objects.update_or_create(defaults={"freeze_days": 0})
        later = paid_call.call.start_at + timedelta(days=3)
        Payment.objects.filter(pk=paid_call.payment.pk).update(available_on=later)
    clock((later + timedelta(days=1) - timezone.now()).total_seconds())
    assert _balance(api, at=later - timedelta(minutes=1))["available"]["amount"] == 0
    assert _balance(api, at=later + timedelta(minutes=1))["available"]["amount"] == 9500


def test_withdraw_pays_out_what_is_available_once(api, paid_call, clock, stripe_webhooks, tenant_alpha, mailbox,
                                                  django_capture_on_commit_callbacks):
    withdrawable_at = paid_call.call.start_at + timedelta(days=5, minutes=1)
    clock((withdrawable_at - timezone.now()).total_seconds())
    before = len(mailbox)
    with mock.patch("django.utils.timezone.now", return_value=withdrawable_at):
        with django_capture_on_commit_callbacks(execute=True):
            created = api.call("post", "/me/payouts")
        again = api.call("post", "/me/payouts")
        after = api.call("get", "/me/payouts").json()
    assert created.status_code == 201, created.content
    payout = created.json()
    assert payout["id"].startswith("po_") and (payout["amount"], payout["currency"]) == (9500, "USD")
    assert payout["status"] == "in_transit" and payout["arrival_date"]
    assert again.status_code == 409 and "Nothing is available" in again.json()["detail"]
    assert after["available"]["amount"] == 0 and after["pending"]["amount"] == 0
    assert [p["id"] for p in after["payouts"]] == [payout["id"]]
    told = list(mailbox)[before:]
    assert [m["Subject"] for m in told] == ["Payout sent: $95.00"] and told[0]["To"] == "alice@alpha.example"
    # Stripe tells us when the money arrives; the history follows.
    clock(3 * 24 * 3600)
    # Stripe reports the arrival when the payout is next looked at (the emulator's way of time passing).
    httpx.get(f"{settings.STRIPE_API_BASE}/v1/payouts",
              headers={"Authorization": "Bearer sk_test_x", "Stripe-Account": _account_id(tenant_alpha)})
    stripe_webhooks.forward()
    with tenant_context(tenant_alpha):
        assert Payout.objects.get().status == "paid"


def _account_id(tenant) -> str:
    with tenant_context(tenant):
        return ConnectedAccount.objects.get().stripe_account_id


@pytest.fixture
def emulator_balance(tenant_alpha, settings):
    """The connected account's total (available + pending) USD balance, as Stripe keeps it."""

    def total() -> int:
        data = httpx.get(f"{settings.STRIPE_API_BASE}/v1/balance", headers={
            "Authorization": "Bearer sk_test_x", "Stripe-Account": _account_id(tenant_alpha)}).json()
        return sum(b["amount"] for b in data["available"] + data["pending"] if b["currency"] == "usd")

    return total


def test_nothing_to_withdraw_is_a_conflict(api):
    response = api.call("post", "/me/payouts")
    assert response.status_code == 409 and "Nothing is available" in response.json()["detail"]


def test_only_the_owner_sees_payouts(api, tenant_alpha, make_member, client, alpha_host):
    make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora Consultant")
    token = client.post("/api/v1/auth/token", {"email": "cora@alpha.example", "password": "member-password-12"},
                        content_type="application/json", HTTP_HOST=alpha_host).json()["access"]
    for method, path in (("get", "/me/payouts"), ("post", "/me/payouts"), ("get", "/me/payouts/onboarding"),
                         ("post", "/me/payouts/onboarding")):
        assert api.call(method, path, token=token).status_code == 403
        assert api.call(method, path, auth=False).status_code == 401


def test_a_partial_refund_takes_back_the_tenants_share_of_it(api, paid_call, tenant_alpha, emulator_balance,
                                                             django_capture_on_commit_callbacks):
    from billing.models import Refund
    from billing.payouts import balance
    from billing.refunds import refund_record

    before = emulator_balance()
    with tenant_context(tenant_alpha):
        with django_capture_on_commit_callbacks(execute=True):
            refund_record(payment=Payment.objects.get(pk=paid_call.payment.pk), amount=5000,
                          reason=Refund.Reason.CLIENT_CANCELED)
        refund = Refund.objects.get()
        # Half of 100.00 back to the client: the tenant gives half its 95.00, the platform half its fee.
        assert (refund.status, refund.transfer_reversed) == ("succeeded", 4750)
        assert balance(ask_stripe=False).pending.amount == 9500 - 4750
    assert before - emulator_balance() == 4750  # Stripe's books agree with ours


def test_the_dashboard_shows_real_income(api, paid_call, client, alpha_host, login):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    page = client.get("/dashboard/", HTTP_HOST=alpha_host).content.decode()
    assert page.count("$95.00") == 2  # this month, and all time


def test_the_payouts_page_shows_balance_chart_and_history(api, paid_call, client, alpha_host, login):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    page = client.get("/payouts/", HTTP_HOST=alpha_host)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Connected." in html and "Available to withdraw" in html
    assert "$95.00" in html and "$100.00" in html and "$5.00" in html  # net, gross, platform fee
    assert f"{timezone.now():%Y-%m}" in html  # this month's bar in the income chart


def test_money_in_another_currency_has_its_own_balance(api, stripe_webhooks, client, alpha_host, login):
    booking = paid_booking(api, amount=4000, currency="EUR")
    pay(booking["checkout_url"])
    stripe_webhooks.forward()
    assert _balance(api)["pending"] == {"amount": 0, "currency": "USD"}  # the owner's payout currency
    euros = api.call("get", "/me/payouts?currency=eur").json()
    assert (euros["currency"], euros["pending"]["amount"]) == ("EUR", 3800)
    unknown = api.call("get", "/me/payouts?currency=GBP")
    assert unknown.status_code == 422 and "No payments in “GBP”" in unknown.json()["detail"]
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    assert "Pending in EUR" in client.get("/payouts/", HTTP_HOST=alpha_host).content.decode()
