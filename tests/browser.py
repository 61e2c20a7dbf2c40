"""Browser tests: the app served over HTTP and WebSockets (uvicorn, as in `make dev`) and
Debian's Chromium driven by Playwright, with a fake camera and microphone.

`make test` installs Chromium when it is missing. A developer without it may set
``SKIP_BROWSER_TESTS=1`` to skip these tests locally; otherwise a missing browser fails."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / ".local" / "test-artifacts"
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def browser_required() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("SKIP_BROWSER_TESTS") == "1":
        pytest.skip("SKIP_BROWSER_TESTS=1 and no Chromium here")
    pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `make test` (it installs it) or "
                "`apt-get install -y chromium`, or set SKIP_BROWSER_TESTS=1 to skip browser tests locally.")


class AsgiServer:
    """The ASGI application (HTTP + WebSockets) on a free loopback port, in a thread."""

    def __init__(self) -> None:
        import uvicorn

        from config.asgi import application

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(application, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> AsgiServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the ASGI server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        _drop_other_connections()

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}"


def _drop_other_connections() -> None:
    """The server's threads kept database connections; end them so the test database can go."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


def shot(page, name: str) -> None:
    """Keep a screenshot of this step as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
