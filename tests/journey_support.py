"""The whole product in a real browser, as in ``make dev``: the ASGI app (HTTP + WebSockets) on a
loopback port, the Stripe, Google, Microsoft, DNS and Zoom emulators mounted on its platform host,
Celery running tasks in-process, and a mail catcher writing ``.eml`` files that ``/sandbox/mail/``
shows. Data is committed (the journeys are not wrapped in a test transaction): each journey module
names the tenant slugs it creates, and they are dropped afterwards.

Hosts: the platform is ``localhost:<port>``, tenants ``<slug>.localhost:<port>`` (Chromium resolves
``*.localhost`` to loopback by itself). Each step may keep a screenshot (``Journey.shot``) under
``.local/test-artifacts/journeys/``; ``make screenshots`` copies a curated set into
``docs/screenshots/``."""

from __future__ import annotations

import email
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, CHROMIUM, FAKE_MEDIA, AsgiServer, browser_required

JOURNEY_ARTIFACTS = ARTIFACTS / "journeys"


@dataclass
class Stack:
    """The running app: URLs, and the mail it sent."""

    port: int
    mail_dir: Path

    def url(self, host: str = "localhost", path: str = "") -> str:
        return f"http://{host}:{self.port}{path}"

    def tenant_url(self, slug: str, path: str = "") -> str:
        return self.url(f"{slug}.localhost", path)

    @property
    def platform(self) -> str:
        return self.url()

    def messages(self, *, to: str | None = None) -> list[Message]:
        """Every email the app sent (oldest first), optionally only those to ``to``."""
        found = []
        for path in sorted(self.mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes())
            if to is None or to.lower() in (message.get("X-Envelope-To", "") + message.get("To", "")).lower():
                found.append(message)
        return found

    def wait_for_mail(self, *, to: str, subject: str = "", timeout: float = 15.0) -> Message:
        """The newest email to ``to`` whose subject holds ``subject``, waiting for it: emails leave
        through the outbox after their transaction commits."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages(to=to) if subject.lower() in str(m.get("Subject", "")).lower()]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                subjects = [m.get("Subject") for m in self.messages(to=to)]
                raise AssertionError(f"no email to {to} about {subject!r}; got {subjects}")
            time.sleep(0.2)

    def api(self, method: str, path: str, *, host: str = "localhost", token: str | None = None,
            body: dict | None = None, expect: int | tuple[int, ...] | None = None) -> dict | list | None:
        """A JSON request to the running app (``/api/v1`` paths on tenant hosts, sandbox paths on the
        platform host), as a script would send it."""
        import httpx

        # httpx does not resolve *.localhost as browsers do: go to loopback and name the host.
        headers = {"Host": f"{host}:{self.port}", **({"Authorization": f"Bearer {token}"} if token else {})}
        response = httpx.request(method, f"http://127.0.0.1:{self.port}{path}", json=body, headers=headers,
                                 timeout=30)
        if expect is not None:
            wanted = expect if isinstance(expect, tuple) else (expect,)
            assert response.status_code in wanted, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content and "json" in response.headers.get("content-type", "") else None


def _settings_for(port: int, mail_dir: Path, smtp_port: int) -> dict:
    base = f"http://localhost:{port}"
    google, microsoft = f"{base}/sandbox/google", f"{base}/sandbox/microsoft"
    return {
        "PUBLIC_URL_PORT": str(port),
        "WAGTAILADMIN_BASE_URL": base,
        # Stripe: the emulator, with signed webhooks delivered back to this app.
        "STRIPE_API_BASE": f"{base}/sandbox/stripe", "STRIPE_WEBHOOK_URL": f"{base}/webhooks/stripe",
        "STRIPE_MAX_NETWORK_RETRIES": 0,
        # Calendars: the emulators, pushing to this app.
        "CALENDAR_SANDBOX": True, "CALENDAR_PUSH_BASE_URL": base, "CALENDAR_ICS_ALLOW_PRIVATE": True,
        "GOOGLE_AUTH_URL": f"{google}/o/oauth2/v2/auth", "GOOGLE_TOKEN_URL": f"{google}/token",
        "GOOGLE_REVOKE_URL": f"{google}/revoke", "GOOGLE_USERINFO_URL": f"{google}/v1/userinfo",
        "GOOGLE_CALENDAR_API_BASE": f"{google}/calendar/v3",
        "MICROSOFT_AUTHORITY": microsoft, "MICROSOFT_GRAPH_BASE": f"{microsoft}/graph/v1.0",
        "DNS_EMULATED": True, "DNS_SANDBOX": True, "ZOOM_SANDBOX": True,
        # Mail: over SMTP to a catcher whose messages /sandbox/mail/ shows.
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": smtp_port, "EMAIL_USE_TLS": False, "DEV_MAIL_DIR": mail_dir, "MAIL_SANDBOX": True,
    }


@contextmanager
def live_stack(django_db_blocker, *, slugs: tuple[str, ...] = ()) -> Iterator[Stack]:
    """The app running for a journey module; tenants with ``slugs`` are dropped afterwards (also
    before, should an interrupted run have left them)."""
    import socket

    from aiosmtpd.controller import Controller
    from django.db import connections
    from django.test import override_settings

    from devstack.mailcatcher import SaveToDisk
    from tests.video_support import channel_layers_reset

    if os.environ.get("SKIP_JOURNEYS") == "1":
        pytest.skip("SKIP_JOURNEYS=1: the browser journeys are skipped on this run")
    browser_required()
    channel_layers_reset()
    with tempfile.TemporaryDirectory(prefix="journey-mail-") as mail_dir, django_db_blocker.unblock():
        _tenants_drop(slugs)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            smtp_port = probe.getsockname()[1]
        catcher = Controller(SaveToDisk(Path(mail_dir)), hostname="127.0.0.1", port=smtp_port)
        catcher.start()
        server = AsgiServer()
        overrides = override_settings(**_settings_for(server.port, Path(mail_dir), smtp_port))
        overrides.enable()
        try:
            with server:
                yield Stack(port=server.port, mail_dir=Path(mail_dir))
        finally:
            overrides.disable()
            catcher.stop()
            connections.close_all()
            _tenants_drop(slugs)
            channel_layers_reset()


def _tenants_drop(slugs: tuple[str, ...]) -> None:
    from tenants.models import Tenant
    from tests.test_booking_concurrency import own_tenant_remove

    for tenant_id in Tenant.objects.filter(slug__in=slugs).values_list("pk", flat=True):
        own_tenant_remove(tenant_id)


@dataclass
class Journey:
    """One journey's screenshots, numbered in the order they were taken."""

    name: str
    taken: list[Path] = field(default_factory=list)

    def shot(self, page, step: str, *, tour: str | None = None) -> Path:
        """Keep this step's screenshot; ``tour`` names it for the README's tour too, written to
        ``docs/screenshots/<tour>.png`` when ``make screenshots`` runs (TOUR_SCREENSHOTS set)."""
        directory = JOURNEY_ARTIFACTS / self.name
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{len(self.taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        tour_dir = os.environ.get("TOUR_SCREENSHOTS")
        if tour and tour_dir:
            Path(tour_dir).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(tour_dir) / f"{tour}.png"))
        return path


@contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium through Playwright, with a fake camera and microphone."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FAKE_MEDIA)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page, site: str, email_address: str, password: str) -> None:
    page.goto(f"{site}/login/")
    page.fill("input[name=username]", email_address)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{site}/dashboard/")


def links_in(message: Message) -> list[str]:
    """The http(s) links of an email's plain-text part."""
    import re

    text = "\n".join(part.get_payload(decode=True).decode() for part in message.walk()
                     if part.get_content_type() == "text/plain")
    return re.findall(r"https?://[^\s<>\"]+", text)


def dumps(value) -> str:
    return json.dumps(value, indent=2, default=str)
