"""Rules for a tenant's subdomain. Each rule has its own code and message, so a
person signing up learns exactly what to change."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

SLUG_MIN_LENGTH = 3
SLUG_MAX_LENGTH = 40

RESERVED_SLUGS = frozenset(
    {
        "www", "api", "admin", "static", "media", "mail", "app", "platform", "public",
        "console", "staff", "support", "help", "docs", "status", "blog", "billing",
        "stripe", "webhooks", "auth", "login", "signup", "account", "accounts", "dashboard",
        "cms", "assets", "cdn", "smtp", "imap", "pop", "ftp", "ns1", "ns2", "mx", "dev",
        "test", "demo-template", "template", "tenant-template", "root", "system",
        "consultio", "localhost", "healthz", "video", "calendar", "oauth",
    }
)

_ALLOWED = re.compile(r"^[a-z0-9-]+$")


def validate_slug_format(value: str) -> None:
    """Everything about a slug except whether it is already taken."""
    if not value:
        raise ValidationError("Choose a subdomain.", code="required")
    if any(char.isupper() for char in value):
        raise ValidationError("Use lowercase letters only in the subdomain.", code="uppercase")
    if not _ALLOWED.match(value):
        raise ValidationError(
            "Use only lowercase letters (a–z), digits and hyphens in the subdomain.",
            code="invalid_characters",
        )
    if len(value) < SLUG_MIN_LENGTH:
        raise ValidationError(
            f"The subdomain must be at least {SLUG_MIN_LENGTH} characters long.", code="too_short"
        )
    if len(value) > SLUG_MAX_LENGTH:
        raise ValidationError(
            f"The subdomain must be at most {SLUG_MAX_LENGTH} characters long.", code="too_long"
        )
    if value.startswith("-") or value.endswith("-"):
        raise ValidationError(
            "The subdomain cannot start or end with a hyphen.", code="hyphen_edge"
        )
    if "--" in value:
        raise ValidationError("The subdomain cannot contain two hyphens in a row.", code="double_hyphen")
    if value in RESERVED_SLUGS:
        raise ValidationError(f"“{value}” is reserved; choose another subdomain.", code="reserved")


def schema_name_for(slug: str) -> str:
    """PostgreSQL schema of a tenant. The prefix keeps tenant schemas apart from
    ``public``, ``pg_*`` and the template."""
    return "t_" + slug.replace("-", "_")
