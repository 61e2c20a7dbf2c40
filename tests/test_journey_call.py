"""Journey 4 in a real browser, on one tenant ("meetwell"): the call.

A client books the consultant's paid session for a few minutes from now and pays on the Stripe
emulator's hosted checkout; the host (signed in) and the client (the join link from the
confirmation email) meet in the room with fake cameras and microphones — each sees the other's
video, they chat, the client raises a hand, both leave. The call completes, the client rates it
on the page the room shows afterwards, the consultant's dashboard shows the income and the
rating, and once the payout freeze is over (the Stripe emulator's test clock and the app's clock
moved forward, no waiting) the consultant withdraws on /payouts/ and sees the payout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from tests.journey_support import Journey, chromium, links_in, live_stack, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.journey]

SLUG = "meetwell"
SCHEMA = f"t_{SLUG}"
OWNER_NAME, OWNER_EMAIL, OWNER_PASSWORD = "Mara Quinn", "mara@meetwell.example", "meetwell-owner-pass-1"
OWNER_TZ = "Europe/Warsaw"
CLIENT_NAME, CLIENT_EMAIL, CLIENT_TZ = "Noah Becker", "noah@client.example", "America/Chicago"
TITLE = "Quick clarity session"
PRICE, FEE, NET = "$80.00", "$4.00", "$76.00"  # the Free plan keeps 5 %
EXPECT_MS = 15000
MEDIA_MS = 30000

REMOTE_VIDEO_PLAYING = """() => [...document.querySelectorAll('.tile:not(.self) video')]
    .some(v => v.videoWidth > 0 && v.readyState >= 2)"""


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker):
    with live_stack(django_db_blocker, slugs=(SLUG,)) as running:
        with django_db_blocker.unblock():
            _practice_arrange(running)
        yield running


def _practice_arrange(stack) -> None:
    """The owner is the consultant: open all day every day, a paid 15-minute session bookable right
    away (no notice, a slot every 5 minutes), and payouts connected on the Stripe emulator."""
    import httpx
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from billing.onboarding import account_ensure, account_refresh
    from booking.availability import PeriodIn, availability_replace
    from booking.offerings import offering_create
    from consultants.models import Profile
    from tenants.services import tenant_provision
    from video.access import video_settings

    tenant = tenant_provision(slug=SLUG, name="Meetwell Coaching", owner_name=OWNER_NAME, owner_email=OWNER_EMAIL,
                              owner_password=OWNER_PASSWORD, owner_time_zone=OWNER_TZ, source="tests").tenant
    with tenant_context(tenant):
        owner = User.objects.get(email=OWNER_EMAIL)
        User.objects.filter(pk=owner.pk).update(email_verified_at=timezone.now())
        Profile.objects.filter(user=owner).update(headline="Coach for founders", currency="USD")
        availability_replace(consultant=owner, time_zone=OWNER_TZ,
                             weekly=[(day, PeriodIn("00:00", "24:00")) for day in range(7)], overrides=[])
        offering_create(consultant=owner, kind="individual", data={
            "title": TITLE, "description": "Fifteen minutes to untangle one decision.", "duration_minutes": 15,
            "price_amount": 8000, "currency": "USD", "min_notice_minutes": 0, "slot_step_minutes": 5,
            "horizon_days": 1})
        # The room opens half an hour ahead, so the next slot is always open, even across midnight.
        rules = video_settings()
        rules.open_minutes_before = 30
        rules.save()
        account = account_ensure(owner_email=OWNER_EMAIL)
        response = httpx.post(f"{stack.platform}/sandbox/stripe/accounts/{account.stripe_account_id}/onboarding",
                              json={"outcome": "complete"}, timeout=30)
        assert response.status_code == 200, response.text
        assert account_refresh().ready
    connection.set_schema_to_public()


@pytest.fixture
def in_tenant(django_db_blocker):
    """Run ``fn`` on the tenant's schema, on a connection of its own (the browser's event loop
    owns this thread)."""
    from django_tenants.utils import schema_context

    from tests.test_booking_concurrency import in_own_connection

    def run(fn):
        def inside():
            with schema_context(SCHEMA):
                return fn()

        with django_db_blocker.unblock():
            return in_own_connection(inside)

    return run


def _call_facts() -> dict:
    from booking.models import Call

    call = Call.objects.get()
    payment = call.participants.get().payment
    return {"pk": call.pk, "public_id": str(call.public_id), "start": call.start_at, "end": call.end_at,
            "status": call.status, "available_on": payment.available_on}


def test_the_call_from_booking_to_payout(stack, in_tenant):
    from django.utils import timezone
    from playwright.sync_api import expect

    journey = Journey("call")
    site = stack.tenant_url(SLUG)
    with chromium() as browser:
        media = {"permissions": ["camera", "microphone"]}

        # The client books the next slot — a few minutes from now — and pays on the hosted checkout.
        client = browser.new_context(timezone_id=CLIENT_TZ, locale="en-US", **media).new_page()
        client.goto(f"{site}/book/")
        offering = client.locator("article.offering", has_text=TITLE)
        expect(offering).to_contain_text(PRICE)
        offering.get_by_role("link", name="Book").click()
        client.wait_for_url(re.compile(r"tz=America%2FChicago"))
        first = client.locator("input[name=start]").first
        start = datetime.fromisoformat(first.get_attribute("value")).astimezone(UTC)
        assert timedelta(0) < start - timezone.now() <= timedelta(minutes=20), start
        local = start.astimezone(ZoneInfo(CLIENT_TZ))
        expect(client.locator("label.slot").first).to_contain_text(f"{local:%H:%M}")
        first.check()
        client.fill("input[name=name]", CLIENT_NAME)
        client.fill("input[name=email]", CLIENT_EMAIL)
        journey.shot(client, "slot-picked")
        client.click("button:has-text('Continue to payment')")
        expect(client.locator("h1")).to_have_text(f"Pay {PRICE}")
        client.fill("#card", "4242 4242 4242 4242")
        journey.shot(client, "checkout")
        client.click("button:has-text('Pay')")
        client.wait_for_url(re.compile(re.escape(f"{site}/bookings/") + r"[0-9a-f-]+/\?token="))
        expect(client.locator(".messages")).to_contain_text("Payment received — your call is confirmed.")
        expect(client.locator("dl.facts")).to_contain_text(f"{PRICE} — paid")
        expect(client.locator("dl.facts")).to_contain_text(f"{local:%H:%M}")
        journey.shot(client, "booking-confirmed")
        call = in_tenant(_call_facts)
        assert call["start"] == start

        # The host signs in: the call is on the dashboard, with its room.
        host = browser.new_context(timezone_id=OWNER_TZ, locale="en-GB", **media).new_page()
        sign_in(host, site, OWNER_EMAIL, OWNER_PASSWORD)
        row = host.locator("tr", has_text=CLIENT_NAME)
        expect(row).to_contain_text(TITLE)
        journey.shot(host, "host-dashboard-next-call")

        # The client comes in with the join link of the confirmation email, before the host.
        confirmation = stack.wait_for_mail(to=CLIENT_EMAIL, subject=f"Booking confirmed: {TITLE}")
        join = next(url for url in links_in(confirmation) if "/room/?token=" in url)
        assert join.startswith(f"{site}/calls/{call['public_id']}/room/")
        client.goto(join)
        client.wait_for_url(f"{site}/calls/{call['public_id']}/room/")
        expect(client.locator("#room-status")).to_have_text("You are in the call.", timeout=EXPECT_MS)
        expect(client.locator("#host-notice")).to_contain_text(f"{OWNER_NAME} has not joined yet.")
        journey.shot(client, "client-waits-for-host")

        row.get_by_role("link", name="Room").click()
        host.wait_for_url(f"{site}/calls/{call['public_id']}/room/")
        expect(host.locator("#room-status")).to_have_text("You are in the call.", timeout=EXPECT_MS)
        expect(client.locator("#host-notice")).to_be_hidden(timeout=EXPECT_MS)

        # Each sees the other's video.
        host.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=MEDIA_MS)
        client.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=MEDIA_MS)
        expect(host.locator("#people")).to_contain_text(CLIENT_NAME)
        expect(client.locator("#people")).to_contain_text(OWNER_NAME)
        journey.shot(host, "host-sees-client", tour="call-room")
        journey.shot(client, "client-sees-host")

        # They chat, and the client raises a hand.
        client.fill("#chat-text", "Hi Mara, thanks for making time today.")
        client.click("#chat-form button[type=submit]")
        expect(host.locator("#chat-log")).to_contain_text("Hi Mara, thanks for making time today.")
        host.fill("#chat-text", "Welcome, Noah! What is the decision?")
        host.click("#chat-form button[type=submit]")
        expect(client.locator("#chat-log")).to_contain_text("Welcome, Noah! What is the decision?")
        client.click("#hand")
        expect(client.locator("#hand")).to_have_attribute("aria-pressed", "true")
        raised = host.locator("#people li").first
        expect(raised).to_contain_text(CLIENT_NAME)
        expect(raised).to_contain_text("Hand raised")
        journey.shot(host, "chat-and-raised-hand")

        # Both leave.
        client.click("#leave")
        expect(client.locator("#after-message")).to_have_text("You left the call.")
        expect(host.locator("#people li")).to_have_count(1, timeout=EXPECT_MS)
        host.click("#leave")
        expect(host.locator("#after-message")).to_have_text("You left the call.")
        journey.shot(client, "client-left")

        # The call completes once its time and the grace period are over.
        def complete():
            from video.access import video_settings
            from video.completion import call_complete

            after = call["end"] + timedelta(minutes=video_settings().grace_minutes + 1)
            return call_complete(call_id=call["pk"], now=after)

        assert in_tenant(complete)
        call = in_tenant(_call_facts)
        assert call["status"] == "completed"

        # The client, back on the room's page, finds it over and rates the call.
        client.goto(f"{site}/calls/{call['public_id']}/room/")
        expect(client.locator(".room-closed .lead")).to_have_text("This call is over.")
        rating = client.locator("form.rating")
        expect(rating.locator("legend")).to_have_text("How was your call?")
        rating.locator("input[name=score][value='5']").check()
        rating.locator("textarea[name=comment]").fill("Clear, kind and practical.")
        journey.shot(client, "rating-form")
        rating.get_by_role("button", name="Send rating").click()
        expect(client.locator(".messages")).to_contain_text("Thank you for your rating.")
        expect(client.locator("form.rating legend")).to_have_text("Your rating: 5★ — change it?")
        journey.shot(client, "rated")

        # The consultant's dashboard shows the income (net of the platform's fee) and the rating.
        host.goto(f"{site}/dashboard/")
        stats = host.locator("section.stats")
        expect(stats.locator(".stat", has_text="Income this month")).to_contain_text(NET)
        expect(stats.locator(".stat", has_text="Income, all time")).to_contain_text(NET)
        expect(stats.locator(".stat", has_text="Sessions")).to_contain_text("1")
        expect(stats.locator(".stat", has_text="Rating")).to_contain_text("5.0★")
        expect(host.locator("ul.ratings")).to_contain_text(
            f"5★ — {CLIENT_NAME} on {TITLE}: “Clear, kind and practical.”")
        journey.shot(host, "dashboard-income", tour="dashboard-income")

        # Payouts: the money is pending until the freeze (5 days after the call) is over.
        host.goto(f"{site}/payouts/")
        balance = host.locator("section[aria-label=Balance]")
        expect(balance.locator(".stat", has_text="Available to withdraw")).to_contain_text("$0.00")
        expect(balance.locator(".stat", has_text="Pending")).to_contain_text(NET)
        expect(balance.get_by_role("button", name="Withdraw")).to_be_disabled()
        # Call, client, paid, platform fee, Stripe fee (none on the emulator), refunded, net, withdrawable from.
        frozen_until = max(call["start"] + timedelta(days=5), call["available_on"])
        expect(host.locator("tr", has_text=CLIENT_NAME).locator("td")).to_have_text(
            [TITLE, CLIENT_NAME, PRICE, FEE, "$0.00", "—", NET, f"{frozen_until:%-d %b %Y}"])
        journey.shot(host, "payouts-frozen")

        # Time passes: Stripe's clock and the app's move past the freeze together.
        shift = frozen_until - timezone.now() + timedelta(minutes=5)
        stack.api("POST", "/sandbox/stripe/clock", body={"advance_seconds": int(shift.total_seconds())}, expect=200)
        real_now = timezone.now
        try:
            with mock.patch("django.utils.timezone.now", new=lambda: real_now() + shift):
                host.reload()
                expect(balance.locator(".stat", has_text="Available to withdraw")).to_contain_text(NET)
                expect(balance.locator(".stat", has_text="Pending")).to_contain_text("$0.00")
                journey.shot(host, "payouts-available")
                balance.get_by_role("button", name=f"Withdraw {NET}").click()
                expect(host.locator(".messages")).to_contain_text("Withdrawal requested")
                history = host.locator("table").last
                expect(history.locator("tbody tr").first).to_contain_text(NET)
                expect(history.locator("tbody tr").first).to_contain_text("In transit")
                expect(balance.locator(".stat", has_text="Available to withdraw")).to_contain_text("$0.00")
                journey.shot(host, "payout-sent", tour="payouts")
                stack.wait_for_mail(to=OWNER_EMAIL, subject=f"Payout sent: {NET}")
        finally:
            stack.api("DELETE", "/sandbox/stripe/clock", expect=200)
