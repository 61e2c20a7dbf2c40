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


def _reversal(stripe_client, refund):
    return stripe_client.v1.transfers.reversals.list(stripe_client.v1.charges.retrieve(refund.charge).transfer).data


def test_full_refund_with_reversal_and_fee_refund(stripe_client, paid):
    refund = stripe_client.v1.refunds.create(params={
        "payment_intent": paid["intent"], "reverse_transfer": True, "refund_application_fee": True,
        "metadata": {"reason": "Host canceled the call"}})
    assert (refund.amount, refund.status) == (10000, "succeeded")
    charge = stripe_client.v1.charges.retrieve(refund.charge)
    assert charge.refunded and charge.amount_refunded == 10000
    assert _balance(stripe_client, paid["account"]) == (0, 0)
    (reversal,) = _reversal(stripe_client, refund)
    assert (reversal.id, reversal.amount, reversal.source_refund) == (refund.transfer_reversal, 9500, refund.id)
    transfer = stripe_client.v1.transfers.retrieve(charge.transfer)
    assert (transfer.amount_reversed, transfer.reversed) == (9500, True)
    fee = stripe_client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount, fee.amount_refunded, fee.refunded, fee.account) == (500, 500, True, paid["account"])
    assert [r.amount for r in fee.refunds.data] == [500]
    came_back = stripe_client.v1.balance_transactions.retrieve(refund.balance_transaction)
    assert (came_back.type, came_back.amount, came_back.source) == ("refund", -10000, refund.id)
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe_client.v1.refunds.create(params={"payment_intent": paid["intent"]})
    assert again.value.code == "charge_already_refunded"


def test_partial_refund_reverses_a_proportional_share_and_the_platform_keeps_its_fee(stripe_client, paid):
    refund = stripe_client.v1.refunds.create(params={"payment_intent": paid["intent"], "amount": 4000,
                                                     "reverse_transfer": True})
    assert [r.amount for r in _reversal(stripe_client, refund)] == [3800]  # 4,000 × 9,500 / 10,000
    assert _balance(stripe_client, paid["account"]) == (0, 5700)
    charge = stripe_client.v1.charges.retrieve(refund.charge)
    assert stripe_client.v1.application_fees.retrieve(charge.application_fee).amount_refunded == 0
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe_client.v1.refunds.create(params={"payment_intent": paid["intent"], "amount": 7000})
    assert too_much.value.code == "amount_too_large"


def test_refunding_the_fee_does_not_make_the_connected_account_pay_more(stripe_client, paid):
    first = stripe_client.v1.refunds.create(params={"payment_intent": paid["intent"], "amount": 3333,
                                                    "reverse_transfer": True, "refund_application_fee": True})
    assert [r.amount for r in _reversal(stripe_client, first)] == [3166]  # 3,333 × 9,500 // 10,000
    charge = stripe_client.v1.charges.retrieve(first.charge)
    assert stripe_client.v1.application_fees.retrieve(charge.application_fee).amount_refunded == 166
    assert _balance(stripe_client, paid["account"]) == (0, 9500 - 3166)
    # The refund of the rest reverses exactly what is left: rounding leaves no crumbs behind.
    rest = stripe_client.v1.refunds.create(params={"payment_intent": paid["intent"], "reverse_transfer": True,
                                                   "refund_application_fee": True})
    assert rest.amount == 6667
    assert sorted(r.amount for r in _reversal(stripe_client, rest)) == [3166, 6334]
    assert _balance(stripe_client, paid["account"]) == (0, 0)
    fee = stripe_client.v1.application_fees.retrieve(charge.application_fee)
    assert (fee.amount_refunded, fee.refunded) == (500, True)
    payment = stripe_client.v1.charges.retrieve(stripe_client.v1.transfers.retrieve(charge.transfer)
                                                .destination_payment)
    assert (payment.amount_refunded, payment.refunded) == (9500, True)


def test_refund_without_reversal_leaves_the_connected_account_alone(stripe_client, paid):
    refund = stripe_client.v1.refunds.create(params={"payment_intent": paid["intent"]})
    assert refund.transfer_reversal is None
    assert _balance(stripe_client, paid["account"]) == (0, 9500)


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
