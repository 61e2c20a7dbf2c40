from unittest import mock

from django.db import OperationalError
from django.test import override_settings


def test_platform_and_tenant_hosts_report_healthy(client, db, platform_host, alpha_host):
    for host in (platform_host, alpha_host):
        response = client.get("/healthz", HTTP_HOST=host)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
        assert "no-cache" in response["Cache-Control"]


def test_redis_down_gives_503_naming_redis(client, db, alpha_host):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz", HTTP_HOST=alpha_host)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["database"] == "ok"
    assert body["redis"].startswith("error")


def test_database_down_gives_503_naming_the_database(client, db, platform_host):
    # A database outage cannot be caused from inside a test that needs the database for routing.
    with mock.patch("core.health.connection") as conn:
        conn.cursor.side_effect = OperationalError("connection refused")
        response = client.get("/healthz", HTTP_HOST=platform_host)
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error: OperationalError", "redis": "ok"}


def test_health_check_refuses_writes(client, db, platform_host):
    assert client.post("/healthz", HTTP_HOST=platform_host).status_code == 405
