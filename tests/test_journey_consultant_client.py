"""Journeys 2 and 3 in a real browser, on one tenant ("brightpath").

2. The consultant: invited by the owner, accepts from the email, completes the profile (photo with
   the progress bar), sets weekly hours and a vacation, creates an individual and a group offering
   (with a cover image); the owner connects payouts on the Stripe emulator's onboarding page; the
   consultant connects a Google calendar on the emulator's consent page, and a busy event added
   there takes its slot off the booking page.
3. Clients, each in a fresh browser context with its own time zone and locale: the first books and
   pays the individual offering and gets the confirmation email with its invite; a second buys two
   seats of the group call; a third is turned away because it is full."""

from __future__ import annotations

import io
import re
import shutil
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.journey_support import JOURNEY_ARTIFACTS, Journey, chromium, links_in, live_stack, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.journey]

SLUG = "brightpath"
SCHEMA = f"t_{SLUG}"
OWNER_NAME, OWNER_EMAIL, OWNER_PASSWORD = "Olivia Bright", "olivia@brightpath.example", "bright-owner-pass-1"
CONSULTANT_NAME, CONSULTANT_EMAIL = "Cora Lindqvist", "cora@brightpath.example"
CONSULTANT_PASSWORD = "cora-consults-pass-1"
CALENDAR_EMAIL = "cora.lindqvist@gmail.example"
BERLIN, LOS_ANGELES = ZoneInfo("Europe/Berlin"), ZoneInfo("America/Los_Angeles")
INDIVIDUAL, GROUP = "Career strategy session", "Negotiation workshop"
EXPECT_MS = 15000


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker):
    with live_stack(django_db_blocker, slugs=(SLUG,)) as running:
        with django_db_blocker.unblock():
            from django.db import connection

            from tenants.models import Plan
            from tenants.services import tenant_provision

            # The owner signs up on the Pro plan (room for a consultant); payouts are not connected.
            tenant_provision(slug=SLUG, name="Brightpath Careers", owner_name=OWNER_NAME, owner_email=OWNER_EMAIL,
                             owner_password=OWNER_PASSWORD, plan=Plan.objects.get(name="Pro"),
                             owner_time_zone="Europe/Berlin", source="tests")
            connection.set_schema_to_public()
        yield running


@pytest.fixture(scope="module")
def browser(stack):
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def practice() -> dict:
    """What the consultant's journey set up, for the clients' journey."""
    return {}


@pytest.fixture
def in_tenant(django_db_blocker):
    """Run ``fn`` on the tenant's schema, on a connection of its own (the browser's event loop
    owns this thread; the live server commits what this reads)."""
    from django_tenants.utils import schema_context

    from tests.test_booking_concurrency import in_own_connection

    def run(fn):
        def inside():
            with schema_context(SCHEMA):
                return fn()

        with django_db_blocker.unblock():
            return in_own_connection(inside)

    return run


def fresh_journey(name: str) -> Journey:
    """The journey's screenshots, numbered from 1 (an earlier run's are cleared first)."""
    shutil.rmtree(JOURNEY_ARTIFACTS / name, ignore_errors=True)
    return Journey(name)


def png(size: int = 640) -> bytes:
    """A photo-sized PNG (noise compresses badly, so the upload has some weight)."""
    import os

    from PIL import Image

    image = Image.frombytes("RGB", (size, size), os.urandom(size * size * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def watch_progress(page) -> None:
    """Record what the upload's progress bar shows into sessionStorage, which outlives the
    redirect that follows a finished upload."""
    page.evaluate("""() => {
        sessionStorage.setItem('progress', '[]');
        const bar = document.querySelector('form[data-upload] progress');
        new MutationObserver(() => {
            const seen = JSON.parse(sessionStorage.getItem('progress'));
            seen.push({hidden: bar.hidden, value: bar.value});
            sessionStorage.setItem('progress', JSON.stringify(seen));
        }).observe(bar, {attributes: true});
    }""")


def slot_values(page) -> list[str]:
    return page.locator("input[name=start]").evaluate_all("inputs => inputs.map(i => i.value)")


def test_consultant_sets_up_the_practice(stack, browser, practice, in_tenant):
    from playwright.sync_api import expect

    journey = fresh_journey("consultant")
    site = stack.tenant_url(SLUG)

    # The owner invites a consultant from the Team page.
    owner = browser.new_context(timezone_id="Europe/Berlin", locale="en-GB").new_page()
    sign_in(owner, site, OWNER_EMAIL, OWNER_PASSWORD)
    owner.goto(f"{site}/team/")
    owner.fill("input[name=email]", CONSULTANT_EMAIL)
    owner.select_option("select[name=role]", "consultant")
    owner.click("button:has-text('Send invitation')")
    expect(owner.locator(".messages")).to_contain_text(f"Invitation sent to {CONSULTANT_EMAIL}")
    expect(owner.locator("table").nth(1)).to_contain_text(CONSULTANT_EMAIL)
    journey.shot(owner, "owner-invites-consultant")

    # The consultant accepts from the email.
    invitation = stack.wait_for_mail(to=CONSULTANT_EMAIL, subject="invited you")
    link = next(url for url in links_in(invitation) if "/invite/" in url)
    consultant = browser.new_context(timezone_id="Europe/Berlin", locale="en-GB").new_page()
    consultant.goto(link)
    expect(consultant.locator("h1")).to_have_text("Join Brightpath Careers")
    consultant.fill("input[name=full_name]", CONSULTANT_NAME)
    consultant.fill("input[name=password]", CONSULTANT_PASSWORD)
    journey.shot(consultant, "accept-invitation")
    consultant.click("button:has-text('Create my account')")
    consultant.wait_for_url(f"{site}/profile/")
    expect(consultant.locator(".messages")).to_contain_text("Welcome to Brightpath Careers!")

    # The profile: the details, then a photo with the progress bar.
    consultant.fill("input[name=slug]", "cora")
    consultant.fill("input[name=headline]", "Career coach for engineers moving into leadership")
    consultant.fill("textarea[name=description]", "One-to-one coaching, salary negotiation, leadership transitions.")
    consultant.select_option("select[name=languages]", ["en", "de"])
    expect(consultant.locator("select[name=time_zone]")).to_have_value("Europe/Berlin")
    consultant.click("button:has-text('Save profile')")
    expect(consultant.locator(".messages")).to_contain_text("Profile saved.")
    expect(consultant.locator(".notice")).to_contain_text("Still missing: a photo.")
    consultant.set_input_files("input[name=photo]", files=[
        {"name": "cora.png", "mimeType": "image/png", "buffer": png()}])
    watch_progress(consultant)
    consultant.click("button:has-text('Upload photo')")
    expect(consultant.locator(".messages")).to_contain_text("Photo uploaded", timeout=EXPECT_MS)
    progress = consultant.evaluate("() => JSON.parse(sessionStorage.getItem('progress'))")
    assert any(not step["hidden"] for step in progress), f"the progress bar never showed: {progress}"
    assert progress[-1]["value"] == 100, f"the upload did not reach 100 %: {progress}"
    consultant.reload()
    expect(consultant.locator(".notice.ok")).to_contain_text("The profile is complete. Public page: /c/cora/")
    expect(consultant.locator("img.avatar-lg")).to_be_visible(timeout=EXPECT_MS)
    journey.shot(consultant, "profile-complete", tour="06-consultant-profile")

    # Weekly hours, Monday to Friday 09:00–17:00 in Berlin, and a vacation two weeks out.
    consultant.goto(f"{site}/availability/")
    for weekday in range(5):
        consultant.select_option("#weekday", str(weekday))
        consultant.fill("#start", "09:00")
        consultant.fill("#end", "17:00")
        consultant.click("button:has-text('Add hours')")
        expect(consultant.locator("#week .day").nth(weekday)).to_contain_text("09:00–17:00")
    today = datetime.now(BERLIN).date()
    vacation_start, vacation_end = today + timedelta(days=14), today + timedelta(days=20)
    consultant.fill("#v-start", vacation_start.isoformat())
    consultant.fill("#v-end", vacation_end.isoformat())
    consultant.click("button:has-text('Add vacation')")
    expect(consultant.locator("#vacations li").first).to_contain_text(
        f"{vacation_start.day} {vacation_start:%b %Y} – {vacation_end.day} {vacation_end:%b %Y}")
    journey.shot(consultant, "availability", tour="06b-weekly-hours")

    # An individual paid offering and a group offering with a cover image.
    consultant.goto(f"{site}/offerings/")
    consultant.select_option("select[name=kind]", "individual")
    consultant.fill("input[name=title]", INDIVIDUAL)
    consultant.fill("textarea[name=description]", "An hour on where your career goes next, with written notes.")
    consultant.fill("input[name=price]", "90")
    consultant.select_option("select[name=currency]", "USD")
    consultant.fill("input[name=duration_minutes]", "60")
    consultant.fill("input[name=min_notice_minutes]", "240")
    consultant.click("button:has-text('Create')")
    expect(consultant.locator(".messages")).to_contain_text("Offering created.")
    group_day = today + timedelta(days=9)
    consultant.select_option("select[name=kind]", "group")
    consultant.fill("input[name=title]", GROUP)
    consultant.fill("textarea[name=description]", "Ninety minutes of salary negotiation practice in a small group.")
    consultant.fill("input[name=price]", "25")
    consultant.select_option("select[name=currency]", "USD")
    consultant.fill("input[name=start_at]", f"{group_day.isoformat()}T18:00")
    consultant.fill("input[name=end_at]", f"{group_day.isoformat()}T19:30")
    consultant.fill("input[name=capacity]", "2")
    consultant.click("button:has-text('Create')")
    expect(consultant.locator(".messages")).to_contain_text("Offering created.")
    expect(consultant.locator("table")).to_contain_text(INDIVIDUAL)
    journey.shot(consultant, "offerings")
    consultant.click(f"a:has-text('{GROUP}')")
    expect(consultant.locator("input[name=start_at]")).to_have_value(f"{group_day.isoformat()}T18:00")
    consultant.select_option("#m-kind", "cover")
    consultant.fill("#m-title", "Workshop cover")
    consultant.set_input_files("#m-file", files=[{"name": "cover.png", "mimeType": "image/png", "buffer": png(320)}])
    consultant.click("form[data-upload] button:has-text('Upload')")
    expect(consultant.locator("main")).to_contain_text("Cover image: Workshop cover", timeout=EXPECT_MS)
    journey.shot(consultant, "group-offering-cover")

    def ids():
        from booking.models import Offering

        return {o.title: str(o.public_id) for o in Offering.objects.all()}

    practice.update(offerings=in_tenant(ids), group_day=group_day)

    # Until payouts are connected, the paid offering cannot be booked; the owner connects them.
    owner.goto(f"{site}/payouts/")
    expect(owner.locator("#stripe-heading + p")).to_contain_text("Connect a Stripe account to take payments")
    owner.click("button:has-text('Connect payouts with Stripe')")
    expect(owner.locator("h1")).to_have_text("Set up payouts")
    journey.shot(owner, "stripe-onboarding")
    owner.click("button:has-text('Complete onboarding')")
    owner.wait_for_url(f"{site}/payouts/?onboarding=done")
    expect(owner.locator("section[aria-labelledby=stripe-heading]")).to_contain_text("Connected.")
    journey.shot(owner, "payouts-connected", tour="17-payouts-connected")

    # The consultant connects Google Calendar on the emulator's consent page.
    consultant.goto(f"{site}/calendars/")
    consultant.click("button:has-text('Connect Google Calendar')")
    expect(consultant.locator("h1")).to_contain_text("wants access to your Google Account")
    consultant.fill("input[name=email]", CALENDAR_EMAIL)
    journey.shot(consultant, "google-consent")
    consultant.click("button:has-text('Allow')")
    consultant.wait_for_url(re.compile(re.escape(f"{site}/calendars/")))
    expect(consultant.locator("section.card").first).to_contain_text(f"Google Calendar · {CALENDAR_EMAIL}")
    expect(consultant.locator("section.card").first).to_contain_text("Up to date as of", timeout=EXPECT_MS)
    journey.shot(consultant, "calendar-connected", tour="07-calendars-connected")

    # A busy event in that calendar takes its slot off the booking page.
    booking_page = f"{site}/book/{practice['offerings'][INDIVIDUAL]}/"
    consultant.goto(f"{booking_page}?tz=Europe/Berlin")
    days = consultant.locator(".day")
    busy_day = next(i for i in range(days.count()) if days.nth(i).locator("input[name=start]").count() >= 3)
    blocked = days.nth(busy_day).locator("input[name=start]").nth(1).get_attribute("value")
    start = datetime.fromisoformat(blocked)
    stack.api("POST", "/sandbox/google/dev/events", expect=201, body={
        "account_email": CALENDAR_EMAIL, "calendar": "primary", "summary": "Dentist",
        "start": start.isoformat(), "end": (start + timedelta(minutes=60)).isoformat()})
    consultant.wait_for_function(
        """async (value) => !(await (await fetch(location.href)).text()).includes(`value="${value}"`)""",
        arg=blocked, polling=250, timeout=EXPECT_MS)
    consultant.reload()
    expect(consultant.locator(f"input[name=start][value='{blocked}']")).to_have_count(0)
    assert slot_values(consultant), "the other slots stay"
    journey.shot(consultant, "busy-event-removes-slot", tour="07b-busy-event-removes-slot")
    practice.update(blocked=blocked)

    # The vacation week offers nothing.
    consultant.goto(f"{booking_page}?tz=Europe/Berlin&from={vacation_start.isoformat()}")
    expect(consultant.locator(".day")).to_have_count(7)
    expect(consultant.locator("input[name=start]")).to_have_count(0)
    journey.shot(consultant, "vacation-week-is-empty")


def ics_of(message) -> bytes:
    for part in message.walk():
        if part.get_content_type() == "text/calendar" or (part.get_filename() or "").endswith(".ics"):
            return part.get_payload(decode=True)
    raise AssertionError(f"no calendar invite in “{message['Subject']}”")


def pay_on_checkout(page, journey: Journey, step: str, amount: str) -> None:
    """The emulator's hosted checkout: the amount, the test card, Pay."""
    from playwright.sync_api import expect

    expect(page.locator("h1")).to_have_text(f"Pay {amount}")
    page.fill("#card", "4242 4242 4242 4242")
    journey.shot(page, step, tour="12-checkout" if step == "checkout" else None)
    page.click("button:has-text('Pay')")


def test_clients_book_pay_and_fill_the_group_call(stack, browser, practice, in_tenant):
    from icalendar import Calendar
    from playwright.sync_api import expect

    assert practice, "the consultant's journey sets the practice up first"
    journey = fresh_journey("client")
    site = stack.tenant_url(SLUG)
    manage_url = re.compile(re.escape(f"{site}/bookings/") + r"[0-9a-f-]+/\?token=")

    # A client in Los Angeles finds the consultant from the landing page.
    client = browser.new_context(timezone_id="America/Los_Angeles", locale="en-US").new_page()
    client.goto(f"{site}/")
    person = client.locator("a.card.person", has_text=CONSULTANT_NAME)
    expect(person).to_contain_text("Career coach for engineers")
    journey.shot(client, "landing-page")
    person.click()
    client.wait_for_url(f"{site}/c/cora/")
    expect(client.locator("h1")).to_have_text(CONSULTANT_NAME)
    expect(client.locator("main")).to_contain_text(GROUP)
    journey.shot(client, "consultant-page", tour="10-consultant-page")
    client.locator("article.offering", has_text=INDIVIDUAL).get_by_role("link", name="Book").click()

    # The slots are in the client's own zone.
    client.wait_for_url(re.compile(r"tz=America%2FLos_Angeles"))
    expect(client.locator("select#tz")).to_have_value("America/Los_Angeles")
    first = client.locator("input[name=start]").first
    value = first.get_attribute("value")
    start = datetime.fromisoformat(value).astimezone(UTC)
    local = start.astimezone(LOS_ANGELES)
    assert value != practice["blocked"]
    expect(client.locator("label.slot").first).to_contain_text(f"{local:%H:%M}")
    assert local.strftime("%H:%M") != start.astimezone(BERLIN).strftime("%H:%M")
    first.check()
    client.fill("input[name=name]", "Liam Client")
    client.fill("input[name=email]", "liam@client.example")
    journey.shot(client, "slot-picked", tour="11-slot-in-client-zone")
    client.click("button:has-text('Continue to payment')")
    pay_on_checkout(client, journey, "checkout", "$90.00")
    client.wait_for_url(manage_url)
    expect(client.locator(".messages")).to_contain_text("Payment received — your call is confirmed.")
    facts = client.locator("dl.facts")
    expect(facts).to_contain_text(f"{local:%H:%M}")
    expect(facts).to_contain_text("(America/Los_Angeles)")
    expect(facts).to_contain_text("Confirmed")
    expect(facts).to_contain_text("$90.00 — paid")
    journey.shot(client, "confirmed", tour="13-paid-and-confirmed")

    # The confirmation email carries a calendar invite at the booked time.
    confirmation = stack.wait_for_mail(to="liam@client.example", subject=f"Booking confirmed: {INDIVIDUAL}")
    invite = Calendar.from_ical(ics_of(confirmation))
    assert str(invite["METHOD"]) == "REQUEST"
    events = invite.walk("VEVENT")
    assert len(events) == 1
    assert events[0].decoded("DTSTART") == start
    assert events[0].decoded("DTEND") == start + timedelta(minutes=60)
    assert str(events[0]["SUMMARY"]).startswith(INDIVIDUAL)
    client.goto(f"{stack.platform}/sandbox/mail/")
    expect(client.locator("main")).to_contain_text(f"Booking confirmed: {INDIVIDUAL}")
    journey.shot(client, "mail-catcher")

    # A second client, in Tokyo, buys two seats of the group call; a third, in São Paulo, opened the
    # same page meanwhile and is turned away when she tries to book.
    group_page = f"{site}/book/{practice['offerings'][GROUP]}/"
    third = browser.new_context(timezone_id="America/Sao_Paulo", locale="pt-BR").new_page()
    third.goto(group_page)
    expect(third.locator("main")).to_contain_text("2 seats left")
    second = browser.new_context(timezone_id="Asia/Tokyo", locale="ja-JP").new_page()
    second.goto(f"{site}/c/cora/")
    second.locator("article.offering", has_text=GROUP).get_by_role("link", name="Book").click()
    second.wait_for_url(re.compile(r"tz=Asia%2FTokyo"))
    group_start = datetime.combine(practice["group_day"], datetime.min.time().replace(hour=18), BERLIN)
    expect(second.locator("main")).to_contain_text(f"{group_start.astimezone(ZoneInfo('Asia/Tokyo')):%H:%M}")
    expect(second.locator("img.cover")).to_be_visible()
    second.fill("input[name=seats]", "2")
    second.fill("input[name=name]", "Haruto Client")
    second.fill("input[name=email]", "haruto@client.example")
    journey.shot(second, "group-two-seats")
    second.click("button:has-text('Continue to payment')")
    pay_on_checkout(second, journey, "group-checkout", "$50.00")
    second.wait_for_url(manage_url)
    expect(second.locator("dl.facts")).to_contain_text("2 seats")
    expect(second.locator("dl.facts")).to_contain_text("Confirmed")
    journey.shot(second, "group-confirmed")
    stack.wait_for_mail(to="haruto@client.example", subject=f"Your seat is booked: {GROUP}")

    third.fill("input[name=name]", "Beatriz Client")
    third.fill("input[name=email]", "beatriz@client.example")
    third.click("button:has-text('Continue to payment')")
    expect(third.locator("[role=alert]")).to_contain_text("This group call is full.")
    journey.shot(third, "group-full", tour="13b-group-call-full")
    third.goto(f"{site}/c/cora/")
    expect(third.locator("article.offering", has_text=GROUP)).to_contain_text("Full")

    def bookings():
        from booking.models import CallParticipant

        return sorted((p.email, p.seats, p.status) for p in CallParticipant.objects.all())

    assert in_tenant(bookings) == [("haruto@client.example", 2, "confirmed"),
                                   ("liam@client.example", 1, "confirmed")]
