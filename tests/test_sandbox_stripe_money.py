"""Refunds, connected balances and payouts on the Stripe emulator, via the stripe library."""

from unittest import mock

import httpx
import pytest
import stripe

from sandbox.stripe import money, store
from tests.test_sandbox_stripe_checkout import _session


@pytest.fixture
def stripe_client(live_server_url, db):
    return stripe.StripeClient("sk_test_emulator", base_addresses={"api": f"{live_server_url}/sandbox/stripe"},
                               max_network_retries=0)


@pytest.fixture
def paid(stripe_client, live_server_url):
    account = stripe_client.v1.accounts.create(params={"type": "express"}).id
    session = _session(stripe_client, account)  # 10,000 JPY, 500 platform fee
    httpx.post(f"{live_server_url}/sandbox/stripe/checkout/{session.id}/pay", json={"card": "4242424242424242"})
    intent = stripe_client.v1.checkout.sessions.retrieve(session.id).payment_intent
    return {"account": account, "intent": intent}


def _balance(stripe_client, account):
    b = stripe_client.v1.balance.retrieve(options={"stripe_account": account})
    return b.available[0].amount, b.pending[0].amount


def test_connected_balance_becomes_available_two_days_later(stripe_client, paid):
    assert _balance(stripe_client, paid["account"]) == (0, 9500)
    later = store.now() + money.AVAILABLE_AFTER + 1
    with mock.patch("sandbox.stripe.store.now", return_value=later):
        assert _balance(stripe_client, paid["account"]) == (9500, 0)
        txns = stripe_client.v1.balance_transactions.list(options={"stripe_account": paid["account"]})
        assert [(t.amount, t.status) for t in txns.data] == [(9500, "available")]


def test_full_refund_with_reversal_and_fee_refund(stripe_client, paid):
    refund = stripe_client.v1.refunds.create(params={
        "payment_intent": paid["intent"], "reverse_transfer": True, "refund_application_fee": True,
        "metadata": {"reason": "Host canceled the call"}})
    assert (refund.amount, refund.status) == (10000, "succeeded")
    charge = stripe_client.v1.charges.retrieve(refund.charge)
    assert charge.refunded and charge.amount_refunded == 10000
    assert _balance(stripe_client, paid["account"]) == (0, 0)
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe_client.v1.refunds.create(params={"payment_intent": paid["intent"]})
    assert again.value.code == "charge_already_refunded"


def test_partial_refund_and_too_large_refund(stripe_client, paid):
    stripe_client.v1.refunds.create(params={"payment_intent": paid["intent"], "amount": 4000,
                                            "reverse_transfer": True})
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe_client.v1.refunds.create(params={"payment_intent": paid["intent"], "amount": 7000})
    assert too_much.value.code == "amount_too_large"


def test_payouts_take_only_what_is_available(stripe_client, paid):
    options = {"stripe_account": paid["account"]}
    with pytest.raises(stripe.InvalidRequestError) as early:
        stripe_client.v1.payouts.create(params={"amount": 9500, "currency": "jpy"}, options=options)
    assert early.value.code == "balance_insufficient"
    later = store.now() + money.AVAILABLE_AFTER + 1
    with mock.patch("sandbox.stripe.store.now", return_value=later):
        payout = stripe_client.v1.payouts.create(params={"amount": 9500, "currency": "jpy"}, options=options)
        assert (payout.status, payout.amount) == ("in_transit", 9500)
        assert _balance(stripe_client, paid["account"]) == (0, 0)
    arrived = later + money.PAYOUT_TRANSIT + 1
    with mock.patch("sandbox.stripe.store.now", return_value=arrived):
        listed = stripe_client.v1.payouts.list(options=options)
        assert [p.status for p in listed.data] == ["paid"]
