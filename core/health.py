"""Liveness of what a request depends on: the database and Redis."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return f"error: {exc.__class__.__name__}"
    return "ok"


def check_redis(url: str | None = None) -> str:
    timeout = settings.HEALTH_CHECK_TIMEOUT
    client = redis.Redis.from_url(
        url or settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return f"error: {exc.__class__.__name__}"
    finally:
        client.close()
    return "ok"


def health_report() -> tuple[dict[str, str], bool]:
    report = {"database": check_database(), "redis": check_redis()}
    healthy = all(value == "ok" for value in report.values())
    return {"status": "ok" if healthy else "error", **report}, healthy
