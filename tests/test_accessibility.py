"""Accessibility in a real browser: axe-core (vendored, served by the app itself) finds no
serious or critical violations on the pages clients and consultants use; a client books with
the keyboard alone, always seeing where the focus is; and the slot picker names each time by
day and hour, grouped by day, with the chosen one announced as checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.journey_support import Journey, Stack, chromium, live_stack, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.journey]

SLUG = "access"
OWNER_EMAIL = "olivia@access.example"
OWNER_PASSWORD = "access-owner-pass-1"
CLIENT_ZONE = "Europe/London"
AXE = "/static/vendor/axe-core/axe.min.js"
BLOCKING = ("serious", "critical")


@dataclass
class World:
    stack: Stack
    site: str
    profile_slug: str
    offering_id: str
    manage_path: str
    room_path: str
    host_email: str
    host_password: str


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with live_stack(django_db_blocker, slugs=(SLUG,)) as stack:
        yield _arrange(stack)


def _arrange(stack: Stack) -> World:
    """An owner who consults (profile, weekly hours every day, a free intro call), a client's
    booking of it, and a call that is on now for the room."""
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from accounts.models import User
    from booking.availability import PeriodIn, availability_replace
    from booking.offerings import offering_create
    from booking.selectors import offering_slots
    from booking.services import BookingRequest, booking_create
    from consultants.services import profile_photo_set
    from tenants.services import tenant_provision
    from tests.video_support import call_now

    tenant = tenant_provision(slug=SLUG, name="Access Consulting", owner_name="Olivia Access",
                              owner_email=OWNER_EMAIL, owner_password=OWNER_PASSWORD, source="tests").tenant
    with schema_context(tenant.schema_name):
        owner = User.objects.get(email=OWNER_EMAIL)
        profile = owner.profile
        profile.headline = "Plain-language advice for small teams"
        profile.description = "Thirty minutes to untangle what slows your team down."
        profile.languages = ["en"]
        profile.save(update_fields=["headline", "description", "languages"])
        profile_photo_set(profile=profile, upload=_portrait())
        availability_replace(consultant=owner, time_zone="Europe/Kyiv",
                             weekly=[(day, PeriodIn("09:00", "17:00")) for day in range(7)], overrides=[])
        offering = offering_create(consultant=owner, kind="individual", data={
            "title": "Intro call", "description": "A free first conversation.", "duration_minutes": 30,
            "price_amount": 0, "currency": "EUR", "min_notice_minutes": 60})
        today = timezone.now().date()
        later = offering_slots(offering=offering, start=today + timedelta(days=3), end=today + timedelta(days=3),
                               time_zone="Europe/Kyiv", now=timezone.now())
        booked = booking_create(request=BookingRequest(
            offering_id=str(offering.public_id), start=later[-1][0], name="Robin Reader",
            email="robin@readers.example", time_zone=CLIENT_ZONE))
        manage_path = f"/bookings/{booked.participant.public_id}/?token={booked.manage_token}"
        slug, offering_id = profile.slug, str(offering.public_id)
    live = call_now(tenant.schema_name, f"{SLUG}.localhost", starts_in=-timedelta(minutes=2))
    return World(stack=stack, site=stack.tenant_url(SLUG), profile_slug=slug, offering_id=offering_id,
                 manage_path=manage_path, room_path=f"/calls/{live.public_id}/room/",
                 host_email=live.host_email, host_password=live.host_password)


def _portrait():
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (240, 240), (40, 90, 160)).save(buffer, "PNG")
    return SimpleUploadedFile("olivia.png", buffer.getvalue(), content_type="image/png")


def _violations(page) -> list[dict]:
    """axe-core, injected from the app's own static files, on the page as it is now: the
    violations that block someone (impact serious or critical)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE)
    found = page.evaluate("""async () => {
        const results = await axe.run(document, {resultTypes: ["violations"]});
        return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(" ") + " — " + n.failureSummary.split("\\n").slice(1).join(" "))}));
    }""")
    return [v for v in found if v["impact"] in BLOCKING]


def _report(where: str, violations: list[dict]) -> str:
    lines = [f"{where}:"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        lines.extend(f"      {target}" for target in v["targets"])
    return "\n".join(lines)


def _slot_name(value: str, minutes: int = 30) -> str:
    """What a screen reader should hear for the slot starting at ``value`` (ISO), in the client's
    zone: "Thursday 26 November, 09:30 to 10:00"."""
    start = datetime.fromisoformat(value)
    start, end = (moment.astimezone(ZoneInfo(CLIENT_ZONE)) for moment in (start, start + timedelta(minutes=minutes)))
    return f"{start:%A} {start.day} {start:%B}, {start:%H:%M} to {end:%H:%M}"


def _day_name(value: str) -> str:
    """The heading (and group name) of the day of the slot starting at ``value``: "Thu 26 Nov"."""
    start = datetime.fromisoformat(value).astimezone(ZoneInfo(CLIENT_ZONE))
    return f"{start:%a} {start.day} {start:%b}"


def _client_context(browser):
    return browser.new_context(timezone_id=CLIENT_ZONE, locale="en-GB")


def _open_picker(page, world: World) -> None:
    from playwright.sync_api import expect

    page.goto(f"{world.site}/book/{world.offering_id}/")
    page.wait_for_url("**tz=*")  # the page reloads once in the visitor's own zone
    expect(page.get_by_role("group", name="Choose a time")).to_be_visible()


def test_client_and_workspace_pages_have_no_serious_or_critical_violations(world):
    from playwright.sync_api import expect

    journey = Journey("accessibility-axe")
    failures: list[str] = []

    def check(page, step: str) -> None:
        journey.shot(page, step)
        violations = _violations(page)
        if violations:
            failures.append(_report(f"{step} ({page.url})", violations))

    with chromium() as browser:
        client = _client_context(browser).new_page()
        client.goto(f"{world.site}/")
        expect(client.get_by_role("heading", level=1)).to_be_visible()
        check(client, "landing-page")

        client.goto(f"{world.site}/c/{world.profile_slug}/")
        expect(client.get_by_role("heading", name="Olivia Access", level=1)).to_be_visible()
        check(client, "consultant-page")

        _open_picker(client, world)
        check(client, "slot-picker")

        client.get_by_role("radio").first.check()
        client.get_by_label("Your name").fill("Sam Screenreader")
        check(client, "booking-form-slot-chosen")

        client.goto(f"{world.site}{world.manage_path}")
        expect(client.get_by_role("heading", name="Intro call", level=1)).to_be_visible()
        expect(client.get_by_text("Robin Reader")).to_be_visible()
        check(client, "manage-page")

        owner = browser.new_context(locale="en-GB").new_page()
        sign_in(owner, world.site, OWNER_EMAIL, OWNER_PASSWORD)
        expect(owner.get_by_role("heading", level=1)).to_be_visible()
        expect(owner.get_by_text("Robin Reader").first).to_be_visible()
        check(owner, "workspace-dashboard")

        owner.goto(f"{world.site}/calls/")
        expect(owner.get_by_text("Robin Reader").first).to_be_visible()
        check(owner, "calls-list")

        host = browser.new_context(permissions=["camera", "microphone"], locale="en-GB").new_page()
        sign_in(host, world.site, world.host_email, world.host_password)
        host.goto(f"{world.site}{world.room_path}")
        expect(host.locator("#room-status")).to_have_text("You are in the call.", timeout=20000)
        check(host, "video-room-host")

    assert not failures, "axe-core found serious or critical violations:\n" + "\n".join(failures)


def test_slot_picker_names_each_time_by_day_and_announces_the_chosen_one(world):
    from playwright.sync_api import expect

    journey = Journey("accessibility-slot-picker")
    with chromium() as browser:
        page = _client_context(browser).new_page()
        _open_picker(page, world)
        first = page.get_by_role("radio").first
        value = first.get_attribute("value")
        name, day = _slot_name(value), _day_name(value)
        slot = page.get_by_role("radio", name=name, exact=True)
        expect(slot).to_have_count(1)
        expect(slot).not_to_be_checked()
        # The day's times sit in a group named by the day's heading.
        day_group = page.get_by_role("group", name=day, exact=True)
        expect(day_group).to_be_visible()
        expect(day_group.get_by_role("heading", name=day)).to_be_visible()
        expect(day_group.get_by_role("radio", name=name, exact=True)).to_have_count(1)
        journey.shot(page, "slots-by-day")

        slot.check()
        expect(page.get_by_role("radio", name=name, exact=True, checked=True)).to_have_count(1)
        journey.shot(page, "slot-chosen")

        # One choice at a time: taking another time unchecks the first.
        other = page.get_by_role("group", name="Choose a time").get_by_role("radio").nth(1)
        other_name = _slot_name(other.get_attribute("value"))
        page.get_by_role("radio", name=other_name, exact=True).check()
        expect(page.get_by_role("radio", name=other_name, exact=True)).to_be_checked()
        expect(slot).not_to_be_checked()
        journey.shot(page, "another-slot-chosen")


FOCUS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    return {tag: el.tagName.toLowerCase(), type: el.type || "", name: el.name || "", value: el.value || "",
            text: (el.innerText || "").trim(), visible: el.matches(":focus-visible"),
            outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0};
}"""

FOCUS_RULES = """() => [...document.styleSheets].flatMap(sheet => [...sheet.cssRules])
    .map(rule => rule.cssText).filter(text => text.includes(":focus"))"""


def test_a_client_books_with_the_keyboard_alone_and_always_sees_the_focus(world):
    from playwright.sync_api import expect

    journey = Journey("accessibility-keyboard")
    with chromium() as browser:
        page = _client_context(browser).new_page()
        _open_picker(page, world)
        journey.shot(page, "picker")
        # The site's style shows the focus and never takes the outline away.
        rules = page.evaluate(FOCUS_RULES)
        assert any(":focus-visible" in rule and "outline" in rule for rule in rules), rules
        assert not [rule for rule in rules if re.search(r"outline(-style|-width)?: (none|0(px)?)\b", rule)], rules
        keyboard = page.keyboard

        def tab_to(wanted, limit: int = 40) -> dict:
            for _ in range(limit):
                keyboard.press("Tab")
                focus = page.evaluate(FOCUS)
                assert focus is not None, "the focus left the page"
                assert focus["visible"] and focus["outline"], f"no visible focus on {focus}"
                if wanted(focus):
                    return focus
            raise AssertionError("never reached by Tab")

        slot = tab_to(lambda f: f["type"] == "radio" and f["name"] == "start")
        keyboard.press("Space")
        chosen = page.get_by_role("radio", name=_slot_name(slot["value"]), exact=True)
        expect(chosen).to_be_checked()
        journey.shot(page, "slot-chosen")

        tab_to(lambda f: f["name"] == "name")
        keyboard.type("Kai Keys")
        tab_to(lambda f: f["name"] == "email")
        keyboard.type("kai@keys.example")
        tab_to(lambda f: f["name"] == "message")
        keyboard.type("Booked without a mouse.")
        tab_to(lambda f: f["tag"] == "button" and f["text"] == "Book")
        journey.shot(page, "form-filled")
        keyboard.press("Enter")

        page.wait_for_url("**/bookings/**")
        expect(page.get_by_role("heading", name="Intro call", level=1)).to_be_visible()
        expect(page.get_by_text("Confirmed", exact=True)).to_be_visible()
        expect(page.get_by_text("Kai Keys <kai@keys.example>")).to_be_visible()
        start = datetime.fromisoformat(slot["value"]).astimezone(ZoneInfo(CLIENT_ZONE))
        expect(page.locator(".facts")).to_contain_text(f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}")
        journey.shot(page, "confirmation")
    world.stack.wait_for_mail(to="kai@keys.example", subject="Booking confirmed: Intro call")


def test_every_theme_preset_keeps_the_client_pages_free_of_serious_violations(world, django_db_blocker):
    """Colours come from the tenant's theme: the other presets (dark "bold" among them) pass too."""
    from django_tenants.utils import tenant_context
    from playwright.sync_api import expect

    from tenants.models import Tenant
    from tests.test_booking_concurrency import in_own_connection
    from themes.services import theme_update

    def preset_use(name: str) -> None:
        def update() -> None:
            tenant = Tenant.objects.get(slug=SLUG)
            with tenant_context(tenant):
                theme_update({"preset": name}, tenant=tenant)

        with django_db_blocker.unblock():
            in_own_connection(update)  # beside the browser's event loop, in a thread of its own

    journey = Journey("accessibility-themes")
    failures: list[str] = []
    try:
        with chromium() as browser:
            page = _client_context(browser).new_page()
            for preset in ("calm", "corporate", "bold"):
                preset_use(preset)
                page.goto(f"{world.site}/")
                expect(page.get_by_role("heading", level=1)).to_be_visible()
                journey.shot(page, f"{preset}-landing-page")
                if violations := _violations(page):
                    failures.append(_report(f"{preset}: landing page", violations))
                _open_picker(page, world)
                page.get_by_role("radio").first.check()
                journey.shot(page, f"{preset}-slot-chosen")
                if violations := _violations(page):
                    failures.append(_report(f"{preset}: slot picker", violations))
    finally:
        preset_use("classic")
    assert not failures, "axe-core found serious or critical violations:\n" + "\n".join(failures)
