"""Transfers to connected accounts on the Stripe emulator: the ``py_`` payment a transfer
makes there, standalone transfers, reversals and balance transactions, via the stripe library."""

import httpx
import pytest
import stripe

from sandbox.stripe import money, store
from tests.test_sandbox_stripe_checkout import _session


@pytest.fixture
def stripe_client(live_server_url, db):
    return stripe.StripeClient("sk_test_emulator", base_addresses={"api": f"{live_server_url}/sandbox/stripe"},
                               max_network_retries=0)


def _account(stripe_client):
    return stripe_client.v1.accounts.create(params={"type": "express"}).id


@pytest.fixture
def paid(stripe_client, live_server_url):
    """A destination charge of 10,000 JPY with a 500 JPY platform fee, paid."""
    account = _account(stripe_client)
    session = _session(stripe_client, account)
    httpx.post(f"{live_server_url}/sandbox/stripe/checkout/{session.id}/pay", json={"card": "4242424242424242"})
    intent = stripe_client.v1.payment_intents.retrieve(stripe_client.v1.checkout.sessions.retrieve(session.id)
                                                       .payment_intent)
    charge = stripe_client.v1.charges.retrieve(intent.latest_charge)
    return {"account": account, "intent": intent.id, "charge": charge}


def _balance(stripe_client, account):
    b = stripe_client.v1.balance.retrieve(options={"stripe_account": account})
    return b.available[0].amount, b.pending[0].amount


def test_a_destination_charge_pays_the_connected_account_with_a_py_payment(stripe_client, paid):
    charge, account = paid["charge"], paid["account"]
    transfer = stripe_client.v1.transfers.retrieve(charge.transfer)
    assert (transfer.object, transfer.amount, transfer.currency) == ("transfer", 9500, "jpy")
    assert (transfer.destination, transfer.source_transaction, transfer.amount_reversed, transfer.reversed) == (
        account, charge.id, 0, False)
    assert transfer.destination_payment.startswith("py_")
    assert transfer.reversals.object == "list" and transfer.reversals.data == []
    assert transfer.reversals.url == f"/v1/transfers/{transfer.id}/reversals"

    payment = stripe_client.v1.charges.retrieve(transfer.destination_payment, options={"stripe_account": account})
    assert (payment.object, payment.amount, payment.currency, payment.source_transfer) == (
        "charge", 9500, "jpy", transfer.id)
    assert "account_id" not in payment
    assert stripe_client.v1.charges.retrieve(payment.id).id == payment.id  # without the header too

    credit = stripe_client.v1.balance_transactions.retrieve(payment.balance_transaction,
                                                            options={"stripe_account": account})
    assert (credit.type, credit.amount, credit.source, credit.status) == ("payment", 9500, payment.id, "pending")
    assert credit.available_on == credit.created + money.AVAILABLE_AFTER and "account_id" not in credit
    with pytest.raises(stripe.InvalidRequestError) as elsewhere:  # not one of the platform's transactions
        stripe_client.v1.balance_transactions.retrieve(payment.balance_transaction)
    assert elsewhere.value.http_status == 404 and elsewhere.value.code == "resource_missing"

    # The platform's side: the charge comes in, the transfer goes out.
    came = stripe_client.v1.balance_transactions.retrieve(charge.balance_transaction)
    went = stripe_client.v1.balance_transactions.retrieve(transfer.balance_transaction)
    assert (came.type, came.amount, came.source) == ("charge", 10000, charge.id)
    assert (went.type, went.amount, went.source) == ("transfer", -9500, transfer.id)


def test_standalone_transfer_then_partial_and_full_reversals(stripe_client):
    account = _account(stripe_client)
    transfer = stripe_client.v1.transfers.create(params={
        "destination": account, "amount": 3000, "currency": "jpy", "metadata": {"payout_run": "r-1"}})
    assert (transfer.amount, transfer.destination, transfer.metadata["payout_run"]) == (3000, account, "r-1")
    assert transfer.source_transaction is None and transfer.destination_payment.startswith("py_")
    assert _balance(stripe_client, account) == (3000, 0)  # from the platform's available balance: available now
    payment = stripe_client.v1.charges.retrieve(transfer.destination_payment)
    credit = stripe_client.v1.balance_transactions.retrieve(payment.balance_transaction,
                                                            options={"stripe_account": account})
    assert (credit.type, credit.source, credit.status) == ("payment", payment.id, "available")

    listed = stripe_client.v1.transfers.list(params={"destination": account})
    assert [t.id for t in listed.data] == [transfer.id] and listed.has_more is False
    assert listed.url == "/v1/transfers"

    first = stripe_client.v1.transfers.reversals.create(transfer.id, params={"amount": 1000})
    assert (first.object, first.amount, first.transfer, first.currency) == ("transfer_reversal", 1000, transfer.id,
                                                                            "jpy")
    assert first.destination_payment_refund.startswith("pyr_")
    assert _balance(stripe_client, account) == (2000, 0)
    after_first = stripe_client.v1.transfers.retrieve(transfer.id)
    assert (after_first.amount_reversed, after_first.reversed) == (1000, False)

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe_client.v1.transfers.reversals.create(transfer.id, params={"amount": 2001})
    assert too_much.value.code == "amount_too_large" and too_much.value.param == "amount"

    rest = stripe_client.v1.transfers.reversals.create(transfer.id)
    assert rest.amount == 2000
    assert _balance(stripe_client, account) == (0, 0)
    done = stripe_client.v1.transfers.retrieve(transfer.id)
    assert (done.amount_reversed, done.reversed, done.reversals.total_count) == (3000, True, 2)
    assert [r.id for r in stripe_client.v1.transfers.reversals.list(transfer.id).data] == [rest.id, first.id]
    payment = stripe_client.v1.charges.retrieve(transfer.destination_payment)
    assert (payment.amount_refunded, payment.refunded) == (3000, True)
    txns = stripe_client.v1.balance_transactions.list(options={"stripe_account": account}).data
    assert sorted((t.type, t.amount) for t in txns) == [("payment", 3000), ("payment_refund", -2000),
                                                        ("payment_refund", -1000)]
    with pytest.raises(stripe.InvalidRequestError) as nothing_left:
        stripe_client.v1.transfers.reversals.create(transfer.id, params={"amount": 1})
    assert nothing_left.value.code == "amount_too_large"
    events = stripe_client.v1.events.list(params={"type": "transfer.*", "limit": 3}).data
    assert [(e.type, e.data.object.id, e.data.object.amount_reversed) for e in events] == [
        ("transfer.reversed", transfer.id, 3000), ("transfer.reversed", transfer.id, 1000),
        ("transfer.created", transfer.id, 0)]


def test_reversing_a_pending_transfer_takes_from_the_pending_balance(stripe_client, paid):
    reversal = stripe_client.v1.transfers.reversals.create(paid["charge"].transfer, params={"amount": 500})
    assert reversal.amount == 500
    assert _balance(stripe_client, paid["account"]) == (0, 9000)


def test_a_transfer_from_a_charge_follows_the_charge(stripe_client, paid):
    charge, other = paid["charge"], _account(stripe_client)
    # 9,500 of the 10,000 went to the first account already: 500 remain to transfer from this charge.
    transfer = stripe_client.v1.transfers.create(params={
        "destination": other, "amount": 500, "currency": "jpy", "source_transaction": charge.id})
    assert transfer.source_transaction == charge.id
    assert _balance(stripe_client, other) == (0, 500)  # available when the charge's funds are
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        stripe_client.v1.transfers.create(params={
            "destination": other, "amount": 1, "currency": "jpy", "source_transaction": charge.id})
    assert too_much.value.code == "balance_insufficient"
    with pytest.raises(stripe.InvalidRequestError) as currency:
        stripe_client.v1.transfers.create(params={
            "destination": other, "amount": 1, "currency": "usd", "source_transaction": charge.id})
    assert currency.value.param == "currency"
    assert store.now() <= stripe_client.v1.balance_transactions.retrieve(
        transfer.balance_transaction).available_on


@pytest.mark.parametrize(("params", "param", "code"), [
    ({"amount": 100, "currency": "jpy"}, "destination", "parameter_missing"),
    ({"destination": "acct_unknown", "amount": 100, "currency": "jpy"}, "destination", "resource_missing"),
    ({"amount": 100}, "currency", "parameter_missing"),
    ({"amount": 0, "currency": "jpy"}, "amount", None),
    ({"currency": "jpy", "amount": 100, "source_transaction": "ch_unknown"}, "source_transaction",
     "resource_missing"),
])
def test_bad_transfers_are_refused_with_the_param_named(stripe_client, params, param, code):
    if params.get("destination") is None and param != "destination":
        params = {**params, "destination": _account(stripe_client)}
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe_client.v1.transfers.create(params=params)
    assert (error.value.param, error.value.code) == (param, code)


def test_unknown_transfers_and_transactions_are_404(stripe_client):
    for call in (lambda: stripe_client.v1.transfers.retrieve("tr_missing"),
                 lambda: stripe_client.v1.transfers.reversals.list("tr_missing"),
                 lambda: stripe_client.v1.balance_transactions.retrieve("txn_missing")):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            call()
        assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
