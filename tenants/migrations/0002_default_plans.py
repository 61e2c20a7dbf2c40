from django.db import migrations

PLANS = [
    # name, platform fee (basis points), max consultants (None = unlimited), default
    ("Free", 500, 1, True),
    ("Pro", 300, 5, False),
    ("Agency", 150, None, False),
]


def create_plans(apps, schema_editor):
    Plan = apps.get_model("tenants", "Plan")
    for name, fee, max_consultants, is_default in PLANS:
        Plan.objects.get_or_create(
            name=name,
            defaults={"platform_fee_bps": fee, "max_consultants": max_consultants, "is_default": is_default},
        )


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunPython(create_plans, migrations.RunPython.noop)]
