import pytest

from tests.journey_support import Journey, chromium, live_stack

pytestmark = [pytest.mark.browser, pytest.mark.journey]


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker):
    with live_stack(django_db_blocker, slugs=("smoke",)) as running:
        yield running


def test_stack(stack):
    journey = Journey("smoke")
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{stack.platform}/signup/")
        page.fill("input[name=name]", "Smoke Test Co")
        page.fill("input[name=slug]", "smoke")
        page.fill("input[name=owner_name]", "Sam Smoke")
        page.fill("input[name=owner_email]", "sam@smoke.example")
        page.fill("input[name=owner_password]", "smoke-owner-pass-1")
        page.click("form button[type=submit]")
        page.wait_for_url(stack.tenant_url("smoke", "/dashboard/"), timeout=30000)
        journey.shot(page, "dashboard")
        stack.wait_for_mail(to="sam@smoke.example")
        page.goto(f"{stack.platform}/sandbox/mail/")
        assert "sam@smoke.example" in page.content()
