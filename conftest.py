"""Test set-up shared by every test module.

The pattern (see the README, "Writing tests"):

- The test database is created once per run by ``migrate``, which also migrates
  the template schema.
- Two tenants, ``alpha`` and ``beta``, are provisioned once per session (cloned,
  so it takes well under a second) and committed. Use the ``tenant_alpha`` /
  ``tenant_beta`` fixtures, and the ``alpha_host`` / ``beta_host`` names for
  requests through the test client.
- Every test that uses the database runs in a transaction that is rolled back,
  so whatever a test writes — including whole schemas it provisions — is gone
  afterwards. Never use ``transactional_db``: its flush would delete the
  session tenants' rows from the public schema.
- The connection is reset to the public schema around every test; use
  ``tenant_context(tenant)`` to read or write inside a tenant schema.
"""

from __future__ import annotations

import email
import os
import tempfile
from email.message import Message

import pytest
from django.conf import settings
from django.db import connection


@pytest.fixture(scope="session", autouse=True)
def _isolated_files_and_keys():
    """Keep the suite's uploaded files, Redis keys and webhooks apart from a running `make dev`."""
    import shutil

    from django.test import override_settings

    media = tempfile.mkdtemp(prefix="consultio-test-media-")
    prefix = f"consultio-test-{os.getpid()}"
    # The cache too: entries of an earlier run (Wagtail's renditions, say) would point at files
    # of that run's media folder.
    caches = {alias: {**config, "KEY_PREFIX": prefix} for alias, config in settings.CACHES.items()}
    # No webhook leaves the suite unless a test points it at its own receiver.
    # No spare schemas: tests provision inside transactions (the pool has its own test).
    with override_settings(MEDIA_ROOT=media, REDIS_KEY_PREFIX=prefix, CACHES=caches, STRIPE_WEBHOOK_URL="",
                           TENANT_SPARE_SCHEMAS=0):
        yield
    shutil.rmtree(media, ignore_errors=True)

ALPHA_OWNER_PASSWORD = "alpha-owner-password-1"
BETA_OWNER_PASSWORD = "beta-owner-password-1"


def host(slug: str) -> str:
    return f"{slug}.{settings.PLATFORM_DOMAIN}"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from tenants.services import tenant_provision

    created = None
    with django_db_blocker.unblock():
        if not connection.settings_dict["NAME"].startswith("test_"):
            # Only tests on committed data were collected (room sockets, browsers): they use no
            # ``db`` fixture, so pytest-django created no test database. Create it here.
            from django.test.utils import setup_databases

            created = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        name = connection.settings_dict["NAME"]
        assert name.startswith("test_"), f"refusing to provision test tenants in {name!r}"
        tenant_provision(slug="alpha", name="Alpha Advisory", owner_name="Alice Alpha",
                         owner_email="alice@alpha.example", owner_password=ALPHA_OWNER_PASSWORD,
                         source="tests")
        tenant_provision(slug="beta", name="Beta Coaching", owner_name="Bob Beta",
                         owner_email="bob@beta.example", owner_password=BETA_OWNER_PASSWORD,
                         source="tests")
    yield
    if created is not None:
        from django.test.utils import teardown_databases

        with django_db_blocker.unblock():
            teardown_databases(created, verbosity=0)


@pytest.fixture(autouse=True)
def _public_schema():
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture
def tenant_alpha(db):
    from tenants.models import Tenant

    return Tenant.objects.get(slug="alpha")


@pytest.fixture
def tenant_beta(db):
    from tenants.models import Tenant

    return Tenant.objects.get(slug="beta")


# Requests through the test client resolve the host in the database, hence ``db``.
@pytest.fixture
def alpha_host(db) -> str:
    return host("alpha")


@pytest.fixture
def beta_host(db) -> str:
    return host("beta")


@pytest.fixture
def platform_host(db) -> str:
    return settings.PLATFORM_DOMAIN


@pytest.fixture
def staff_user(db):
    from accounts.models import User

    return User.objects.create_superuser(
        email="staff@platform.example", password="staff-password-1", full_name="Sam Staff",
        role=User.Role.STAFF,
    )


@pytest.fixture
def staff_client(client, staff_user, platform_host):
    response = client.post(
        "/console/login/", {"username": "staff@platform.example", "password": "staff-password-1"},
        HTTP_HOST=platform_host,
    )
    assert response.status_code == 302, response.content
    return client


@pytest.fixture(autouse=True)
def _fresh_signin_counters():
    from core.redis import redis_client

    client = redis_client()
    keys = list(client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:signin:*")) + list(
        client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:rate:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="session", autouse=True)
def _celery_in_process():
    """Tasks run in the test process, in the test's transaction: a worker process
    could not see rows that the test never commits. The schema still travels in
    the task headers, as it does to a real worker."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield


class Mailbox(list):
    """Messages received by the test SMTP server, parsed."""

    def bodies(self, message: Message) -> str:
        parts = [p.get_payload(decode=True).decode() for p in message.walk() if p.get_content_type() == "text/plain"]
        return "\n".join(parts)

    def links(self, message: Message) -> list[str]:
        import re

        return re.findall(r"https?://\S+", self.bodies(message))


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on loopback; emails go over the wire as in production."""
    from aiosmtpd.controller import Controller

    received: list[bytes] = []
    peers: list[tuple] = []  # the client address of each message: one per SMTP connection

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            received.append(envelope.original_content or envelope.content)
            peers.append(session.peer)
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    controller.received = received
    controller.peers = peers
    yield controller
    controller.stop()


@pytest.fixture(autouse=True)
def mailbox(smtp_server, settings, request):
    if request.node.get_closest_marker("journey"):
        return None  # journeys send to their own mail catcher (tests/journey_support.py)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    smtp_server.received.clear()
    smtp_server.peers.clear()

    class Live(Mailbox):
        def __iter__(self):
            return iter([email.message_from_bytes(raw) for raw in smtp_server.received])

        def __len__(self):
            return len(smtp_server.received)

        def __getitem__(self, index):
            return list(iter(self))[index]

    return Live()


MEMBER_PASSWORD = "member-password-12"


@pytest.fixture
def make_member():
    """Create a person in a tenant: ``make_member(tenant, "consultant", "c@x.example", "Cora")``."""
    from django_tenants.utils import tenant_context

    def make(tenant, role: str, email: str, full_name: str, *, verified: bool = True):
        from django.utils import timezone

        from accounts.models import User
        from consultants.services import profile_create

        with tenant_context(tenant):
            user = User.objects.create_user(
                email=email, password=MEMBER_PASSWORD, full_name=full_name, role=role,
                email_verified_at=timezone.now() if verified else None,
            )
            if user.is_consultant:
                profile_create(user=user)
        connection.set_schema_to_public()
        return user

    return make


@pytest.fixture
def login():
    def do(client, host: str, email: str, password: str = MEMBER_PASSWORD):
        response = client.post("/login/", {"username": email, "password": password}, HTTP_HOST=host)
        assert response.status_code == 302, response.content.decode()[:2000]
        return client

    return do


@pytest.fixture(scope="session")
def live_server_url():
    """The whole app served over real HTTP on loopback (threads, own database connections).

    The emulators in ``sandbox/`` are reached through it by the real client libraries. Rows
    a test leaves uncommitted are invisible to it: tests that need the app to see their data
    commit through a tenant of their own (see ``test_booking_concurrency``)."""
    import socket
    import threading

    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from django.db import connections as db_connections

    django_app = get_wsgi_application()

    def app(environ, start_response):
        # Each request has its own thread: close its connections so the test database can be dropped.
        try:
            yield from django_app(environ, start_response)
        finally:
            db_connections.close_all()

    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler, allow_reuse_address=True)
    server.set_app(app)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def zoom_sdk(settings, tmp_path):
    """Stands in for the browser SDK `make zoom-sdk` fetches (the server only checks it is there)."""
    sdk = tmp_path / "static" / "vendor" / "zoom-videosdk"
    (sdk / "lib").mkdir(parents=True)
    (sdk / "index.esm.js").write_text("export default {};\n")
    settings.STATICFILES_DIRS = [tmp_path / "static", *settings.STATICFILES_DIRS]
    return sdk


@pytest.fixture
def webhook_receiver(settings):
    """A loopback HTTP endpoint that keeps what is posted to it; the emulators deliver webhooks here."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            received.append({"body": body, "headers": dict(self.headers)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.STRIPE_WEBHOOK_URL = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
    yield received
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_emulator(settings, live_server_url):
    """Billing's Stripe client pointed at the emulator, over real HTTP."""
    settings.STRIPE_API_BASE = f"{live_server_url}/sandbox/stripe"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    return live_server_url


@pytest.fixture
def payments_ready(stripe_emulator, tenant_alpha):
    """Alpha's Stripe account, onboarded through the emulator: paid offerings can be booked."""
    import httpx
    from django_tenants.utils import tenant_context

    from billing.onboarding import account_ensure, account_refresh

    with tenant_context(tenant_alpha):
        account = account_ensure(owner_email="alice@alpha.example")
        response = httpx.post(f"{stripe_emulator}/sandbox/stripe/accounts/{account.stripe_account_id}/onboarding",
                              json={"outcome": "complete"})
        assert response.status_code == 200, response.text
        account = account_refresh()
        assert account.ready
    return account


@pytest.fixture
def stripe_webhooks(webhook_receiver, platform_host, django_capture_on_commit_callbacks):
    """What the emulator sends to the webhook URL, handed to ``POST /webhooks/stripe`` on request.

    ``forward()`` delivers everything received since the last call, in order, and returns the
    responses; the events themselves are in ``.received`` for replays and reordering."""
    from django.test import Client

    class Webhooks:
        received = webhook_receiver
        client = Client()
        sent = 0

        def post(self, body: str, signature: str):
            with django_capture_on_commit_callbacks(execute=True):
                return self.client.post("/webhooks/stripe", body, content_type="application/json",
                                        HTTP_HOST=platform_host, HTTP_STRIPE_SIGNATURE=signature)

        def forward(self, *, types: tuple[str, ...] | None = None):
            responses = []
            for item in self.received[self.sent:]:
                event_type = __import__("json").loads(item["body"])["type"]
                if types is None or event_type in types:
                    responses.append(self.post(item["body"], item["headers"]["Stripe-Signature"]))
            self.sent = len(self.received)
            return responses

        def of_type(self, event_type: str) -> list[dict]:
            import json

            return [item for item in self.received if json.loads(item["body"])["type"] == event_type]

    return Webhooks()


@pytest.fixture
def beta_api(client, beta_host):
    """The JSON API on beta's host, as its owner (Bearer token)."""
    token = client.post("/api/v1/auth/token", {"email": "bob@beta.example", "password": BETA_OWNER_PASSWORD},
                        content_type="application/json", HTTP_HOST=beta_host).json()["access"]

    class Api:
        host = beta_host

        def call(self, method, path, body=None, auth=True, **extra):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if auth else {}
            kwargs = {"content_type": "application/json"} if body is not None else {}
            return getattr(client, method)(f"/api/v1{path}", body, HTTP_HOST=beta_host, **headers, **kwargs, **extra)

    return Api()


@pytest.fixture
def alpha_api(client, alpha_host):
    """The JSON API on alpha's host, as its owner (Bearer token) or anonymously (``auth=False``)."""
    token = client.post("/api/v1/auth/token", {"email": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD},
                        content_type="application/json", HTTP_HOST=alpha_host).json()["access"]

    class Api:
        host = alpha_host

        def call(self, method, path, body=None, auth=True, host=None, token=token, **extra):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if auth else {}
            kwargs = {"content_type": "application/json"} if body is not None else {}
            return getattr(client, method)(f"/api/v1{path}", body, HTTP_HOST=host or alpha_host,
                                           **headers, **kwargs, **extra)

    return Api()


@pytest.fixture
def push_receiver():
    """A loopback endpoint keeping the providers' push notifications, to hand them to the product
    (whose rows in a test's transaction the live server cannot see)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import unquote_plus

    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "body": body, "headers": dict(self.headers)})
            if "validationToken=" in self.path:
                token = self.path.split("validationToken=", 1)[1].split("&")[0]
                payload = unquote_plus(token).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()
