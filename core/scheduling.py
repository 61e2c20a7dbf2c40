"""The public index of due periodic work (see ``DueWork``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import connection

from core.models import DueWork


def due_work_schedule(*, kind: str, due_at: datetime, schema_name: str | None = None) -> None:
    """Make sure work of ``kind`` runs for this tenant no later than ``due_at`` (keeps the earliest)."""
    table = f'public."{DueWork._meta.db_table}"'
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (schema_name, kind, due_at) VALUES (%s, %s, %s) "  # noqa: S608 - fixed name
            "ON CONFLICT (schema_name, kind) DO UPDATE SET due_at = LEAST(EXCLUDED.due_at, "
            f"{table}.due_at)",
            [schema_name or connection.schema_name, kind, due_at],
        )


def due_work_set(*, kind: str, due_at: datetime | None, schema_name: str | None = None) -> None:
    """After the work ran: the next time it is due, or nothing."""
    schema_name = schema_name or connection.schema_name
    if due_at is None:
        DueWork.objects.filter(schema_name=schema_name, kind=kind).delete()
    else:
        DueWork.objects.update_or_create(schema_name=schema_name, kind=kind, defaults={"due_at": due_at})


def due_work_recompute(*, kind: str, next_due: Callable[[], datetime | None],
                       schema_name: str | None = None) -> datetime | None:
    """Replace the tenant's entry for ``kind`` with ``next_due()``, computed *after* locking the entry.

    Work added concurrently only ever lowers the entry (``due_work_schedule``); taking the lock
    before reading the tenant's rows means such a writer is either seen (it committed first) or
    comes after and lowers the entry again — an entry is never lost or pushed past due work."""
    from django.db import transaction

    schema_name = schema_name or connection.schema_name
    with transaction.atomic():
        list(DueWork.objects.select_for_update().filter(schema_name=schema_name, kind=kind))
        due_at = next_due()
        due_work_set(kind=kind, due_at=due_at, schema_name=schema_name)
    return due_at


def due_work_list(*, now: datetime) -> list[DueWork]:
    """What is due, for tenants that still exist (one query: the tenant check is a subquery)."""
    from tenants.models import Tenant

    return list(DueWork.objects.filter(due_at__lte=now, schema_name__in=Tenant.objects.values("schema_name"))
                .order_by("due_at")[:1000])
