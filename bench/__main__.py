"""Run every benchmark on a throw-away database, print a table and write
``bench/results.json`` (a list of {name, value, unit, baseline, ratio, params}).

Each figure is compared with a baseline measured in the same run, on the same
machine, so the ratio means something even on a busy shared machine.

``python -m bench [provisioning] [slots] [reminders] [calendars]`` (through ``make bench``:
``python -m devstack bench reminders``) runs only the benchmarks named; their
results replace those of the same name in ``bench/results.json``, the others
are kept. Results marked ``params.trial`` (a scaled-down try) are printed only.
"""

from __future__ import annotations

import contextlib
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
BENCHMARKS = ("provisioning", "slots", "reminders", "calendars")


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


def _ratio(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x"


def _table(results: list[dict]) -> str:
    rows = [("benchmark", "value", "baseline", "ratio")]
    for r in results:
        rows.append((r["name"], f"{r['value']:.3f} {r['unit']}", f"{r['baseline']:.3f} {r['unit']}",
                     _ratio(r["ratio"])))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _merge(results: list[dict], path: Path) -> list[dict]:
    """The earlier results, with those measured now replacing their namesakes (new ones at the end)."""
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        earlier = []
    fresh = {r["name"]: r for r in results}
    merged = [fresh.pop(r["name"], r) for r in earlier]
    return merged + list(fresh.values())


def _meta(meta: dict, chosen: list[str], path: Path) -> dict:
    """This run's meta, with ``by_benchmark``: when and where each benchmark in results.json was measured."""
    measured = {name: {"measured_at": meta["measured_at"], "machine": meta["machine"]} for name in chosen}
    if set(chosen) != set(BENCHMARKS):
        earlier = {}
        with contextlib.suppress(OSError, ValueError):
            earlier = json.loads(path.read_text())
        # A file from before ``by_benchmark`` describes one run of all of them.
        whole_run = {"measured_at": earlier.get("measured_at"), "machine": earlier.get("machine")}
        kept = earlier.get("by_benchmark") or {name: whole_run for name in BENCHMARKS if "measured_at" in earlier}
        measured = {**{k: v for k, v in kept.items() if k not in chosen}, **measured}
    return {**meta, "by_benchmark": {name: measured[name] for name in BENCHMARKS if name in measured}}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"Unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}.")
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
        # so nothing from this throw-away database reaches a running worker. (bench/reminders.py,
        # which times delivery, switches to a real SMTP server of its own for its run.)
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        app.conf.task_always_eager = True

        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        print(f"bench database migrated in {time.perf_counter() - started:.1f} s", flush=True)

        import importlib

        results = []
        for name in BENCHMARKS:
            if name in chosen:
                results += importlib.import_module(f"bench.{name}").run()
    finally:
        from django.db import connections

        connections.close_all()
        _drop(admin_url)
    print()
    print(_table(results))
    payload = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{std_platform.machine()}, {os.cpu_count()} cores, Python {std_platform.python_version()}",
        "benchmarks_run": chosen,
        "results": results,
    }
    print(f"\n{payload['measured_at']} on {payload['machine']}")
    if any(r["params"].get("trial") for r in results):
        print("A trial run (scaled down): bench/results.json is left as it was.")
        return 0
    path, meta_path = ROOT / "bench" / "results.json", ROOT / "bench" / "results-meta.json"
    meta = _meta({k: v for k, v in payload.items() if k != "results"}, chosen, meta_path)
    if set(chosen) != set(BENCHMARKS):
        results = _merge(results, path)
    path.write_text(json.dumps(results, indent=2) + "\n")
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
