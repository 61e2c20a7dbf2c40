from unittest import mock

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from tenants.models import Domain, Plan, StaffAction, Tenant
from tenants.services import tenant_provision

OWNER = {"owner_name": "Olga Owner", "owner_email": "olga@delta.example", "owner_password": "delta-owner-pass-1"}


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_new_schema_is_a_full_copy_of_the_migrated_template(db):
    result = tenant_provision(slug="delta", name="Delta", **OWNER)
    schema = result.tenant.schema_name
    assert schema == "t_delta"
    template_tables = _tables(settings.TENANT_TEMPLATE_SCHEMA)
    assert {"wagtailcore_page", "accounts_user", "django_session"} <= template_tables
    assert _tables(schema) == template_tables
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        assert cursor.fetchone()[0] > 100


def test_provisioning_with_a_plan_and_hyphenated_slug(db):
    agency = Plan.objects.get(name="Agency")
    result = tenant_provision(slug="big-agency", name="Big Agency", plan=agency, **OWNER)
    assert result.tenant.schema_name == "t_big_agency"
    assert result.tenant.plan == agency
    assert result.url == "http://big-agency.localhost:8000"


def test_two_tenants_may_have_owners_with_the_same_email(db, tenant_alpha):
    result = tenant_provision(slug="epsilon", name="Epsilon", owner_name="Alice",
                              owner_email="alice@alpha.example", owner_password="epsilon-owner-pass-1")
    with schema_context(result.tenant.schema_name):
        assert User.objects.filter(email="alice@alpha.example").count() == 1


@pytest.mark.parametrize("failing_step", ["tenants.services.login_handoff_create", "tenants.services._audit"])
def test_failure_half_way_leaves_nothing_behind(db, failing_step):
    counts = (Tenant.objects.count(), Domain.objects.count(), StaffAction.objects.count())
    with mock.patch(failing_step, side_effect=RuntimeError("disk full")), pytest.raises(RuntimeError):
        tenant_provision(slug="zeta", name="Zeta", **OWNER)
    assert connection.schema_name == "public"
    assert not schema_exists("t_zeta")
    assert not Tenant.objects.filter(slug="zeta").exists()
    assert not Domain.objects.filter(domain__startswith="zeta.").exists()
    assert (Tenant.objects.count(), Domain.objects.count(), StaffAction.objects.count()) == counts
    # The slug is free again: a retry succeeds.
    assert tenant_provision(slug="zeta", name="Zeta", **OWNER).tenant.slug == "zeta"


def test_invalid_input_creates_no_schema(db):
    with pytest.raises(ValidationError) as exc:
        tenant_provision(slug="eta", name="", owner_name="", owner_email="nope", owner_password="1")
    assert set(exc.value.message_dict) == {"name", "owner_name", "owner_email", "owner_password"}
    assert not schema_exists("t_eta")
    assert not Tenant.objects.filter(slug="eta").exists()


def test_platform_host_is_the_public_schema_and_never_listed_as_tenant(db):
    public = Tenant.objects.get(schema_name="public")
    assert public.domains.get().domain == settings.PLATFORM_DOMAIN
    from tenants.selectors import tenant_list

    assert public not in tenant_list()


def test_a_sign_up_takes_a_spare_schema_and_a_replacement_is_cloned(db, settings, client):
    """Cloning happens ahead of time; the sign-up only renames a ready schema."""
    from django_tenants.utils import schema_exists

    from tenants.models import SpareSchema
    from tenants.services import tenant_provision
    from tenants.spares import spares_fill

    settings.TENANT_SPARE_SCHEMAS = 1
    assert spares_fill() == 1 and spares_fill() == 0
    spare = SpareSchema.objects.get().schema_name
    tenant = tenant_provision(slug="spry", name="Spry Advice", owner_name="Sam Spry",
                              owner_email="sam@spry.example", owner_password="spry-owner-pass-1").tenant
    assert not schema_exists(spare) and schema_exists(tenant.schema_name)
    assert not SpareSchema.objects.exists()
    home = client.get("/", HTTP_HOST="spry.localhost")
    assert home.status_code == 200 and "Spry Advice" in home.content.decode()
    # With the pool empty, the next sign-up clones as before.
    other = tenant_provision(slug="later", name="Later Co", owner_name="Lee Later",
                             owner_email="lee@later.example", owner_password="later-owner-pass-1").tenant
    assert schema_exists(other.schema_name)


def test_migrate_with_nothing_to_apply_keeps_the_spares_and_tops_the_pool_up(db, settings):
    """``make dev`` runs ``migrate`` at every start: with nothing to apply, the spares cloned from
    the unchanged template stay (only a template that took migrations makes them stale)."""
    from django.core.management import call_command

    from tenants.models import SpareSchema
    from tenants.spares import spares_fill

    settings.TENANT_SPARE_SCHEMAS = 1
    spares_fill()
    spare = SpareSchema.objects.get().schema_name
    settings.TENANT_SPARE_SCHEMAS = 2
    call_command("migrate", verbosity=0)
    kept = set(SpareSchema.objects.values_list("schema_name", flat=True))
    assert spare in kept and len(kept) == 2
