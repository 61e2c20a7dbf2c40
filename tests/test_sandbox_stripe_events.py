"""Events of the Stripe emulator, retrieved and listed through the stripe library."""

import httpx
import pytest
import stripe

from tests.test_sandbox_stripe_checkout import _events, _session


@pytest.fixture
def stripe_client(live_server_url, db):
    return stripe.StripeClient("sk_test_emulator", base_addresses={"api": f"{live_server_url}/sandbox/stripe"},
                               max_network_retries=0)


def test_events_are_retrieved_and_listed_newest_first(stripe_client, live_server_url, webhook_receiver):
    account = stripe_client.v1.accounts.create(params={"type": "express"}).id
    session = _session(stripe_client, account)
    pay = f"{live_server_url}/sandbox/stripe/checkout/{session.id}/pay"
    assert httpx.post(pay, json={"card": "4000000000000002"}).status_code == 402
    assert httpx.post(pay, json={"card": "4242424242424242"}).status_code == 200
    failed, completed = _events(webhook_receiver, 2)

    retrieved = stripe_client.v1.events.retrieve(failed.id)
    assert (retrieved.object, retrieved.type, retrieved.data.object.id) == (
        "event", "payment_intent.payment_failed", failed.data.object.id)

    newest = stripe_client.v1.events.list(params={"limit": 2})
    assert (newest.object, newest.url) == ("list", "/v1/events")
    assert [e.id for e in newest.data] == [completed.id, failed.id]
    page = stripe_client.v1.events.list(params={"limit": 1})
    assert [e.id for e in page.data] == [completed.id] and page.has_more is True
    page = stripe_client.v1.events.list(params={"limit": 1, "starting_after": completed.id})
    assert [e.id for e in page.data] == [failed.id]

    by_type = stripe_client.v1.events.list(params={"type": "payment_intent.payment_failed", "limit": 1})
    assert [e.id for e in by_type.data] == [failed.id]
    wildcard = stripe_client.v1.events.list(params={"type": "checkout.session.*", "limit": 1})
    assert [e.id for e in wildcard.data] == [completed.id]


def test_onboarding_events_are_listed_for_their_account(stripe_client, live_server_url):
    account = stripe_client.v1.accounts.create(params={"type": "express"}).id
    httpx.post(f"{live_server_url}/sandbox/stripe/accounts/{account}/onboarding", json={"outcome": "complete"})
    listed = stripe_client.v1.events.list(options={"stripe_account": account})
    assert [(e.type, e.account) for e in listed.data] == [("account.updated", account)]


def test_unknown_events_and_bad_limits_are_refused(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.events.retrieve("evt_missing")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as limit:
        stripe_client.v1.events.list(params={"limit": 101})
    assert limit.value.param == "limit"
