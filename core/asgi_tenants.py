"""Tenant selection for WebSocket connections, as ``TenantMiddleware`` does for HTTP."""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def _schema_for_host(hostname: str) -> str | None:
    """The schema of an active tenant served at ``hostname``, or None.

    The same rule as HTTP (``tenants.domains.served_domain``): platform subdomains and verified
    custom domains; a pending or failed custom domain is unknown."""
    from tenants.domains import served_domain

    domain = served_domain(hostname)
    if domain is None or domain.tenant.schema_name == "public" or not domain.tenant.is_active:
        return None
    return domain.tenant.schema_name


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _hostname(host_header: str) -> str:
    hostname, _port = split_domain_port(host_header)
    return hostname


class TenantWebsocketMiddleware:
    """Puts the host's tenant schema in ``scope["schema_name"]``; unknown, platform and suspended
    hosts are refused before any consumer runs."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        host = _hostname(_header(scope, b"host"))
        schema_name = await database_sync_to_async(_schema_for_host)(host) if host else None
        if schema_name is None:
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(dict(scope, schema_name=schema_name), receive, send)


class TenantOriginValidator:
    """Admits a socket whose ``Origin`` is the very host it connects to, or a host ``ALLOWED_HOSTS``
    allows; refuses the rest (another site's page opening a socket to a tenant).

    Channels' ``AllowedHostsOriginValidator`` compares the origin with ``ALLOWED_HOSTS`` as read at
    start-up, which cannot know the custom domains verified since; the page of a tenant's site is
    always served from the host its socket connects to, so "same host" covers them. Whether that host
    is served at all is ``TenantWebsocketMiddleware``'s decision, inside this one."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not self._allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)

    @staticmethod
    def _allowed(scope) -> bool:
        allowed = settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
        origin = _header(scope, b"origin")
        if not origin:
            # Browsers always send Origin on WebSocket handshakes; other clients are trusted only where
            # any host is (the room's token still decides who gets in).
            return "*" in allowed
        parsed = urlsplit(origin.lower())
        if parsed.scheme not in ("http", "https", "ws", "wss") or not parsed.hostname:
            return False
        host = _hostname(_header(scope, b"host"))
        return parsed.hostname == host or validate_host(parsed.hostname, allowed)
