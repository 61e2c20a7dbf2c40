"""Journey 7, a client on a phone (390 × 844 CSS px, touch, 3× pixels): the landing page, the
consultant's page, a time, the booking form and the confirmation. At every step nothing is wider
than the screen, and every control of the page's content can be seen and tapped: inside the
screen and at least 24 × 24 CSS px (WCAG 2.5.8, target size minimum)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.journey_support import Journey, chromium, live_stack

pytestmark = [pytest.mark.browser, pytest.mark.journey]

SLUG = "pocket"
NAME = "Pocket Coaching"
OWNER_EMAIL = "pia@pocket.example"
CLIENT_EMAIL = "maximilian.mobile@pocket-clients.example"
CLIENT_ZONE = "Europe/Lisbon"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 3, "timezone_id": CLIENT_ZONE, "locale": "pt-PT"}
TIMEOUT = 30_000
MIN_TARGET = 24

# The page's width and the elements reaching past the right edge of the screen. A phone widens its
# layout viewport (window.innerWidth) to fit content that overflows, so the screen's own width
# (the root element's clientWidth) is the measure.
OVERFLOW = """() => ({
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    screenWidth: document.documentElement.clientWidth,
    wide: [...document.querySelectorAll("body *")]
        .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
             + (el.className && typeof el.className === "string" ? "." + el.className.trim().replace(/\\s+/g, ".") : "")
             + " right=" + Math.round(el.getBoundingClientRect().right)),
})"""

# Every control of the main content a finger must reach. A radio button or checkbox is tapped through
# its label; a link inside a sentence is exempt (WCAG 2.5.8 "inline"), and so is a control not shown.
TARGETS = """(minimum) => {
    const controls = document.querySelectorAll(
        "main a[href], main button, main input:not([type=hidden]), main select, main textarea, main summary");
    const inSentence = (el) => getComputedStyle(el).display === "inline" && [...el.parentElement.childNodes]
        .some(node => node !== el && node.nodeType === Node.TEXT_NODE && node.textContent.trim());
    const problems = [];
    for (const el of controls) {
        if (!el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
        if (el.tagName === "A" && inSentence(el)) continue;
        const target = (el.type === "radio" || el.type === "checkbox") && el.closest("label") || el;
        const box = target.getBoundingClientRect();
        const name = el.tagName.toLowerCase() + (el.name ? `[name=${el.name}]` : "")
            + ` “${(el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 40)}”`;
        if (box.left < -1 || box.right > document.documentElement.clientWidth + 1) {
            problems.push(`${name} outside the screen: ${Math.round(box.left)}–${Math.round(box.right)} px`);
        }
        if (box.width < minimum - 0.5 || box.height < minimum - 0.5) {
            problems.push(`${name} is ${box.width.toFixed(1)} × ${box.height.toFixed(1)} px`);
        }
    }
    return problems;
}"""


@dataclass
class World:
    site: str
    consultant: str  # the owner's full name
    profile_slug: str


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with live_stack(django_db_blocker, slugs=(SLUG,)) as stack:
        yield _arrange(stack.tenant_url(SLUG))


def _arrange(site: str) -> World:
    """An owner who consults: a complete profile with a photo, hours every day, a free call."""
    from django_tenants.utils import schema_context

    from accounts.models import User
    from booking.availability import PeriodIn, availability_replace
    from booking.offerings import offering_create
    from consultants.services import profile_photo_set
    from tenants.services import tenant_provision

    tenant = tenant_provision(slug=SLUG, name=NAME, owner_name="Pia Pocket", owner_email=OWNER_EMAIL,
                              owner_password="pocket-owner-pass-1", source="tests").tenant
    with schema_context(tenant.schema_name):
        owner = User.objects.get(email=OWNER_EMAIL)
        profile = owner.profile
        profile.headline = "Career coaching for people on the move"
        profile.description = "Short, practical sessions to plan your next step, wherever you are."
        profile.languages = ["en", "pt"]
        profile.save(update_fields=["headline", "description", "languages"])
        profile_photo_set(profile=profile, upload=_portrait())
        availability_replace(consultant=owner, time_zone="Europe/Berlin",
                             weekly=[(day, PeriodIn("08:00", "20:00")) for day in range(7)], overrides=[])
        offering_create(consultant=owner, kind="individual", data={
            "title": "Quick check-in", "description": "Twenty minutes on what matters most right now.",
            "duration_minutes": 20, "price_amount": 0, "currency": "EUR", "min_notice_minutes": 60})
        return World(site=site, consultant=owner.full_name, profile_slug=profile.slug)


def _portrait():
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (600, 800), (200, 120, 60)).save(buffer, "PNG")
    return SimpleUploadedFile("pia.png", buffer.getvalue(), content_type="image/png")


def _check_fits(page, where: str) -> None:
    """Nothing wider than the screen, and every control of the content reachable by a finger."""
    layout = page.evaluate(OVERFLOW)
    assert layout["screenWidth"] == PHONE["viewport"]["width"], f"{where}: {layout}"
    assert layout["scrollWidth"] <= layout["innerWidth"] == layout["screenWidth"], \
        f"{where}: the page scrolls sideways: {layout}"
    assert not layout["wide"], f"{where}: wider than the screen: {layout['wide']}"
    problems = page.evaluate(TARGETS, MIN_TARGET)
    assert not problems, f"{where}: controls out of reach or too small:\n  " + "\n  ".join(problems)


def test_client_books_on_a_phone_with_nothing_overflowing_and_every_control_reachable(world):
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    journey = Journey("mobile")
    with chromium() as browser:
        page = browser.new_context(**PHONE).new_page()
        page.set_default_timeout(TIMEOUT)

        page.goto(f"{world.site}/")
        expect(page.locator(".hero h1")).to_have_text(NAME)
        expect(page.get_by_role("link", name=world.consultant)).to_be_visible()
        journey.shot(page, "landing")
        _check_fits(page, "landing page")

        page.get_by_role("link", name=world.consultant).tap()
        page.wait_for_url(f"{world.site}/c/{world.profile_slug}/")
        expect(page.get_by_role("heading", name=world.consultant)).to_be_visible()
        expect(page.get_by_role("heading", name="Quick check-in")).to_be_visible()
        journey.shot(page, "consultant")
        _check_fits(page, "consultant page")

        page.locator("main").get_by_role("link", name="Book").tap()
        # The page follows the phone's own time zone, not the consultant's.
        page.wait_for_url(re.compile(r"/book/[0-9a-f-]+/\?tz=Europe%2FLisbon$"))
        expect(page.get_by_role("heading", name="Quick check-in")).to_be_visible()
        expect(page.get_by_label("Times shown in")).to_have_value(CLIENT_ZONE)
        # A time two days ahead: far enough that the booking can still be moved (the cut-off is a day).
        slot = page.locator(".day").nth(2).locator("label.slot").first
        expect(slot).to_be_visible()
        journey.shot(page, "slots", tour="08-phone-slot-picker")
        _check_fits(page, "slot picker")

        slot.tap()
        expect(slot.locator("input")).to_be_checked()
        time_text = re.search(r"\d\d:\d\d", slot.inner_text()).group()
        page.get_by_label("Your name").fill("Max Mobile")
        page.get_by_label("Email").fill(CLIENT_EMAIL)
        page.get_by_role("button", name="Book").scroll_into_view_if_needed()
        journey.shot(page, "booking-form")
        _check_fits(page, "booking form")

        page.get_by_role("button", name="Book").tap()
        page.wait_for_url(f"{world.site}/bookings/**")
        expect(page.get_by_role("heading", name="Quick check-in")).to_be_visible()
        facts = page.locator(".facts")
        expect(facts).to_contain_text(time_text)
        expect(facts).to_contain_text(f"({CLIENT_ZONE})")
        expect(facts).to_contain_text(f"Max Mobile <{CLIENT_EMAIL}>")
        expect(facts).to_contain_text("Confirmed")
        expect(page.get_by_role("link", name="Join the call")).to_be_visible()
        expect(page.get_by_role("button", name="Move my call")).to_be_attached()
        journey.shot(page, "confirmation", tour="09-phone-confirmation")
        _check_fits(page, "confirmation")
