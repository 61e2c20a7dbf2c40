"""``python -m devstack dev|test|bench|services`` — what ``make`` runs.

- ``dev``: services, migrations, demo data, then the ASGI server, a Celery
  worker, Celery beat and a local SMTP server. Ctrl-C stops all of it,
  including the embedded services this run started.
- ``test``: services, lint, migrations check, then pytest.
- ``bench``: services, then every benchmark in ``bench/``.
- ``screenshots``: services, then the browser journeys, writing the README tour's images to ``docs/screenshots/``.
- ``services up|down|status``: the embedded services alone, for ``manage.py`` use.
- ``zoom-sdk``: fetch the Zoom Video SDK for browsers into ``static/vendor/`` (npm registry).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from devstack import services

ROOT = services.ROOT
PYTHON = sys.executable
BIN = Path(PYTHON).parent
APP_DIRS = ["config", "core", "accounts", "consultants", "booking", "billing", "notifications", "video", "calendars",
            "themes", "cms", "sandbox", "tenants", "templates", "static"]


def _env(started: services.Started, **extra: str) -> dict[str, str]:
    from config.env import local_secret_key_ensure

    local_secret_key_ensure()
    env = dict(os.environ)
    env.update(started.urls)
    env.update(extra)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return env


def _run(cmd: list[str], env: dict[str, str]) -> int:
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def _pump(name: str, proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(f"{name:>7} | {line}")
        sys.stdout.flush()


def _free_port(preferred: int) -> int:
    return services._pick_port(preferred, preferred)


def _stop_on_signals() -> None:
    """Ctrl-C (SIGINT) and SIGTERM both end the run cleanly, even when started from a
    shell that ignores SIGINT for background jobs."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def dev() -> int:
    _stop_on_signals()
    port = os.environ.get("PORT", "8000")
    started = services.up()
    smtp_port = str(_free_port(int(os.environ.get("EMAIL_PORT", "1025"))))
    env = _env(started, PORT=port, EMAIL_PORT=smtp_port)
    env.setdefault("DJANGO_DEBUG", "1")
    env.setdefault("PUBLIC_URL_PORT", port)
    env.setdefault("PYTHONUNBUFFERED", "1")
    procs: list[tuple[str, subprocess.Popen]] = []
    try:
        if _run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env) != 0:
            return 1
        if _run([PYTHON, "manage.py", "seed_demo"], env) != 0:
            return 1
        reload_dirs = [arg for d in APP_DIRS if (ROOT / d).exists() for arg in ("--reload-dir", d)]
        commands = {
            "web": [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
                    "--port", port, "--reload", *reload_dirs],
            "worker": [str(BIN / "celery"), "-A", "config", "worker", "-l", "info", "--concurrency", "2"],
            "beat": [str(BIN / "celery"), "-A", "config", "beat", "-l", "info",
                     "--schedule", str(services.LOCAL / "celerybeat-schedule")],
            "mail": [PYTHON, "-m", "devstack.mailcatcher", "--port", smtp_port],
        }
        for name, cmd in commands.items():
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
            procs.append((name, proc))
            threading.Thread(target=_pump, args=(name, proc), daemon=True).start()
        print(f"\nConsultio is running:\n  platform  http://localhost:{port}/\n"
              f"  demo      http://demo.localhost:{port}/\n"
              f"  emails    {services.LOCAL / 'mail'} (SMTP 127.0.0.1:{smtp_port})\n"
              "Press Ctrl-C to stop.\n", flush=True)
        while all(proc.poll() is None for _, proc in procs):
            time.sleep(0.5)
        dead = [name for name, proc in procs if proc.poll() is not None]
        print(f"\n{', '.join(dead)} stopped; shutting down.", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        services.down(started)


def _chromium_ensure() -> None:
    """The browser tests drive Debian's Chromium: install it when it is missing (a fresh CI
    machine has none). SKIP_BROWSER_TESTS=1 skips both the install and those tests."""
    if os.environ.get("SKIP_BROWSER_TESTS") == "1" or shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    apt = shutil.which("apt-get")
    if apt is None:
        print("No Chromium and no apt-get: the browser tests will fail (SKIP_BROWSER_TESTS=1 skips them).")
        return
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    print("Installing Chromium for the browser tests…", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [*prefix, apt, "install", "-y", "-q", "chromium"]
    if subprocess.run(install, env=env).returncode != 0:
        subprocess.run([*prefix, apt, "update", "-q"], env=env)
        subprocess.run(install, env=env)


def test(args: list[str]) -> int:
    _chromium_ensure()
    started = services.up()
    env = _env(started)
    try:
        steps = [
            [str(BIN / "ruff"), "check", "."],
            [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"],
            [PYTHON, "-m", "pytest", *args],
        ]
        for cmd in steps:
            code = _run(cmd, env)
            if code != 0:
                return code
        return 0
    finally:
        services.down(started)


def screenshots(args: list[str]) -> int:
    """Run the browser journeys and write the README tour's images into docs/screenshots/."""
    _chromium_ensure()
    started = services.up()
    env = {**_env(started), "TOUR_SCREENSHOTS": str(ROOT / "docs" / "screenshots")}
    try:
        return _run([PYTHON, "-m", "pytest", "-m", "journey", "-q", *args], env)
    finally:
        services.down(started)


def bench(args: list[str]) -> int:
    started = services.up()
    try:
        return _run([PYTHON, "-m", "bench", *args], _env(started))
    finally:
        services.down(started)


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "dev":
        return dev()
    if command == "test":
        return test(rest)
    if command == "bench":
        return bench(rest)
    if command == "screenshots":
        return screenshots(rest)
    if command == "zoom-sdk":
        from devstack.zoom_sdk import fetch

        print(f"Zoom Video SDK in {fetch()}")
        return 0
    if command == "services":
        action = rest[0] if rest else "status"
        if action == "up":
            print(services.up().urls)
        elif action == "down":
            services.down()
        else:
            print(services.read_state())
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
