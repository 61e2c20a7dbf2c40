"""The Stripe emulator over real HTTP, driven by the real stripe library."""

import time
import uuid

import httpx
import pytest
import stripe
from django.conf import settings


@pytest.fixture
def stripe_client(live_server_url, db):
    return stripe.StripeClient("sk_test_emulator", base_addresses={"api": f"{live_server_url}/sandbox/stripe"},
                               max_network_retries=0)


def _wait_for(received, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return received


def _account(stripe_client, **extra):
    return stripe_client.v1.accounts.create(params={
        "type": "express", "email": "owner@demo.example",
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        "metadata": {"schema": "t_demo"}, **extra})


def test_express_account_onboards_through_the_hosted_page(stripe_client, webhook_receiver):
    account = _account(stripe_client)
    assert account.id.startswith("acct_") and account.object == "account"
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (False, False, False)
    assert account.metadata["schema"] == "t_demo"
    assert "external_account" in account.requirements.currently_due

    link = stripe_client.v1.account_links.create(params={
        "account": account.id, "type": "account_onboarding",
        "return_url": "http://demo.localhost:8000/payouts/return", "refresh_url": "http://demo.localhost:8000/r"})
    assert link.object == "account_link" and link.expires_at > time.time()
    page = httpx.get(link.url)
    assert page.status_code == 200 and "Complete onboarding" in page.text
    finished = httpx.post(link.url, data={"outcome": "complete"})
    assert finished.status_code == 302 and finished.headers["location"] == "http://demo.localhost:8000/payouts/return"

    account = stripe_client.v1.accounts.retrieve(account.id)
    assert (account.charges_enabled, account.payouts_enabled, account.details_submitted) == (True, True, True)
    assert account.requirements.currently_due == []

    delivery = _wait_for(webhook_receiver)[0]
    event = stripe.Webhook.construct_event(delivery["body"], delivery["headers"]["Stripe-Signature"],
                                           settings.STRIPE_WEBHOOK_SECRET)
    assert event.type == "account.updated" and event.account == account.id
    assert event.data.object.charges_enabled is True


def test_scripts_can_finish_or_abandon_onboarding(stripe_client, live_server_url, webhook_receiver):
    account = _account(stripe_client)
    url = f"{live_server_url}/sandbox/stripe/accounts/{account.id}/onboarding"
    left = httpx.post(url, json={"outcome": "abandon"})
    assert left.status_code == 200 and left.json()["charges_enabled"] is False
    done = httpx.post(url, json={"outcome": "complete"})
    assert done.status_code == 200 and done.json()["payouts_enabled"] is True
    assert httpx.post(url, json={"outcome": "maybe"}).status_code == 400
    assert httpx.post(f"{live_server_url}/sandbox/stripe/accounts/acct_missing/onboarding",
                      json={"outcome": "complete"}).status_code == 404
    assert [stripe.Webhook.construct_event(d["body"], d["headers"]["Stripe-Signature"],
                                           settings.STRIPE_WEBHOOK_SECRET).type
            for d in _wait_for(webhook_receiver, 2)] == ["account.updated", "account.updated"]


def test_idempotency_keys_are_honoured(stripe_client):
    key = str(uuid.uuid4())
    first = stripe_client.v1.accounts.create(params={"type": "express", "email": "a@b.example"},
                                             options={"idempotency_key": key})
    again = stripe_client.v1.accounts.create(params={"type": "express", "email": "a@b.example"},
                                             options={"idempotency_key": key})
    assert again.id == first.id
    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.accounts.create(params={"type": "express", "email": "other@b.example"},
                                         options={"idempotency_key": key})


def test_errors_look_like_stripes(stripe_client, live_server_url):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.accounts.retrieve("acct_does_not_exist")
    assert missing.value.code == "resource_missing" and missing.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as no_param:
        stripe_client.v1.account_links.create(params={"type": "account_onboarding"})
    assert no_param.value.param == "account"
    bad_key = stripe.StripeClient("pk_live_wrong", base_addresses={"api": f"{live_server_url}/sandbox/stripe"},
                                  max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        bad_key.v1.accounts.retrieve("acct_x")
