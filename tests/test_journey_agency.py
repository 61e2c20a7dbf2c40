"""Journey 1, the agency: signs up on the platform, lands on its dashboard, dresses its site in a
theme preset with its own primary colour, rewrites the home page's hero in the site editor, and
invites a consultant, whose emailed link opens the invitation page in another browser."""

from __future__ import annotations

import re

import pytest

from tests.journey_support import Journey, chromium, links_in, live_stack

pytestmark = [pytest.mark.browser, pytest.mark.journey]

SLUG = "northwind"
OWNER_EMAIL = "olivia@northwind.example"
OWNER_PASSWORD = "northwind-owner-pass-1"
CONSULTANT_EMAIL = "cody@northwind.example"
PRIMARY = "#6b2a8a"  # a deep purple: readable as link text on the light page (WCAG AA)
PRIMARY_RGB = "rgb(107, 42, 138)"
HEADING = "Northwind advisers for growing companies"
TIMEOUT = 30_000


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker):
    with live_stack(django_db_blocker, slugs=(SLUG,)) as running:
        yield running


def test_agency_signs_up_brands_its_site_edits_its_home_page_and_invites_a_consultant(stack):
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    journey = Journey("agency")
    site = stack.tenant_url(SLUG)
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(TIMEOUT)

        # Sign-up on the platform host: the owner lands signed in on the new site's dashboard.
        page.goto(f"{stack.platform}/signup/")
        expect(page.get_by_role("heading", name="Create your site")).to_be_visible()
        page.get_by_label("Business name").fill("Northwind Advisory")
        page.get_by_label("Subdomain").fill(SLUG)
        page.get_by_label("Your name").fill("Olivia North")
        page.get_by_label("Email").fill(OWNER_EMAIL)
        page.get_by_label("Password").fill(OWNER_PASSWORD)
        journey.shot(page, "signup", tour="01-agency-signs-up")
        page.get_by_role("button", name="Create my site").click()
        page.wait_for_url(f"{site}/dashboard/")
        expect(page.get_by_role("heading", name="Welcome, Olivia")).to_be_visible()
        expect(page.get_by_text(f"Your site: {site}")).to_be_visible()
        journey.shot(page, "dashboard")

        # Theme: a preset, then a primary colour of its own; the preview follows before saving.
        page.get_by_role("link", name="Theme").click()
        expect(page.get_by_role("heading", name="Theme", exact=True)).to_be_visible()
        preview = page.locator("#theme-preview")
        # The page's script shows a colour picker beside each colour once the live preview runs.
        expect(page.get_by_label("Primary colour: colour picker")).to_be_visible()
        page.get_by_label("Preset").select_option("calm")
        expect(page.get_by_label("Primary colour", exact=True)).to_have_value("#2f6f6a")
        expect(preview).to_have_attribute("style", re.compile(r"--primary:\s*#2f6f6a"))
        page.get_by_label("Primary colour", exact=True).fill(PRIMARY)
        expect(preview).to_have_attribute("style", re.compile(rf"--primary:\s*{PRIMARY}"))
        expect(preview.locator(".tp-button")).to_have_css("background-color", PRIMARY_RGB)
        expect(page.locator("#contrast-report")).to_contain_text(f"Links: {PRIMARY} on the light")
        journey.shot(page, "theme-preview", tour="02-theme-live-preview")
        page.get_by_role("button", name="Save theme").click()
        expect(page.get_by_text("Theme saved")).to_be_visible()
        expect(page.get_by_label("Preset")).to_have_value("calm")
        expect(page.get_by_label("Primary colour", exact=True)).to_have_value(PRIMARY)
        journey.shot(page, "theme-saved")

        # The landing page wears it.
        page.goto(f"{site}/")
        assert page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--primary').trim()") == PRIMARY
        expect(page.locator(".hero a.button")).to_have_css("background-color", PRIMARY_RGB)
        expect(page.locator(".hero h1")).to_have_text("Northwind Advisory")
        journey.shot(page, "landing-themed")

        # The site editor: the provisioned home page's hero gets a new heading, published.
        page.goto(f"{site}/dashboard/")
        page.get_by_role("link", name="Site", exact=True).click()
        page.wait_for_url(f"{site}/cms/")
        page.goto(f"{site}/cms/pages/")
        journey.shot(page, "cms")
        page.get_by_role("link", name="Northwind Advisory").first.click()
        page.wait_for_url(re.compile(r"/cms/pages/\d+/edit/"))
        heading = page.locator("#body-0-value-heading")
        expect(heading).to_have_value("Northwind Advisory")
        heading.fill(HEADING)
        journey.shot(page, "cms-edit-hero", tour="03-site-editor")
        page.get_by_role("button", name="More actions").last.click()
        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_text("has been published")).to_be_visible()
        journey.shot(page, "cms-published")

        # The public landing page shows it.
        page.goto(f"{site}/")
        expect(page.locator(".hero h1")).to_have_text(HEADING)
        journey.shot(page, "landing-new-hero", tour="04-branded-landing-page")

        # The Team page: the Free plan counts the owner as its one consultant, so the invitation
        # is refused with the reason; once the platform moves the agency to its Agency plan, it goes.
        page.goto(f"{site}/dashboard/")
        page.get_by_role("link", name="Team").click()
        expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
        page.get_by_label("Email").fill(CONSULTANT_EMAIL)
        page.get_by_label("Role").select_option("consultant")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.locator("#id_email-error")).to_have_text(
            "Your plan allows 1 consultant (you included). To invite more, ask Consultio to move your site to a "
            "larger plan.")
        journey.shot(page, "team-plan-limit")
        _move_to_plan(SLUG, "Agency")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_text(f"Invitation sent to {CONSULTANT_EMAIL}.")).to_be_visible()
        expect(page.locator("table").last).to_contain_text(CONSULTANT_EMAIL)
        journey.shot(page, "team-invited", tour="05-team-invitation")

    # The email arrives with a link that opens the invitation in a browser that was never signed in.
    message = stack.wait_for_mail(to=CONSULTANT_EMAIL, subject="invited you")
    assert message["Subject"] == "Olivia North invited you to Northwind Advisory"
    link = next(url for url in links_in(message) if "/invite/" in url)
    assert link.startswith(f"{site}/invite/")
    with chromium() as browser:
        page = browser.new_context().new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(f"{stack.platform}/sandbox/mail/")
        expect(page.get_by_text("Olivia North invited you to Northwind Advisory")).to_be_visible()
        journey.shot(page, "mail-catcher")
        page.goto(link)
        expect(page.get_by_role("heading", name="Join Northwind Advisory")).to_be_visible()
        expect(page.get_by_text(f"Olivia North invited {CONSULTANT_EMAIL} as consultant")).to_be_visible()
        journey.shot(page, "invitation")
        page.get_by_label("Your name").fill("Cody Consultant")
        page.get_by_label("Password").fill("cody-consultant-pass-1")
        page.get_by_role("button", name="Create my account").click()
        # Accepted: the new consultant is signed in and sent on to complete their profile.
        page.wait_for_url(f"{site}/profile/")
        expect(page.get_by_text("Welcome to Northwind Advisory!")).to_be_visible()
        journey.shot(page, "consultant-welcome")


def _move_to_plan(slug: str, plan_name: str) -> None:
    """What platform staff do in the console (journey 6 drives it in the browser)."""
    from tenants.models import Plan, Tenant
    from tenants.services import tenant_change_plan
    from tests.test_booking_concurrency import in_own_connection

    in_own_connection(lambda: tenant_change_plan(
        tenant=Tenant.objects.get(slug=slug), plan=Plan.objects.get(name=plan_name), actor=None))
