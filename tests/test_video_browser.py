"""Host and client meet in the room in two real browsers (Chromium, fake camera and
microphone): each sees the other's video, chat arrives, a raised hand goes to the top of the
host's list, and the host's mute reaches the client's microphone."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connections

from tests.browser import CHROMIUM, FAKE_MEDIA, AsgiServer, browser_required, shot
from tests.test_booking_concurrency import own_tenant_remove
from tests.video_support import call_now, channel_layers_reset

SLUG = "meet"
HOST = f"{SLUG}.localhost"

pytestmark = pytest.mark.browser

def _open_stays(live) -> int:
    from django_tenants.utils import schema_context

    from tests.test_booking_concurrency import in_own_connection

    def count() -> int:
        from video.models import Attendance

        with schema_context(live.schema):
            return Attendance.objects.filter(call_id=live.pk, left_at__isnull=True).count()

    return in_own_connection(count)


REMOTE_VIDEO_PLAYING = """() => [...document.querySelectorAll('.tile:not(.self) video')]
    .some(v => v.videoWidth > 0 && v.readyState >= 2)"""


@pytest.fixture(scope="module")
def meeting(django_db_setup, django_db_blocker):
    browser_required()
    from tenants.services import tenant_provision

    channel_layers_reset()
    with django_db_blocker.unblock():
        tenant = tenant_provision(slug=SLUG, name="Meet", owner_name="Mia Owner", owner_email="mia@meet.example",
                                  owner_password="meet-owner-pass-1", source="tests").tenant
        live = call_now(tenant.schema_name, HOST, starts_in=-timedelta(minutes=2))
        try:
            with AsgiServer() as server:
                yield live, server
        finally:
            connections.close_all()
            own_tenant_remove(tenant.pk)
            channel_layers_reset()


def test_host_and_client_meet_with_video_chat_hands_and_moderation(meeting):
    from playwright.sync_api import expect, sync_playwright

    live, server = meeting
    site = server.url(HOST)
    client_info = live.clients[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FAKE_MEDIA)
        try:
            host_page = browser.new_context(permissions=["camera", "microphone"]).new_page()
            host_page.goto(f"{site}/login/")
            host_page.fill("input[name=username]", live.host_email)
            host_page.fill("input[name=password]", live.host_password)
            host_page.click("form button[type=submit]")
            host_page.wait_for_url(f"{site}/dashboard/")
            host_page.goto(f"{site}/calls/{live.public_id}/room/")
            expect(host_page.locator("#room-status")).to_have_text("You are in the call.", timeout=15000)

            client_page = browser.new_context(permissions=["camera", "microphone"],
                                              timezone_id="America/New_York").new_page()
            client_page.goto(f"{site}/calls/{live.public_id}/room/?token={client_info.token}")
            expect(client_page.locator("#room-status")).to_have_text("You are in the call.", timeout=15000)
            expect(client_page.locator("#host-notice")).to_be_hidden()

            # Each browser receives the other's video.
            host_page.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=45000)
            client_page.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=45000)
            shot(host_page, "room-host-sees-client")
            shot(client_page, "room-client-sees-host")

            client_page.fill("#chat-text", "Hello from the client")
            client_page.click("#chat-form button[type=submit]")
            expect(host_page.locator("#chat-log")).to_contain_text("Hello from the client")

            client_page.click("#hand")
            first = host_page.locator("#people li").first
            expect(first).to_have_attribute("data-key", client_info.public_id)
            expect(first).to_have_attribute("data-hand", "1")
            expect(first).to_contain_text("Hand raised")

            expect(client_page.locator("#mic")).to_have_attribute("data-state", "on")
            host_page.get_by_role("button", name=f"Mute {client_info.name}").click()
            expect(client_page.locator("#mic")).to_have_attribute("data-state", "muted")
            expect(client_page.locator("#room-status")).to_have_text("The host muted your microphone.")
            expect(host_page.locator(f'#people li[data-key="{client_info.public_id}"] .mic-state')).to_have_text(
                "Muted")
            shot(host_page, "room-host-after-moderation")

            client_page.click("#leave")
            expect(client_page.locator("#after-message")).to_have_text("You left the call.")
            expect(client_page.locator("#rating")).to_be_visible()
            client_page.check("#rating input[value='5']")
            client_page.click("#rating button[type=submit]")
            expect(client_page.locator("#rating-result")).to_have_text("Thank you for your rating.")
            expect(host_page.locator("#people li")).to_have_count(1)

            # Closing the tab (no goodbye) ends the host's stay too.
            host_page.close()
            deadline = time.monotonic() + 10
            while _open_stays(live) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _open_stays(live) == 0
        finally:
            browser.close()


OFFERS_COUNTED = """(() => {
    const Original = window.RTCPeerConnection;
    window.offersMade = 0;
    window.RTCPeerConnection = function (...args) {
        const pc = new Original(...args);
        pc.addEventListener("signalingstatechange", () => {
            if (pc.signalingState === "have-local-offer") window.offersMade += 1;
        });
        return pc;
    };
    window.RTCPeerConnection.prototype = Original.prototype;
})()"""


def test_whoever_joins_offers_and_those_already_in_answer(meeting, django_db_blocker):
    """Only the newcomer's browser offers a connection: two offers crossing would be rolled back
    on one side, where Chromium sometimes then gathers no ICE candidates — no video, ever."""
    from playwright.sync_api import expect, sync_playwright

    _, server = meeting
    with django_db_blocker.unblock():
        live = call_now(f"t_{SLUG}", HOST, starts_in=-timedelta(minutes=2))
    site = server.url(HOST)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FAKE_MEDIA)
        try:
            host_context = browser.new_context(permissions=["camera", "microphone"])
            host_context.add_init_script(OFFERS_COUNTED)
            host_page = host_context.new_page()
            host_page.goto(f"{site}/login/")
            host_page.fill("input[name=username]", live.host_email)
            host_page.fill("input[name=password]", live.host_password)
            host_page.click("form button[type=submit]")
            host_page.wait_for_url(f"{site}/dashboard/")
            host_page.goto(f"{site}/calls/{live.public_id}/room/")
            expect(host_page.locator("#room-status")).to_have_text("You are in the call.", timeout=15000)

            client_context = browser.new_context(permissions=["camera", "microphone"])
            client_context.add_init_script(OFFERS_COUNTED)
            client_page = client_context.new_page()
            client_page.goto(f"{site}/calls/{live.public_id}/room/?token={live.clients[0].token}")
            host_page.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=30000)
            client_page.wait_for_function(REMOTE_VIDEO_PLAYING, timeout=30000)
            assert client_page.evaluate("window.offersMade") == 1
            assert host_page.evaluate("window.offersMade") == 0
        finally:
            browser.close()
