"""Absolute URLs of hosts, as people reach them (scheme and public port from settings)."""

from __future__ import annotations

from django.conf import settings


def host_url(domain: str) -> str:
    port = settings.PUBLIC_URL_PORT
    default_port = {"http": "80", "https": "443"}[settings.PUBLIC_URL_SCHEME]
    suffix = f":{port}" if port and port != default_port else ""
    return f"{settings.PUBLIC_URL_SCHEME}://{domain}{suffix}"


def tenant_absolute_url(domain: str, path: str) -> str:
    return host_url(domain) + path


def request_absolute_url(request, path: str) -> str:
    """An absolute URL on the host of the current request, with the public scheme and port."""
    return host_url(request.get_host().split(":")[0]) + path
