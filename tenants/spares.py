"""A small pool of schemas cloned from the template ahead of time.

Cloning takes about a second (django-tenants copies the template table by table, and Wagtail
alone brings dozens of tables); renaming a ready schema takes milliseconds. So sign-ups take a
spare inside their own transaction and a worker clones a replacement afterwards. When the pool
is empty (a burst of sign-ups, or no worker), provisioning clones as before. ``migrate``
replaces the pool, so spares never lag behind the template."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_exists

from tenants.models import SpareSchema

SPARE_PREFIX = "spare_"


def spare_take(schema_name: str) -> bool:
    """Inside the caller's transaction: rename a spare schema to ``schema_name``. False when
    there is none (the caller clones instead). Concurrent sign-ups never take the same spare."""
    spare = SpareSchema.objects.select_for_update(skip_locked=True).first()
    if spare is None:
        return False
    spare.delete()
    if not schema_exists(spare.schema_name):
        return False
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER SCHEMA "{spare.schema_name}" RENAME TO "{schema_name}"')
    return True


def spares_fill(*, target: int | None = None) -> int:
    """Clone spares until the pool holds ``target`` (``TENANT_SPARE_SCHEMAS``); returns how many."""
    from tenants.services import _clone_template

    target = settings.TENANT_SPARE_SCHEMAS if target is None else target
    made = 0
    while SpareSchema.objects.count() < target:
        name = f"{SPARE_PREFIX}{uuid.uuid4().hex[:16]}"
        with transaction.atomic():
            _clone_template(name)
            SpareSchema.objects.create(schema_name=name)
        made += 1
    return made


def spares_drop() -> int:
    """Drop every spare (after the template changed)."""
    dropped = 0
    for spare in SpareSchema.objects.all():
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{spare.schema_name}" CASCADE')
        spare.delete()
        dropped += 1
    return dropped
