"""What clients do to a booking flow that a happy path never does, in a real browser: double
clicks on "Book" and "Pay", the back button after paying, two people racing for the same slot, and
links that are wrong, forged or used up. Each must end in one booking (or none) and a clear page —
never a second booking, a stack trace or a 500."""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.journey_support import JOURNEY_ARTIFACTS, Journey, chromium, links_in, live_stack

pytestmark = [pytest.mark.browser, pytest.mark.journey]

SLUG = "racecourse"
SCHEMA = f"t_{SLUG}"
OWNER_EMAIL, OWNER_PASSWORD = "rita@racecourse.example", "racecourse-owner-pass-1"
RIVAL_EMAIL = "ravi@racecourse.example"
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass
class Arranged:
    free: str
    paid: str
    group: str
    race: str
    race_slot: str  # the race day's only slot, as the booking page names it


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker):
    with live_stack(django_db_blocker, slugs=(SLUG,)) as running:
        yield running


def in_tenant(django_db_blocker, fn):
    """``fn`` on the tenant's schema, on a connection of its own (the browser's event loop owns
    this thread; the live server commits what this reads)."""
    from django_tenants.utils import schema_context

    from tests.test_booking_concurrency import in_own_connection

    def inside():
        with schema_context(SCHEMA):
            return fn()

    with django_db_blocker.unblock():
        return in_own_connection(inside)


@pytest.fixture(scope="module")
def arranged(stack, django_db_blocker) -> Arranged:
    """A consultant with open hours, a free, a paid and a group offering, payments connected, and
    a second consultant whose day has one slot left (the race)."""
    import httpx

    with django_db_blocker.unblock():
        from django.db import connection

        from tenants.models import Plan
        from tenants.services import tenant_provision

        tenant_provision(slug=SLUG, name="Racecourse Advisory", owner_name="Rita Race", owner_email=OWNER_EMAIL,
                         owner_password=OWNER_PASSWORD, plan=Plan.objects.get(name="Pro"),
                         owner_time_zone="Europe/Berlin", source="tests")
        connection.set_schema_to_public()

    def arrange() -> Arranged:
        from django.utils import timezone

        from accounts.models import User
        from billing.onboarding import account_ensure, account_refresh
        from booking.availability import PeriodIn, availability_replace
        from booking.offerings import offering_create
        from consultants.services import profile_create

        owner = User.objects.get(email=OWNER_EMAIL)
        availability_replace(consultant=owner, time_zone="Europe/Berlin",
                             weekly=[(day, PeriodIn("08:00", "20:00")) for day in range(7)], overrides=[])
        common = {"duration_minutes": 60, "min_notice_minutes": 0, "currency": "USD"}
        free = offering_create(consultant=owner, kind="individual", data=common | {
            "title": "Free intro", "price_amount": 0})
        paid = offering_create(consultant=owner, kind="individual", data=common | {
            "title": "Paid session", "price_amount": 6000})
        start = (timezone.now() + timedelta(days=12)).astimezone(BERLIN).replace(
            hour=21, minute=0, second=0, microsecond=0)
        group = offering_create(consultant=owner, kind="group", data={
            "title": "Group class", "price_amount": 1500, "currency": "USD", "start_at": start,
            "end_at": start + timedelta(hours=1), "capacity": 6})
        rival = User.objects.create_user(email=RIVAL_EMAIL, password=OWNER_PASSWORD, full_name="Ravi Rival",
                                         role="consultant", email_verified_at=timezone.now())
        profile_create(user=rival)
        today = timezone.now().astimezone(BERLIN).date()
        race_day, spare_day = today + timedelta(days=2), today + timedelta(days=4)
        availability_replace(consultant=rival, time_zone="Europe/Berlin", weekly=[], overrides=[
            (race_day, [PeriodIn("10:00", "11:00")]), (spare_day, [PeriodIn("15:00", "16:00")])])
        race = offering_create(consultant=rival, kind="individual", data=common | {
            "title": "Last-minute review", "price_amount": 0})
        account = account_ensure(owner_email=OWNER_EMAIL)
        response = httpx.post(stack.url(path=f"/sandbox/stripe/accounts/{account.stripe_account_id}/onboarding"),
                              json={"outcome": "complete"})
        assert response.status_code == 200, response.text
        assert account_refresh().ready
        race_slot = datetime.combine(race_day, time(10), BERLIN).astimezone(UTC).isoformat()
        return Arranged(free=str(free.public_id), paid=str(paid.public_id), group=str(group.public_id),
                        race=str(race.public_id), race_slot=race_slot)

    return in_tenant(django_db_blocker, arrange)


@pytest.fixture(scope="module")
def journey() -> Journey:
    """One numbered set of screenshots for the module (an earlier run's are cleared first)."""
    shutil.rmtree(JOURNEY_ARTIFACTS / "robustness", ignore_errors=True)
    return Journey("robustness")


@pytest.fixture(scope="module")
def browser(stack):
    with chromium() as running:
        yield running


def bookings_of(django_db_blocker, email: str) -> list[dict]:
    def read():
        from billing.models import Payment
        from booking.models import CallParticipant

        return [{"id": str(p.public_id), "status": p.status, "seats": p.seats,
                 "payments": list(Payment.objects.filter(participant=p).values_list("checkout_session_id", flat=True))}
                for p in CallParticipant.objects.filter(email=email)]

    return in_tenant(django_db_blocker, read)


def sessions_for(django_db_blocker, booking_id: str) -> list[dict]:
    """The emulator's Checkout Sessions (and their status) made for one booking."""
    from tests.test_booking_concurrency import in_own_connection

    def read():
        from sandbox.models import StripeObject

        return [o.data for o in StripeObject.objects.filter(object="checkout.session",
                                                             data__client_reference_id=booking_id)]

    with django_db_blocker.unblock():
        return in_own_connection(read)


def fill_client(page, name: str, email: str) -> None:
    page.fill("input[name=name]", name)
    page.fill("input[name=email]", email)


MANAGE = re.compile(r"/bookings/[0-9a-f-]+/\?token=")


def double_submit(page, button) -> None:
    """Two submits reach the server, as when someone clicks twice before the page changes.

    Playwright's ``dblclick`` is so quick that Chromium sends one request; a person's second click
    a moment later sends another, and the page shows the answer to that one. So the form is first
    sent as it stands from the page itself (same session, same cookies) and answered, then clicked."""
    status = button.evaluate("""async (button) => {
        const form = button.form;
        const first = await fetch(form.action, {method: "POST", body: new FormData(form), redirect: "manual"});
        return first.status;
    }""")
    assert status < 500, status
    button.click()


def test_double_clicks_on_book_and_pay_make_one_booking_and_one_checkout(stack, arranged, browser, journey,
                                                                          django_db_blocker):
    from playwright.sync_api import expect

    site = stack.tenant_url(SLUG)
    page = browser.new_context(timezone_id="Europe/Lisbon", locale="pt-PT").new_page()

    # A free call: a double click on "Book".
    page.goto(f"{site}/book/{arranged.free}/?tz=Europe/Lisbon")
    page.locator("input[name=start]").first.check()
    fill_client(page, "Dora Double", "dora@client.example")
    double_submit(page, page.locator("button:has-text('Book')"))
    page.wait_for_url(MANAGE)
    expect(page.locator("dl.facts")).to_contain_text("Confirmed")
    expect(page.locator(".messages")).to_contain_text("You had already sent this booking: here it is.")
    journey.shot(page, "double-click-book")
    assert [b["status"] for b in bookings_of(django_db_blocker, "dora@client.example")] == ["confirmed"]

    # A paid call: a double click on "Continue to payment", then on "Pay".
    page.goto(f"{site}/book/{arranged.paid}/?tz=Europe/Lisbon")
    page.locator("input[name=start]").first.check()
    fill_client(page, "Paco Pay", "paco@client.example")
    double_submit(page, page.locator("button:has-text('Continue to payment')"))
    expect(page.locator("h1")).to_have_text("Pay $60.00")
    booked = bookings_of(django_db_blocker, "paco@client.example")
    assert len(booked) == 1 and len(booked[0]["payments"]) == 1, booked
    assert len(sessions_for(django_db_blocker, booked[0]["id"])) == 1
    double_submit(page, page.locator("button:has-text('Pay')"))
    page.wait_for_url(MANAGE)
    expect(page.locator("dl.facts")).to_contain_text("Confirmed")
    journey.shot(page, "double-click-pay")
    booked = bookings_of(django_db_blocker, "paco@client.example")
    assert [(b["status"], len(b["payments"])) for b in booked] == [("confirmed", 1)]
    sessions = sessions_for(django_db_blocker, booked[0]["id"])
    assert [(s["status"], s["payment_status"]) for s in sessions] == [("complete", "paid")]

    # Two seats of a group call: a double click on "Continue to payment".
    page.goto(f"{site}/book/{arranged.group}/?tz=Europe/Lisbon")
    page.fill("input[name=seats]", "2")
    fill_client(page, "Gil Group", "gil@client.example")
    double_submit(page, page.locator("button:has-text('Continue to payment')"))
    expect(page.locator("h1")).to_have_text("Pay $30.00")
    journey.shot(page, "double-click-group-seats")
    booked = bookings_of(django_db_blocker, "gil@client.example")
    assert [(b["seats"], len(b["payments"])) for b in booked] == [(2, 1)]
    assert len(sessions_for(django_db_blocker, booked[0]["id"])) == 1


def test_back_after_paying_does_not_book_again(stack, arranged, browser, journey, django_db_blocker):
    from playwright.sync_api import expect

    site = stack.tenant_url(SLUG)
    page = browser.new_context(timezone_id="Europe/Madrid", locale="es-ES").new_page()
    page.goto(f"{site}/book/{arranged.paid}/?tz=Europe/Madrid")
    slot = page.locator("input[name=start]").nth(3)
    booked_start = slot.get_attribute("value")
    slot.check()
    fill_client(page, "Bea Back", "bea@client.example")
    page.click("button:has-text('Continue to payment')")
    expect(page.locator("h1")).to_have_text("Pay $60.00")
    page.click("button:has-text('Pay')")
    page.wait_for_url(MANAGE)
    manage_url = page.url
    expect(page.locator("dl.facts")).to_contain_text("Confirmed")
    journey.shot(page, "paid")

    # Back to the checkout page: it says the payment is complete and leads to the booking.
    page.go_back()
    expect(page.locator("[role=status]")).to_contain_text("This payment is complete")
    expect(page.locator("button:has-text('Pay')")).to_have_count(0)
    journey.shot(page, "back-to-checkout")
    # Back once more: the booking page no longer offers the time just bought.
    page.go_back()
    expect(page.locator("h1")).to_have_text("Paid session")
    expect(page.locator(f"input[name=start][value='{booked_start}']")).to_have_count(0)
    journey.shot(page, "back-to-booking-page")
    page.go_forward()
    page.click("a:has-text('Back to your booking')")
    page.wait_for_url(MANAGE)
    assert page.url.split("?")[0] == manage_url.split("?")[0]
    expect(page.locator("dl.facts")).to_contain_text("Confirmed")

    booked = bookings_of(django_db_blocker, "bea@client.example")
    assert [(b["status"], len(b["payments"])) for b in booked] == [("confirmed", 1)]
    assert [s["status"] for s in sessions_for(django_db_blocker, booked[0]["id"])] == ["complete"]


def test_two_clients_race_for_the_last_slot_of_a_day(stack, arranged, browser, journey, django_db_blocker):
    from playwright.sync_api import expect

    site = stack.tenant_url(SLUG)
    pages = {}
    for name, zone in (("Ada", "Europe/Berlin"), ("Ben", "America/New_York")):
        page = browser.new_context(timezone_id=zone, locale="en-US").new_page()
        page.goto(f"{site}/book/{arranged.race}/?tz={zone}")
        expect(page.locator("input[name=start]")).to_have_count(2)  # the race day's, and one more later
        page.locator(f"input[name=start][value='{arranged.race_slot}']").check()
        fill_client(page, f"{name} Racer", f"{name.lower()}@client.example")
        pages[name] = page
    contested = arranged.race_slot
    journey.shot(pages["Ben"], "race-both-pick-the-same-time")

    # Both click "Book" at the same moment.
    for page in pages.values():
        page.locator("button:has-text('Book')").click(no_wait_after=True)
    for page in pages.values():
        expect(page.locator("main")).to_contain_text(re.compile("Confirmed|has just been taken"))
    winners = [name for name, page in pages.items() if MANAGE.search(page.url)]
    assert len(winners) == 1, winners
    winner, loser = pages[winners[0]], pages[({"Ada", "Ben"} - set(winners)).pop()]
    expect(winner.locator("dl.facts")).to_contain_text("Confirmed")
    journey.shot(winner, "race-winner")

    # The other one is told at once, and picks from fresh slots: the contested time is gone.
    expect(loser.locator("[role=alert]")).to_contain_text("This time has just been taken. Please choose another slot.")
    expect(loser.locator(f"input[name=start][value='{contested}']")).to_have_count(0)
    expect(loser.locator("input[name=start]")).to_have_count(1)
    expect(loser.locator("input[name=email]")).not_to_have_value("")
    journey.shot(loser, "race-loser-picks-again")
    loser.locator("input[name=start]").check()
    loser.locator("button:has-text('Book')").click()
    loser.wait_for_url(MANAGE)
    expect(loser.locator("dl.facts")).to_contain_text("Confirmed")

    def calls():
        from booking.models import CallParticipant

        return sorted((p.email, p.call.start_at.isoformat()) for p in
                      CallParticipant.objects.filter(call__offering__title="Last-minute review",
                                                     status="confirmed").select_related("call"))

    booked = in_tenant(django_db_blocker, calls)
    assert len(booked) == 2 and len({start for _, start in booked}) == 2, booked


def test_bad_and_used_links_get_a_clear_page(stack, arranged, browser, journey, django_db_blocker):
    from playwright.sync_api import expect

    site = stack.tenant_url(SLUG)

    def arrange():
        from django.db import transaction
        from django.utils import timezone

        from accounts.models import User
        from accounts.services.invitations import invitation_create
        from booking.services import BookingRequest, booking_create, booking_release_unpaid

        start = (timezone.now() + timedelta(days=3)).astimezone(BERLIN).replace(
            hour=12, minute=0, second=0, microsecond=0)
        free = booking_create(request=BookingRequest(offering_id=arranged.free, start=start, name="Nina Links",
                                                     email="nina@client.example"))
        unpaid = booking_create(request=BookingRequest(offering_id=arranged.paid, start=start + timedelta(hours=2),
                                                       name="Nina Links", email="nina@client.example"))
        lapsed = booking_create(request=BookingRequest(offering_id=arranged.paid, start=start + timedelta(hours=4),
                                                       name="Nina Links", email="nina@client.example"))
        with transaction.atomic():  # its hold ran out unpaid
            booking_release_unpaid(participant_id=lapsed.participant.pk, reason="Payment not completed")
        for email in ("ivy@racecourse.example", "ed@racecourse.example"):
            invitation_create(actor=User.objects.get(email=OWNER_EMAIL), email=email, role="consultant",
                              domain=f"{SLUG}.localhost", site_name="Racecourse Advisory", max_consultants=None)
        return (str(free.participant.public_id), free.manage_token, str(free.participant.call.public_id),
                str(unpaid.participant.public_id), unpaid.manage_token,
                str(lapsed.participant.public_id), lapsed.manage_token)

    booking_id, token, call_id, unpaid_id, unpaid_token, lapsed_id, lapsed_token = in_tenant(django_db_blocker,
                                                                                           arrange)

    def invite_path(email: str) -> str:
        invitation = stack.wait_for_mail(to=email, subject="invited you")
        return "/invite/" + next(url for url in links_in(invitation) if "/invite/" in url).split("/invite/")[1]

    used, expired = invite_path("ivy@racecourse.example"), invite_path("ed@racecourse.example")

    def use_one_expire_the_other():
        from django.utils import timezone

        from accounts.models import Invitation
        from accounts.services.invitations import invitation_accept

        invitation_accept(token=used.strip("/").rsplit("/", 1)[-1], full_name="Ivy Used",
                          password="ivy-uses-it-once-1")
        Invitation.objects.filter(email="ed@racecourse.example").update(
            expires_at=timezone.now() - timedelta(days=1))

    in_tenant(django_db_blocker, use_one_expire_the_other)
    nobody, gone = uuid.uuid4(), "Page not found"
    cases = [
        ("manage-wrong-token", f"/bookings/{booking_id}/?token=not-the-token", 403, "This link is not valid"),
        ("manage-no-token", f"/bookings/{booking_id}/", 403, "This link is not valid"),
        ("manage-unknown-booking", f"/bookings/{nobody}/?token={token}", 404, gone),
        ("manage-garbage-id", f"/bookings/12%3Cscript%3E/?token={token}", 404, gone),
        ("unknown-offering", f"/book/{nobody}/", 404, gone),
        ("garbage-offering", "/book/not-an-offering/", 404, gone),
        ("unknown-consultant", "/c/no-such-consultant/", 404, gone),
        ("lapsed-booking", f"/bookings/{lapsed_id}/?token={lapsed_token}", 200, "Payment not completed"),
        ("used-invitation", used, 400, "This invitation has already been used. Sign in instead."),
        ("expired-invitation", expired, 400, "This invitation has expired. Ask the owner for a new one."),
        ("bogus-invitation", "/invite/bogus-invitation-token/", 400, "This invitation link is not valid."),
        ("bogus-password-reset", "/password-reset/MQ/bogus-token/", 400, "This password reset link has expired"),
        ("room-bad-token", f"/calls/{call_id}/room/?token=forged", 403, "This link is not valid for this call."),
        ("room-unknown-call", f"/calls/{nobody}/room/", 404, gone),
        ("feed-bad-token", "/calendar-feed/not-a-feed-token.ics", 404, gone),
        ("checkout-success-unknown-booking", f"/bookings/{nobody}/paid/?token=x&session_id=cs_test_bogus", 404, gone),
        ("checkout-success-wrong-token", f"/bookings/{booking_id}/paid/?token=x&session_id=cs_test_bogus", 403,
         "This link is not valid"),
        ("checkout-success-bogus-session", f"/bookings/{unpaid_id}/paid/?token={unpaid_token}&session_id=cs_test_x",
         200, "We are waiting for the payment to be confirmed"),
        ("checkout-cancel-unknown-booking", f"/bookings/{nobody}/checkout-canceled/?token=x", 404, gone),
        ("checkout-cancel-wrong-token", f"/bookings/{booking_id}/checkout-canceled/?token=x", 403,
         "This link is not valid"),
    ]
    page = browser.new_context(timezone_id="Europe/Rome", locale="it-IT").new_page()
    for step, path, status, message in cases:
        response = page.goto(f"{site}{path}")
        assert response.status == status, f"{step}: {path} answered {response.status}"
        expect(page.locator("main")).to_contain_text(message)
        expect(page.locator("h1")).to_be_visible()
        assert "Traceback" not in page.content()
        journey.shot(page, step)
    # The emulator's hosted checkout page with a session that never existed.
    response = page.goto(f"{stack.platform}/sandbox/stripe/checkout/cs_test_never_made/")
    assert response.status == 404
    expect(page.locator("body")).to_contain_text("This payment page does not exist.")
