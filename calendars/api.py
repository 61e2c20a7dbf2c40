"""A consultant's calendars over the API (``/api/v1/me/calendar-connections``, ``/calendars``,
``/calendar-feed``) on the tenant host, with the consultant's Bearer token.

Bodies are read here rather than by schemas so that each refusal is one sentence naming the field."""

from __future__ import annotations

import json

from django.http import HttpRequest
from ninja import Router, Status

from calendars.models import CalendarConnection, ExternalCalendar
from calendars.services import (
    calendar_update,
    calendars_of,
    connection_disconnect,
    connections_of,
    consultant_check,
)
from core.exceptions import InvalidInput

router = Router(tags=["calendars"])


def _body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("The body must be a JSON object.") from None
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.")
    return data


def _consultant(request: HttpRequest):
    user = request.auth
    consultant_check(user)
    return user


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def connection_out(conn: CalendarConnection) -> dict:
    return {"id": str(conn.pk), "provider": conn.provider, "account_email": conn.account_email or None,
            "url": conn.ics_url or None, "status": conn.status, "last_synced_at": _iso(conn.last_synced_at),
            "failure_reason": conn.failure_reason or None}


def calendar_out(calendar: ExternalCalendar) -> dict:
    return {"id": str(calendar.pk), "connection_id": str(calendar.connection_id), "name": calendar.name,
            "primary": calendar.primary, "readable": calendar.readable, "writable": calendar.writable}


_CONNECT_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["provider"],
    "properties": {"provider": {"type": "string", "enum": ["google", "microsoft", "ics"]},
                   "url": {"type": "string", "description": "The ICS address (provider “ics” only)."},
                   "login_hint": {"type": "string", "description": "Optional: the account to suggest."}}}}}}}


@router.post("/calendar-connections", response={201: dict}, openapi_extra=_CONNECT_DOC)
def connection_create(request: HttpRequest):
    """``google``/``microsoft``: the consent page to send the consultant to (the connection exists
    once they approve); ``ics``: the ICS busy source, checked and created at once."""
    from calendars.connect import connect_start

    consultant = _consultant(request)
    data = _body(request)
    provider = data.get("provider")
    if provider == "ics":
        url = data.get("url")
        if not isinstance(url, str) or not url.strip():
            raise InvalidInput("Give the calendar's ICS address as “url”.", field="url")
        from calendars.ics import ics_connection_add

        return Status(201, connection_out(ics_connection_add(consultant=consultant, url=url.strip())))
    hint = data.get("login_hint") or ""
    if not isinstance(hint, str) or len(hint) > 254:
        raise InvalidInput("“login_hint” must be an email address.", field="login_hint")
    if provider not in ("google", "microsoft"):
        raise InvalidInput("“provider” must be “google”, “microsoft” or “ics”.", field="provider")
    return Status(201, {"authorize_url": connect_start(consultant=consultant, provider=provider, login_hint=hint)})


@router.get("/calendar-connections")
def connection_list(request: HttpRequest):
    return [connection_out(conn) for conn in connections_of(_consultant(request))]


@router.delete("/calendar-connections/{connection_id}", response={204: None})
def connection_delete(request: HttpRequest, connection_id: str):
    connection_disconnect(consultant=_consultant(request), connection_id=connection_id)
    return Status(204, None)


@router.get("/calendars")
def calendar_list(request: HttpRequest):
    return [calendar_out(calendar) for calendar in calendars_of(_consultant(request))]


_PATCH_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"readable": {"type": "boolean"}, "writable": {"type": "boolean"}}}}}}}


@router.patch("/calendars/{calendar_id}", openapi_extra=_PATCH_DOC)
def calendar_patch(request: HttpRequest, calendar_id: str):
    consultant = _consultant(request)
    data = _body(request)
    unknown = sorted(set(data) - {"readable", "writable", "id", "connection_id", "name", "primary"})
    if unknown:
        raise InvalidInput(f"Unknown field “{unknown[0]}”: only “readable” and “writable” can be changed.",
                           field=unknown[0])
    changes = {}
    for field in ("readable", "writable"):
        if field in data:
            if not isinstance(data[field], bool):
                raise InvalidInput(f"“{field}” must be true or false.", field=field)
            changes[field] = data[field]
    return calendar_out(calendar_update(consultant=consultant, calendar_id=calendar_id, **changes))


@router.get("/calendar-feed")
def feed_get(request: HttpRequest):
    from calendars.feed import feed_url

    return {"url": feed_url(_consultant(request))}


@router.post("/calendar-feed/regenerate")
def feed_new(request: HttpRequest):
    from calendars.feed import feed_regenerate

    return {"url": feed_regenerate(_consultant(request))}
