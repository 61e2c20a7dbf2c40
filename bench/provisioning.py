"""Provisioning a tenant: cloning the migrated template schema (what Consultio
does) against creating an empty schema and running every migration (the
baseline), and the whole sign-up until the owner sees the dashboard."""

from __future__ import annotations

import statistics
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client

from tenants.services import tenant_provision

CLONE_RUNS = 5
MIGRATE_RUNS = 2


def _owner(i: int, kind: str) -> dict:
    return {"owner_name": "Bench Owner", "owner_email": f"owner{i}@{kind}.example",
            "owner_password": "bench-owner-pass-1"}


def _provision_by_clone(i: int) -> float:
    started = time.perf_counter()
    tenant_provision(slug=f"clone-{i}", name=f"Clone {i}", source="bench", **_owner(i, "clone"))
    return time.perf_counter() - started


def _provision_by_migrate(i: int) -> float:
    schema = f"t_migrate_{i}"
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    call_command("migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    return time.perf_counter() - started


def _signup_to_dashboard(i: int) -> float:
    client = Client()
    started = time.perf_counter()
    response = client.post("/signup/", {
        "name": f"Signup {i}", "slug": f"signup-{i}", **_owner(i, "signup"),
    }, HTTP_HOST=settings.PLATFORM_DOMAIN)
    assert response.status_code == 302, response.content[:500]
    handoff = urlsplit(response["Location"])
    dashboard = client.get(handoff.path, HTTP_HOST=handoff.hostname, follow=True)
    elapsed = time.perf_counter() - started
    assert dashboard.status_code == 200 and b"Welcome" in dashboard.content
    return elapsed


def run() -> list[dict]:
    clone = [_provision_by_clone(i) for i in range(CLONE_RUNS)]
    signup = [_signup_to_dashboard(i) for i in range(CLONE_RUNS)]
    migrate = [_provision_by_migrate(i) for i in range(MIGRATE_RUNS)]
    print(f"clone: {clone}\nsignup: {signup}\nmigrate: {migrate}", flush=True)
    clone_median, migrate_median = statistics.median(clone), statistics.median(migrate)
    signup_median = statistics.median(signup)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                       [settings.TENANT_TEMPLATE_SCHEMA])
        tables = cursor.fetchone()[0]
    params = {"clone_runs": CLONE_RUNS, "migrate_runs": MIGRATE_RUNS, "tables_per_schema": tables,
              "statistic": "median"}
    return [
        {"name": "provision_tenant_clone", "value": round(clone_median, 4), "unit": "s",
         "baseline": round(migrate_median, 4), "ratio": round(migrate_median / clone_median, 2),
         "params": {**params, "baseline_is": "empty schema + all tenant migrations"}},
        {"name": "signup_to_dashboard", "value": round(signup_median, 4), "unit": "s",
         "baseline": round(migrate_median, 4), "ratio": round(migrate_median / signup_median, 2),
         "params": {**params, "baseline_is": "provisioning by migrations alone",
                    "includes": "form validation, provisioning, password hashing, sign-in hand-off, dashboard"}},
    ]
