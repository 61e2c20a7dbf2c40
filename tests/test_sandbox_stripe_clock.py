"""The Stripe emulator's test clock: scripts move its "now" forward instead of sleeping."""

import time

import httpx
import pytest
import stripe

from sandbox.stripe import money
from tests.test_sandbox_stripe_checkout import _events, _session


@pytest.fixture
def stripe_client(live_server_url, db):
    return stripe.StripeClient("sk_test_emulator", base_addresses={"api": f"{live_server_url}/sandbox/stripe"},
                               max_network_retries=0)


@pytest.fixture
def clock(live_server_url, db):
    """``clock(seconds)`` moves the emulator's clock on and answers its new now; put back afterwards."""
    url = f"{live_server_url}/sandbox/stripe/clock"

    def advance(seconds: int) -> int:
        response = httpx.post(url, json={"advance_seconds": seconds})
        assert response.status_code == 200, response.text
        return response.json()["now"]

    yield advance
    assert httpx.delete(url).status_code == 200


def test_the_clock_moves_forward_and_back(live_server_url, clock):
    url = f"{live_server_url}/sandbox/stripe/clock"
    assert abs(httpx.get(url).json()["now"] - time.time()) < 5
    assert abs(clock(3600) - (time.time() + 3600)) < 5
    assert abs(clock(0) - (time.time() + 3600)) < 5
    assert abs(httpx.get(url).json()["now"] - (time.time() + 3600)) < 5
    assert abs(httpx.delete(url).json()["now"] - time.time()) < 5


@pytest.mark.parametrize("body", [{"advance_seconds": -1}, {"advance_seconds": "60"}, {"advance_seconds": 1.5},
                                  {"advance_seconds": True}, {}, [60]])
def test_the_clock_refuses_anything_but_whole_seconds_forward(live_server_url, clock, body):
    response = httpx.post(f"{live_server_url}/sandbox/stripe/clock", json=body)
    assert response.status_code == 400 and response.json()["error"]["param"] == "advance_seconds"
    assert abs(httpx.get(f"{live_server_url}/sandbox/stripe/clock").json()["now"] - time.time()) < 5


def test_funds_become_available_and_payouts_arrive_when_the_clock_moves(stripe_client, live_server_url, clock):
    account = stripe_client.v1.accounts.create(params={"type": "express"}).id
    session = _session(stripe_client, account)
    httpx.post(f"{live_server_url}/sandbox/stripe/checkout/{session.id}/pay", json={"card": "4242424242424242"})
    options = {"stripe_account": account}
    assert stripe_client.v1.balance.retrieve(options=options).pending[0].amount == 9500
    clock(money.AVAILABLE_AFTER)
    assert stripe_client.v1.balance.retrieve(options=options).available[0].amount == 9500
    payout = stripe_client.v1.payouts.create(params={"amount": 9500, "currency": "jpy"}, options=options)
    assert payout.status == "in_transit"
    clock(money.PAYOUT_TRANSIT)
    assert [p.status for p in stripe_client.v1.payouts.list(options=options).data] == ["paid"]


def test_sessions_expire_when_the_clock_passes_their_time(stripe_client, clock, webhook_receiver):
    account = stripe_client.v1.accounts.create(params={"type": "express"}).id
    session = _session(stripe_client, account)  # expires 31 minutes from now
    clock(30 * 60)
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"
    clock(60)
    expired = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    (event,) = _events(webhook_receiver, 1)
    assert event.type == "checkout.session.expired" and event.created >= session.expires_at
