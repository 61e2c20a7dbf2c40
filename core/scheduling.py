"""The public index of due periodic work (see ``DueWork``)."""

from __future__ import annotations

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


def due_work_list(*, now: datetime) -> list[DueWork]:
    return list(DueWork.objects.filter(due_at__lte=now).order_by("due_at")[:1000])
