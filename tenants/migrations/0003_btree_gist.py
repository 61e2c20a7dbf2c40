from django.db import migrations


class Migration(migrations.Migration):
    """btree_gist, in the public schema where every tenant's search_path finds it: exclusion
    constraints that mix equality (same consultant) with range overlap need it."""

    dependencies = [("tenants", "0002_default_plans")]

    operations = [
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public", migrations.RunSQL.noop),
    ]
