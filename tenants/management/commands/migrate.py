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
            executor = GET_EXECUTOR_FUNCTION(codename=self.executor)(self.args, self.options)
            executor.run_migrations(tenants=[template])
            connection.set_schema_to_public()
        if self.sync_public and everything:
            platform_tenant_ensure()
