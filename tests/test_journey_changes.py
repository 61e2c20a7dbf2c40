"""Journey 5 in a real browser, on one tenant ("shiftly"): changes to a paid booking.

The consultant (the owner) connects Google Calendar on the emulator's consent page. A client books
and pays a session; the call lands in that calendar. Through the manage link of the confirmation
email the client moves the call to another day: the calendar event moves with it and a new invite
arrives with the same UID and a higher SEQUENCE. Then, well before the cut-off, the client cancels
and sees the full refund on the manage page; the cancellation email carries METHOD:CANCEL for the
same UID, and the event leaves the calendar."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.journey_support import Journey, chromium, links_in, live_stack, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.journey]

SLUG = "shiftly"
OWNER_NAME, OWNER_EMAIL, OWNER_PASSWORD = "Theo Marsh", "theo@shiftly.example", "shiftly-owner-pass-1"
OWNER_TZ = "Europe/Lisbon"
CALENDAR_EMAIL = "theo.marsh@gmail.example"
CLIENT_NAME, CLIENT_EMAIL, CLIENT_TZ = "Ines Duarte", "ines@client.example", "Asia/Singapore"
TITLE = "Career reset session"
PRICE = "$120.00"
EXPECT_MS = 15000

CALENDAR_STARTS = """async ([email, wanted]) => {
    const response = await fetch(`/sandbox/google/dev/events?account_email=${encodeURIComponent(email)}`);
    const starts = (await response.json()).items.map((event) => Date.parse(event.start.dateTime)).sort();
    return JSON.stringify(starts) === JSON.stringify(wanted.map((value) => Date.parse(value)).sort());
}"""


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker):
    with live_stack(django_db_blocker, slugs=(SLUG,)) as running:
        with django_db_blocker.unblock():
            _practice_arrange(running)
        yield running


def _practice_arrange(stack) -> None:
    """The owner is the consultant: 09:00–17:00 every day, a paid one-hour session (the default
    4-hour notice and 24-hour cut-off), payouts connected on the Stripe emulator."""
    import httpx
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from accounts.models import User
    from billing.onboarding import account_ensure, account_refresh
    from booking.availability import PeriodIn, availability_replace
    from booking.offerings import offering_create
    from tenants.services import tenant_provision

    tenant = tenant_provision(slug=SLUG, name="Shiftly Careers", owner_name=OWNER_NAME, owner_email=OWNER_EMAIL,
                              owner_password=OWNER_PASSWORD, owner_time_zone=OWNER_TZ, source="tests").tenant
    with tenant_context(tenant):
        owner = User.objects.get(email=OWNER_EMAIL)
        User.objects.filter(pk=owner.pk).update(email_verified_at=timezone.now())
        availability_replace(consultant=owner, time_zone=OWNER_TZ,
                             weekly=[(day, PeriodIn("09:00", "17:00")) for day in range(7)], overrides=[])
        offering_create(consultant=owner, kind="individual", data={
            "title": TITLE, "description": "An hour to plan your next move.", "duration_minutes": 60,
            "price_amount": 12000, "currency": "USD"})
        account = account_ensure(owner_email=OWNER_EMAIL)
        response = httpx.post(f"{stack.platform}/sandbox/stripe/accounts/{account.stripe_account_id}/onboarding",
                              json={"outcome": "complete"}, timeout=30)
        assert response.status_code == 200, response.text
        assert account_refresh().ready
    connection.set_schema_to_public()


def invite_of(message) -> dict:
    """The calendar invite an email carries, parsed with icalendar."""
    from icalendar import Calendar

    for part in message.walk():
        if part.get_content_type() == "text/calendar" or (part.get_filename() or "").endswith(".ics"):
            calendar = Calendar.from_ical(part.get_payload(decode=True))
            (event,) = calendar.walk("VEVENT")
            return {"method": str(calendar["METHOD"]), "uid": str(event["UID"]), "sequence": int(event["SEQUENCE"]),
                    "start": event.decoded("DTSTART"), "status": str(event.get("STATUS", ""))}
    raise AssertionError(f"no calendar invite in “{message['Subject']}”")


def in_calendar(start: datetime) -> str:
    """A start as the emulated calendar's page shows it to the consultant (en-GB, Lisbon)."""
    return f"{start.astimezone(ZoneInfo(OWNER_TZ)):%d/%m/%Y, %H:%M}"


def slot_from(page, earliest: datetime):
    """The first offered slot starting at ``earliest`` or later, and its start."""
    for slot in page.locator("input[name=start]").all():
        start = datetime.fromisoformat(slot.get_attribute("value"))
        if start >= earliest:
            return slot, start.astimezone(UTC)
    raise AssertionError(f"no slot from {earliest}")


def test_client_reschedules_then_cancels_with_a_refund(stack):
    from django.utils import timezone
    from playwright.sync_api import expect

    journey = Journey("changes")
    site = stack.tenant_url(SLUG)
    client_zone = ZoneInfo(CLIENT_TZ)
    with chromium() as browser:
        # The consultant connects Google Calendar on the emulator's consent page.
        consultant = browser.new_context(timezone_id=OWNER_TZ, locale="en-GB").new_page()
        sign_in(consultant, site, OWNER_EMAIL, OWNER_PASSWORD)
        consultant.goto(f"{site}/calendars/")
        consultant.click("button:has-text('Connect Google Calendar')")
        expect(consultant.locator("h1")).to_contain_text("wants access to your Google Account")
        consultant.fill("input[name=email]", CALENDAR_EMAIL)
        consultant.click("button:has-text('Allow')")
        consultant.wait_for_url(re.compile(re.escape(f"{site}/calendars/")))
        connected = consultant.locator("section.card").first
        expect(connected).to_contain_text(f"Google Calendar · {CALENDAR_EMAIL}")
        expect(connected).to_contain_text("Up to date as of", timeout=EXPECT_MS)
        journey.shot(consultant, "calendar-connected")

        # A client books a session two days out and pays.
        client = browser.new_context(timezone_id=CLIENT_TZ, locale="en-SG").new_page()
        client.goto(f"{site}/book/")
        client.locator("article.offering", has_text=TITLE).get_by_role("link", name="Book").click()
        client.wait_for_url(re.compile(r"tz=Asia%2FSingapore"))
        slot, booked = slot_from(client, timezone.now() + timedelta(days=2))
        slot.check()
        client.fill("input[name=name]", CLIENT_NAME)
        client.fill("input[name=email]", CLIENT_EMAIL)
        journey.shot(client, "slot-picked")
        client.click("button:has-text('Continue to payment')")
        expect(client.locator("h1")).to_have_text(f"Pay {PRICE}")
        client.fill("#card", "4242 4242 4242 4242")
        client.click("button:has-text('Pay')")
        client.wait_for_url(re.compile(re.escape(f"{site}/bookings/") + r"[0-9a-f-]+/\?token="))
        facts = client.locator("dl.facts")
        expect(facts).to_contain_text(f"{booked.astimezone(client_zone):%A %-d %B %Y, %H:%M}")
        expect(facts).to_contain_text(f"{PRICE} — paid")
        journey.shot(client, "booking-confirmed")

        confirmation = stack.wait_for_mail(to=CLIENT_EMAIL, subject=f"Booking confirmed: {TITLE}")
        first_invite = invite_of(confirmation)
        assert (first_invite["method"], first_invite["start"]) == ("REQUEST", booked)

        # The call is written into the consultant's Google calendar.
        calendar = browser.new_context(timezone_id=OWNER_TZ, locale="en-GB").new_page()
        calendar.goto(f"{stack.platform}/sandbox/calendars/")
        calendar.wait_for_function(CALENDAR_STARTS, arg=[CALENDAR_EMAIL, [booked.isoformat()]],
                                   polling=250, timeout=EXPECT_MS)
        (event,) = stack.api("GET", f"/sandbox/google/dev/events?account_email={CALENDAR_EMAIL}", expect=200)["items"]
        assert TITLE in event["summary"] and CLIENT_NAME in event["summary"]
        calendar.locator(f"button[data-email='{CALENDAR_EMAIL}']").click()
        expect(calendar.locator("#events-rows tr")).to_have_count(1)
        expect(calendar.locator("#events-rows")).to_contain_text(f"{TITLE} — {CLIENT_NAME}")
        expect(calendar.locator("#events-rows")).to_contain_text(in_calendar(booked))
        journey.shot(calendar, "calendar-event")

        # The client opens the manage link from the email and moves the call to another day.
        manage = next(url for url in links_in(confirmation) if "/bookings/" in url and "token=" in url)
        client.goto(manage)
        expect(client.locator("h2", has_text="Choose another time")).to_be_visible()
        slot, moved = slot_from(client, booked + timedelta(days=1))
        slot.check()
        journey.shot(client, "new-time-picked")
        client.click("button:has-text('Move my call')")
        expect(client.locator(".messages")).to_contain_text("Your call has a new time.")
        expect(facts).to_contain_text(f"{moved.astimezone(client_zone):%A %-d %B %Y, %H:%M}")
        expect(facts).to_contain_text("Confirmed")
        journey.shot(client, "rescheduled")

        # The calendar event moves (the same event, not a second one)…
        calendar.wait_for_function(CALENDAR_STARTS, arg=[CALENDAR_EMAIL, [moved.isoformat()]],
                                   polling=250, timeout=EXPECT_MS)
        (moved_event,) = stack.api("GET", f"/sandbox/google/dev/events?account_email={CALENDAR_EMAIL}",
                                   expect=200)["items"]
        assert moved_event["id"] == event["id"]
        assert datetime.fromisoformat(moved_event["start"]["dateTime"]) == moved
        calendar.locator(f"button[data-email='{CALENDAR_EMAIL}']").click()
        expect(calendar.locator("#events-rows")).to_contain_text(in_calendar(moved))
        expect(calendar.locator("#events-rows tr")).to_have_count(1)
        journey.shot(calendar, "calendar-event-moved")

        # …and a new invite arrives for the same event, with a higher sequence.
        new_time = stack.wait_for_mail(to=CLIENT_EMAIL, subject=f"New time: {TITLE}")
        second_invite = invite_of(new_time)
        assert second_invite["method"] == "REQUEST"
        assert second_invite["uid"] == first_invite["uid"]
        assert second_invite["sequence"] > first_invite["sequence"]
        assert second_invite["start"] == moved

        # Well before the cut-off, the client cancels and is refunded in full.
        cancel = client.locator("form", has=client.locator("input[name=action][value=cancel]"))
        expect(cancel).to_contain_text(f"Canceling now refunds {PRICE} to your card.")
        cancel.locator("[name=reason]").fill("My new job starts that week.")
        journey.shot(client, "cancel-form")
        cancel.get_by_role("button", name="Cancel my booking").click()
        expect(client.locator(".messages")).to_contain_text("Your booking is canceled.")
        expect(facts).to_contain_text("Canceled")
        expect(facts).to_contain_text("My new job starts that week.")
        refund = facts.locator("dt:has-text('Refund') + dd")
        expect(refund).to_have_text(f"{PRICE} (Client canceled the call) — succeeded")
        expect(client.get_by_role("link", name="Join the call")).to_have_count(0)
        journey.shot(client, "canceled-with-refund", tour="refund")

        canceled = stack.wait_for_mail(to=CLIENT_EMAIL, subject=f"Canceled: {TITLE}")
        cancel_invite = invite_of(canceled)
        assert (cancel_invite["method"], cancel_invite["status"]) == ("CANCEL", "CANCELLED")
        assert cancel_invite["uid"] == first_invite["uid"]
        assert cancel_invite["sequence"] > second_invite["sequence"]

        # The event leaves the calendar.
        calendar.wait_for_function(CALENDAR_STARTS, arg=[CALENDAR_EMAIL, []], polling=250, timeout=EXPECT_MS)
        calendar.locator(f"button[data-email='{CALENDAR_EMAIL}']").click()
        expect(calendar.locator("#events-rows")).to_contain_text("No events.")
        journey.shot(calendar, "calendar-event-removed")
