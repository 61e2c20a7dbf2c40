"""``migrate`` for a schema-per-tenant database.

Runs django-tenants' ``migrate_schemas`` (public schema, then every tenant) and
then keeps the template schema that new tenants are cloned from migrated, and
makes sure the platform host resolves. Running it twice changes nothing.
"""

from django.conf import settings
from django.db import connection
from django_tenants.management.commands.migrate_schemas import (
    GET_EXECUTOR_FUNCTION,
    MigrateSchemasCommand,
)
from django_tenants.utils import get_public_schema_name, schema_exists

from tenants.services import platform_tenant_ensure


def tenant_sites_ensure(template: str) -> None:
    """Every schema has its home page: the template (cloned by sign-ups) and tenants made
    before pages existed (their own name and host written in)."""
    from django_tenants.utils import schema_context

    from accounts.models import User
    from cms.provisioning import home_page_ensure, site_personalize
    from tenants.models import Tenant

    with schema_context(template):
        home_page_ensure()
    for tenant in Tenant.objects.exclude(schema_name=get_public_schema_name()).prefetch_related("domains"):
        with schema_context(tenant.schema_name):
            from cms.models import HomePage

            if HomePage.objects.exists():
                continue
            from tenants.selectors import tenant_domain_for

            primary = next((d.domain for d in tenant.domains.all() if d.is_primary), tenant_domain_for(tenant.slug))
            site_personalize(name=tenant.name, hostname=primary,
                             owner=User.objects.filter(role=User.Role.OWNER).order_by("pk").first())
    connection.set_schema_to_public()


def _migrations_applied(schema: str) -> tuple[int, int] | None:
    """How many migrations ``schema`` records and the last one's id (None before its first): a
    ``migrate`` that applied nothing leaves it unchanged, and the costly steps after it are skipped."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f'"{schema}".django_migrations'])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f'SELECT count(*), coalesce(max(id), 0) FROM "{schema}".django_migrations')
        return tuple(cursor.fetchone())


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        public = get_public_schema_name()
        everything = self.schema_name in (None, public) and not self.options.get("app_label")
        if self.sync_tenant and everything:
            template = settings.TENANT_TEMPLATE_SCHEMA
            if not schema_exists(template):
                with connection.cursor() as cursor:
                    cursor.execute(f'CREATE SCHEMA "{template}"')
            before = _migrations_applied(template)
            executor = GET_EXECUTOR_FUNCTION(codename=self.executor)(self.args, self.options)
            executor.run_migrations(tenants=[template])
            connection.set_schema_to_public()
            from tenants.spares import spares_drop, spares_fill

            if _migrations_applied(template) != before:
                # Tenants' schemas took the same migrations as the template just did.
                tenant_sites_ensure(template)
                # Spares were cloned from the template as it was: replace them.
                spares_drop()
            spares_fill()
        if self.sync_public and everything:
            platform_tenant_ensure()
