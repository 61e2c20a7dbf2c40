import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User
from tenants.models import StaffAction, Tenant

ROOT = Path(__file__).resolve().parent.parent


def test_create_tenant_prints_url_and_tenant_is_usable(db, client):
    out = StringIO()
    call_command("create_tenant", "iota", "--name", "Iota Legal", "--owner-email", "ivy@iota.example",
                 "--owner-password", "iota-owner-pass-1", "--plan", "pro", stdout=out)
    assert out.getvalue().strip() == "http://iota.localhost:8000"
    tenant = Tenant.objects.get(slug="iota")
    assert tenant.plan.name == "Pro" and tenant.owner_name == "Iota Legal"
    assert StaffAction.objects.get(tenant=tenant).actor_label == "cli"
    with schema_context(tenant.schema_name):
        assert User.objects.get().role == User.Role.OWNER
    connection.set_schema_to_public()
    response = client.post("/login/", {"username": "ivy@iota.example", "password": "iota-owner-pass-1"},
                           HTTP_HOST="iota.localhost")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"


@pytest.mark.parametrize(
    ("slug", "extra", "reason"),
    [
        ("alpha", [], "slug: This subdomain is already taken."),
        ("Bad_Slug", [], "slug: Use lowercase letters only in the subdomain."),
        ("www", [], "slug: “www” is reserved"),
        ("kappa", ["--plan", "platinum"], "Unknown plan 'platinum'. Plans: Free, Pro, Agency."),
    ],
)
def test_create_tenant_errors_name_the_reason(db, slug, extra, reason):
    before = Tenant.objects.count()
    with pytest.raises(CommandError) as exc:
        call_command("create_tenant", slug, "--name", "K", "--owner-email", "k@k.example",
                     "--owner-password", "k-owner-pass-123", *extra)
    assert reason in str(exc.value)
    assert Tenant.objects.count() == before


def test_create_tenant_exits_non_zero_from_the_shell(db):
    """The real command line, against the test database: a taken slug exits 1 with the reason."""
    settings_dict = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgresql://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    )
    proc = subprocess.run(
        [sys.executable, "manage.py", "create_tenant", "alpha", "--name", "Again", "--owner-email",
         "a@a.example", "--owner-password", "again-owner-pass-1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert "This subdomain is already taken." in proc.stderr
    assert proc.stdout == ""
