"""Connecting payouts: the Express account, the onboarding link, and what it unlocks."""

from __future__ import annotations

import httpx
import pytest
from django_tenants.utils import tenant_context

from billing.models import ConnectedAccount
from booking.models import Call
from conftest import ALPHA_OWNER_PASSWORD
from tenants.models import Tenant
from tests.billing_support import book, offering, open_every_day, slot


@pytest.fixture
def api(alpha_api, stripe_emulator):
    open_every_day(alpha_api)
    return alpha_api


def test_onboarding_gives_the_same_account_and_a_fresh_link_each_time(api, stripe_emulator, tenant_alpha):
    first = api.call("post", "/me/payouts/onboarding")
    second = api.call("post", "/me/payouts/onboarding")
    assert first.status_code == second.status_code == 200
    one, two = first.json(), second.json()
    assert one["account_id"].startswith("acct_") and one["account_id"] == two["account_id"]
    assert one["onboarding_url"] != two["onboarding_url"]
    assert one["onboarding_url"].startswith(f"{stripe_emulator}/sandbox/stripe/onboarding/")
    assert (one["charges_enabled"], one["payouts_enabled"]) == (False, False)
    state = api.call("get", "/me/payouts/onboarding").json()
    assert state["account_id"] == one["account_id"] and state["onboarding_url"] is None
    assert "a bank account for payouts" in state["missing"]
    tenant_alpha.refresh_from_db()
    assert tenant_alpha.stripe_account_id == one["account_id"]  # how account events find this tenant


def test_account_updated_decides_when_payments_open(api, stripe_emulator, stripe_webhooks):
    account_id = api.call("post", "/me/payouts/onboarding").json()["account_id"]
    script = f"{stripe_emulator}/sandbox/stripe/accounts/{account_id}/onboarding"
    httpx.post(script, json={"outcome": "abandon"})
    stripe_webhooks.forward()
    assert api.call("get", "/me/payouts/onboarding").json()["charges_enabled"] is False
    httpx.post(script, json={"outcome": "complete"})
    assert [r.status_code for r in stripe_webhooks.forward()] == [200]
    state = api.call("get", "/me/payouts/onboarding").json()
    assert (state["charges_enabled"], state["payouts_enabled"], state["missing"]) == (True, True, [])


def test_paid_offerings_wait_for_onboarding_free_ones_do_not(api, tenant_alpha):
    paid = offering(api, amount=5000)
    free = offering(api, amount=0, title="Intro call")
    start = slot(api, paid["id"])
    assert start in [s["start"] for s in api.call(
        "get", f"/offerings/{paid['id']}/slots?start={start[:10]}&end={start[:10]}", auth=False).json()["slots"]]
    refused = book(api, paid["id"], start)
    assert refused.status_code == 409
    assert "online payments are not set up" in refused.json()["detail"]
    invalid = book(api, paid["id"], start, email="not-an-email")
    assert invalid.status_code == 422  # invalid input is reported first
    with tenant_context(tenant_alpha):
        assert not Call.objects.exists()
    assert book(api, free["id"], slot(api, free["id"])).json()["status"] == "confirmed"


def test_the_owner_connects_from_the_workspace(api, client, alpha_host, login, stripe_emulator, tenant_alpha):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    page = client.get("/payouts/", HTTP_HOST=alpha_host).content.decode()
    assert "Connect payouts with Stripe" in page and "paid offerings stay listed but cannot be booked" in page
    to_stripe = client.post("/payouts/", {"action": "connect"}, HTTP_HOST=alpha_host)
    assert to_stripe.status_code == 302
    hosted = to_stripe["Location"]
    assert hosted.startswith(f"{stripe_emulator}/sandbox/stripe/onboarding/")
    # Stripe's hosted page (the emulator's), finished: back to the workspace.
    back = httpx.post(hosted, data={"outcome": "complete"})
    assert back.status_code == 302 and back.headers["location"].endswith("/payouts/?onboarding=done")
    page = client.get("/payouts/?onboarding=done", HTTP_HOST=alpha_host).content.decode()
    assert "Connected." in page
    with tenant_context(tenant_alpha):
        assert ConnectedAccount.objects.get().ready


def test_an_expired_onboarding_link_gets_a_fresh_one(api, client, alpha_host, login, stripe_emulator):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    response = client.get("/payouts/onboarding/", HTTP_HOST=alpha_host)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{stripe_emulator}/sandbox/stripe/onboarding/")


def test_consultants_and_assistants_cannot_reach_payouts(client, alpha_host, login, make_member, tenant_alpha):
    for role, email in (("consultant", "cleo@alpha.example"), ("assistant", "ash@alpha.example")):
        make_member(tenant_alpha, role, email, role.title())
        login(client, alpha_host, email)
        assert client.get("/payouts/", HTTP_HOST=alpha_host).status_code == 403
        assert client.post("/payouts/", {"action": "withdraw"}, HTTP_HOST=alpha_host).status_code == 403
        client.logout()


def test_account_events_reach_only_their_tenant(api, stripe_emulator, stripe_webhooks, tenant_beta):
    account_id = api.call("post", "/me/payouts/onboarding").json()["account_id"]
    httpx.post(f"{stripe_emulator}/sandbox/stripe/accounts/{account_id}/onboarding", json={"outcome": "complete"})
    stripe_webhooks.forward()
    with tenant_context(tenant_beta):
        assert not ConnectedAccount.objects.exists()
    assert Tenant.objects.get(slug="beta").stripe_account_id is None


def test_the_owner_is_told_on_the_dashboard_until_payments_work(api, client, alpha_host, login, stripe_emulator):
    offering(api, amount=5000)
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    assert "Clients cannot book your paid offerings yet" in client.get("/dashboard/", HTTP_HOST=alpha_host) \
        .content.decode()
    account_id = api.call("post", "/me/payouts/onboarding").json()["account_id"]
    httpx.post(f"{stripe_emulator}/sandbox/stripe/accounts/{account_id}/onboarding", json={"outcome": "complete"})
    client.get("/payouts/?onboarding=done", HTTP_HOST=alpha_host)  # back from Stripe: the state is read
    assert "Clients cannot book your paid offerings yet" not in client.get("/dashboard/", HTTP_HOST=alpha_host) \
        .content.decode()
