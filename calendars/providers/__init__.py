"""Provider clients by name. Each module offers the same functions (authorize_url, code_exchange,
token_refresh, token_revoke, account_get, calendars_list, events_sync, event_put, event_delete)
and raises the errors of ``calendars.providers.base``."""

from __future__ import annotations

from types import ModuleType


def client(provider: str) -> ModuleType:
    from calendars.providers import google, microsoft

    clients = {"google": google, "microsoft": microsoft}
    return clients[provider]
