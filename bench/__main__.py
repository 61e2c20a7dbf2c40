"""Run every benchmark on a throw-away database, print a table and write
``bench/results.json`` (a list of {name, value, unit, baseline, ratio, params}).

Each figure is compared with a baseline measured in the same run, on the same
machine, so the ratio means something even on a busy shared machine.
"""

from __future__ import annotations

import json
import os
import platform as std_platform
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "consultio_bench"


def _bench_database_url() -> tuple[str, str]:
    sys.path.insert(0, str(ROOT))
    from config.env import service_url

    url = service_url("DATABASE_URL")
    if not url:
        raise SystemExit("No DATABASE_URL: run through `make bench`.")
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    return admin, urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def _recreate(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def _drop(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _table(results: list[dict]) -> str:
    rows = [("benchmark", "value", "baseline", "ratio")]
    for r in results:
        rows.append((r["name"], f"{r['value']:.3f} {r['unit']}", f"{r['baseline']:.3f} {r['unit']}",
                     f"{r['ratio']:.1f}x"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> int:
    admin_url, bench_url = _bench_database_url()
    _recreate(admin_url)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        from config.celery import app

        # Measure the app, not the mail server: keep emails in memory and run tasks in-process,
        # so nothing from this throw-away database reaches a running worker.
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        app.conf.task_always_eager = True

        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        print(f"bench database migrated in {time.perf_counter() - started:.1f} s", flush=True)

        from bench import provisioning, slots

        results = provisioning.run() + slots.run()
    finally:
        from django.db import connections

        connections.close_all()
        _drop(admin_url)
    print()
    print(_table(results))
    payload = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{std_platform.machine()}, {os.cpu_count()} cores, Python {std_platform.python_version()}",
        "results": results,
    }
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "bench" / "results-meta.json").write_text(json.dumps(
        {k: v for k, v in payload.items() if k != "results"}, indent=2) + "\n")
    print(f"\n{payload['measured_at']} on {payload['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
