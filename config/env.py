"""The one place that reads the environment.

Every setting comes from an environment variable. When ``DATABASE_URL`` or
``REDIS_URL`` are unset, the URLs of the embedded services that ``make dev`` /
``make test`` started are read from ``.local/services.json``, so any
``manage.py`` command run from the checkout reaches the same services as the
running server.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = BASE_DIR / ".local"


def _local_services(services_file: Path) -> dict[str, str]:
    if not services_file.exists():
        return {}
    try:
        data = json.loads(services_file.read_text())
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)}


def service_url(name: str, *, services_file: Path | None = None) -> str | None:
    """``DATABASE_URL`` / ``REDIS_URL`` from the environment, else from the embedded services."""
    value = os.environ.get(name)
    if value:
        return value
    return _local_services(services_file or LOCAL_DIR / "services.json").get(name)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def secret_key() -> str:
    """``DJANGO_SECRET_KEY``, else the local key that ``make dev`` / ``make test`` keep in
    ``.local/secret_key``. Anywhere else (a container, a server) the variable is required:
    processes that generated keys of their own would not accept each other's sessions."""
    value = os.environ.get("DJANGO_SECRET_KEY")
    if value:
        return value
    path = LOCAL_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or run through `make dev` / `make test`).")


def local_secret_key_ensure() -> str:
    """Create ``.local/secret_key`` once for local runs."""
    path = LOCAL_DIR / "secret_key"
    if not path.exists():
        LOCAL_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()
