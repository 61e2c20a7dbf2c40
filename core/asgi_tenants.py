"""Tenant selection for WebSocket connections, as ``TenantMiddleware`` does for HTTP."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier


def _schema_for_host(hostname: str) -> str | None:
    """The schema of an active tenant served at ``hostname``, or None."""
    from tenants.models import Domain

    domain = Domain.objects.select_related("tenant").filter(domain=hostname.lower()).first()
    if domain is None or domain.tenant.schema_name == "public" or not domain.tenant.is_active:
        return None
    return domain.tenant.schema_name


class TenantWebsocketMiddleware:
    """Puts the host's tenant schema in ``scope["schema_name"]``; unknown, platform and suspended
    hosts are refused before any consumer runs."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        host = ""
        for name, value in scope.get("headers", []):
            if name == b"host":
                host = value.decode("latin-1").rsplit(":", 1)[0] if not value.startswith(b"[") else ""
                break
        schema_name = await database_sync_to_async(_schema_for_host)(host) if host else None
        if schema_name is None:
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(dict(scope, schema_name=schema_name), receive, send)
