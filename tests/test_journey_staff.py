"""Journey 6, platform staff: sign in to the console, find a tenant by search, change its plan,
suspend it (its site shows the suspended page and refuses bookings), reactivate it (the site and
booking work again), and read each step back in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.journey_support import Journey, chromium, live_stack

pytestmark = [pytest.mark.browser, pytest.mark.journey]

SLUG = "staffed"
NAME = "Staffed Studio"
OWNER_EMAIL = "owen@staffed.example"
STAFF_EMAIL = "sam.staff@console.example"
STAFF_PASSWORD = "staff-console-pass-1"
REASON = "Chargebacks under review"
TIMEOUT = 30_000


@dataclass
class World:
    stack: object
    offering_id: str
    slot: str  # the start of a free slot, ISO


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    staff_id = None
    try:
        with live_stack(django_db_blocker, slugs=(SLUG,)) as stack:
            staff_id = _staff_create().pk
            yield World(stack, *_tenant_arrange())
    finally:
        # The staff user outlives the tenant, whose audit rows name it. A plain delete: the ORM's
        # cascade would look for tenant tables in the public schema.
        if staff_id is not None:
            from django.db import connection

            with django_db_blocker.unblock():
                connection.set_schema_to_public()
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM accounts_user WHERE id = %s", [staff_id])
                    assert cursor.rowcount == 1


def _staff_create():
    from accounts.models import User

    return User.objects.create_superuser(email=STAFF_EMAIL, password=STAFF_PASSWORD, full_name="Sam Staff",
                                         role=User.Role.STAFF)


def _tenant_arrange() -> tuple[str, str]:
    """A tenant on the default plan whose owner consults: hours every day and a free call."""
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from accounts.models import User
    from booking.availability import PeriodIn, availability_replace
    from booking.offerings import offering_create
    from booking.selectors import offering_slots
    from tenants.services import tenant_provision

    tenant = tenant_provision(slug=SLUG, name=NAME, owner_name="Owen Staffed", owner_email=OWNER_EMAIL,
                              owner_password="staffed-owner-pass-1", source="tests").tenant
    with schema_context(tenant.schema_name):
        owner = User.objects.get(email=OWNER_EMAIL)
        availability_replace(consultant=owner, time_zone="UTC",
                             weekly=[(day, PeriodIn("08:00", "20:00")) for day in range(7)], overrides=[])
        offering = offering_create(consultant=owner, kind="individual", data={
            "title": "Intro call", "description": "A free first conversation.", "duration_minutes": 30,
            "price_amount": 0, "currency": "USD", "min_notice_minutes": 60})
        today = timezone.now().date()
        slots = offering_slots(offering=offering, start=today + timedelta(days=2), end=today + timedelta(days=2),
                               time_zone="UTC", now=timezone.now())
        return str(offering.public_id), slots[0][0].isoformat()


def test_staff_change_plan_suspend_and_reactivate_a_tenant_with_an_audit_trail(world):
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    stack = world.stack
    site = stack.tenant_url(SLUG)
    booking_page = f"{site}/book/{world.offering_id}/"
    journey = Journey("staff")
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(TIMEOUT)

        # Sign in to the console.
        page.goto(f"{stack.platform}/console/")
        page.wait_for_url(f"{stack.platform}/console/login/?next=/console/")
        expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
        page.get_by_label("Email").fill(STAFF_EMAIL)
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        journey.shot(page, "console-sign-in")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{stack.platform}/console/")
        expect(page.get_by_role("heading", name="Tenants")).to_be_visible()

        # Find the tenant by search.
        page.get_by_role("searchbox").fill("staffed")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url(f"{stack.platform}/console/?q=staffed&status=")
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(NAME)
        expect(rows.first).to_contain_text(OWNER_EMAIL)
        expect(rows.first).to_contain_text("Free")
        expect(rows.first).to_contain_text("Active")
        journey.shot(page, "console-search", tour="14-staff-console")
        page.get_by_role("link", name=NAME).click()
        expect(page.get_by_role("heading", name=NAME)).to_contain_text("Active")
        expect(page.locator(".facts")).to_contain_text("Free (5% fee)")
        journey.shot(page, "tenant-detail")

        # Change its plan.
        page.get_by_label("Plan").select_option(label="Pro")
        page.get_by_role("button", name="Change plan").click()
        expect(page.get_by_text(f"{NAME} plan changed.")).to_be_visible()
        expect(page.locator(".facts")).to_contain_text("Pro (3% fee)")
        journey.shot(page, "plan-changed")

        # Suspend it: the site shows the suspended page, and bookings are refused.
        page.get_by_label("Reason for suspension").fill(REASON)
        page.get_by_role("button", name="Suspend").click()
        expect(page.get_by_text(f"{NAME} is suspended.")).to_be_visible()
        expect(page.get_by_role("heading", name=NAME)).to_contain_text("Suspended")
        expect(page.locator(".facts")).to_contain_text(REASON)
        journey.shot(page, "suspended")

        visitor = browser.new_context(timezone_id="UTC").new_page()
        visitor.set_default_timeout(TIMEOUT)
        for url in (f"{site}/", booking_page):
            response = visitor.goto(url)
            assert response.status == 403
            expect(visitor.get_by_role("heading", name=f"{NAME} is currently suspended")).to_be_visible()
            expect(visitor.get_by_text("This site is not taking bookings at the moment.")).to_be_visible()
        journey.shot(visitor, "site-suspended", tour="15-suspended-site")
        refused = _book(stack, world, expect_status=403)
        assert refused["code"] == "tenant_suspended"

        # Reactivate it: the site and its booking work again.
        page.get_by_role("button", name="Reactivate").click()
        expect(page.get_by_text(f"{NAME} is active again.")).to_be_visible()
        expect(page.get_by_role("heading", name=NAME)).to_contain_text("Active")
        journey.shot(page, "reactivated")
        response = visitor.goto(f"{site}/")
        assert response.status == 200
        expect(visitor.locator(".hero h1")).to_have_text(NAME)
        visitor.goto(booking_page)
        visitor.wait_for_url(f"{booking_page}?tz=UTC")  # the page follows the visitor's zone
        expect(visitor.get_by_role("heading", name="Intro call")).to_be_visible()
        expect(visitor.locator("label.slot").first).to_be_visible()
        journey.shot(visitor, "site-back")
        booked = _book(stack, world, expect_status=201)
        assert booked["status"] == "confirmed"

        # The audit log shows every step, newest first, with who did it.
        page.get_by_role("link", name="Audit log").click()
        expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
        steps = page.locator("tbody tr").filter(has_text=SLUG)
        expect(steps).to_have_count(4)
        expected = [("Reactivated tenant", STAFF_EMAIL, ()), ("Suspended tenant", STAFF_EMAIL, (f"reason: {REASON}",)),
                    ("Changed plan", STAFF_EMAIL, ("from: Free; to: Pro",)), ("Created tenant", "tests", ())]
        for index, (what, who, details) in enumerate(expected):
            cells = steps.nth(index).locator("td")
            expect(cells.nth(2)).to_have_text(what)
            expect(cells.nth(1)).to_have_text(who)
            for detail in details:
                expect(cells.nth(4)).to_contain_text(detail)
        journey.shot(page, "audit-log", tour="16-audit-log")


def _book(stack, world: World, *, expect_status: int) -> dict:
    """A client's booking of the free call through the public API (to the loopback address, with the
    tenant's host name: only browsers resolve ``*.localhost`` by themselves)."""
    import httpx

    response = httpx.post(stack.url("127.0.0.1", "/api/v1/bookings"), headers={"Host": f"{SLUG}.localhost"},
                          timeout=30, json={
                              "offering_id": world.offering_id, "start": world.slot, "name": "Casey Client",
                              "email": "casey@clients.example", "timezone": "UTC"})
    assert response.status_code == expect_status, response.text[:500]
    return response.json()
