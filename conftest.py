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

import pytest
from django.conf import settings
from django.db import connection

ALPHA_OWNER_PASSWORD = "alpha-owner-password-1"
BETA_OWNER_PASSWORD = "beta-owner-password-1"


def host(slug: str) -> str:
    return f"{slug}.{settings.PLATFORM_DOMAIN}"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from tenants.services import tenant_provision

    with django_db_blocker.unblock():
        tenant_provision(slug="alpha", name="Alpha Advisory", owner_name="Alice Alpha",
                         owner_email="alice@alpha.example", owner_password=ALPHA_OWNER_PASSWORD,
                         source="tests")
        tenant_provision(slug="beta", name="Beta Coaching", owner_name="Bob Beta",
                         owner_email="bob@beta.example", owner_password=BETA_OWNER_PASSWORD,
                         source="tests")
    yield


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
