"""Google: OAuth 2 (authorization code with PKCE, offline access) and Calendar API v3 over httpx.

The base URLs are settings (``GOOGLE_*``): Google's own in production, the emulator in
``sandbox/google/`` otherwise."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from calendars.providers.base import (
    Account,
    CallEventData,
    GrantRevoked,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
    RemoteNotFound,
    SyncResult,
    Tokens,
    http_failure,
    send,
    tokens_from,
)

NAME = "google"
SCOPES = "openid email https://www.googleapis.com/auth/calendar"
PAGE_SIZE = 2500
# Google keeps a watch channel for at most a few weeks; we renew well before.
CHANNEL_TTL_SECONDS = 7 * 24 * 3600
MARKER = "consultioCall"


def _message(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"Google answered {response.status_code}."
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or f"Google answered {response.status_code}.")
    return str(body.get("error_description") or error or f"Google answered {response.status_code}.")


def _checked(response):
    if response.is_success:
        return response
    raise http_failure(response, _message(response))


def _api(method: str, path: str, access_token: str, **kwargs):
    url = settings.GOOGLE_CALENDAR_API_BASE.rstrip("/") + path
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    return _checked(send(method, url, headers=headers, **kwargs))


# --- OAuth ---------------------------------------------------------------------------------------


def authorize_url(*, state: str, code_challenge: str, redirect_uri: str, login_hint: str = "") -> str:
    params = {
        "client_id": settings.GOOGLE_CLIENT_ID, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": SCOPES, "state": state, "code_challenge": code_challenge, "code_challenge_method": "S256",
        # A refresh token, every time: a reconnect must replace a revoked one.
        "access_type": "offline", "prompt": "consent", "include_granted_scopes": "true",
    }
    if login_hint:
        params["login_hint"] = login_hint
    return f"{settings.GOOGLE_AUTH_URL}?{urlencode(params, quote_via=quote)}"


def _token_request(data: dict) -> dict:
    data = {"client_id": settings.GOOGLE_CLIENT_ID, "client_secret": settings.GOOGLE_CLIENT_SECRET, **data}
    response = send("POST", settings.GOOGLE_TOKEN_URL, data=data, headers={"Accept": "application/json"})
    if response.is_success:
        return response.json()
    if response.status_code == 400 and _error_code(response) == "invalid_grant":
        raise GrantRevoked(_message(response), status=400)
    raise http_failure(response, _message(response))


def _error_code(response) -> str:
    try:
        error = response.json().get("error")
    except ValueError:
        return ""
    return error if isinstance(error, str) else ""


def code_exchange(*, code: str, code_verifier: str, redirect_uri: str) -> Tokens:
    return tokens_from(_token_request({"grant_type": "authorization_code", "code": code,
                                   "code_verifier": code_verifier, "redirect_uri": redirect_uri}))


def token_refresh(*, refresh_token: str) -> Tokens:
    """Google keeps the refresh token; the answer carries only a new access token."""
    return tokens_from(_token_request({"grant_type": "refresh_token", "refresh_token": refresh_token}),
                   refresh_token=refresh_token)


def token_revoke(*, token: str) -> None:
    # Best effort: the connection is gone on our side either way.
    with contextlib.suppress(ProviderError):
        send("POST", settings.GOOGLE_REVOKE_URL, data={"token": token})


def account_get(*, access_token: str) -> Account:
    response = _checked(send("GET", settings.GOOGLE_USERINFO_URL,
                             headers={"Authorization": f"Bearer {access_token}"}))
    body = response.json()
    return Account(id=str(body.get("sub") or body.get("email")), email=str(body.get("email", "")))


# --- Calendars and events ------------------------------------------------------------------------


def calendars_list(*, access_token: str) -> list[RemoteCalendar]:
    calendars, page_token = [], None
    while True:
        params = {"maxResults": 250, **({"pageToken": page_token} if page_token else {})}
        body = _api("GET", "/users/me/calendarList", access_token, params=params).json()
        for item in body.get("items", []):
            calendars.append(RemoteCalendar(
                id=item["id"], name=item.get("summaryOverride") or item.get("summary") or item["id"],
                primary=bool(item.get("primary")), can_write=item.get("accessRole") in ("owner", "writer"),
                time_zone=item.get("timeZone") or "UTC"))
        page_token = body.get("nextPageToken")
        if not page_token:
            return calendars


def _when(value: dict, zone: ZoneInfo) -> tuple[datetime, bool]:
    if "dateTime" in value:
        return datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00")), False
    # All-day: the day in the calendar's zone (Google's end date is exclusive).
    return datetime.combine(date.fromisoformat(value["date"]), time(0), tzinfo=zone), True


def _event(item: dict, zone: ZoneInfo) -> RemoteEvent:
    if item.get("status") == "cancelled" or "start" not in item:
        return RemoteEvent(id=item["id"], removed=True)
    start, all_day = _when(item["start"], zone)
    end, _ = _when(item.get("end") or item["start"], zone)
    status = "tentative" if item.get("status") == "tentative" else "confirmed"
    if any(a.get("self") and a.get("responseStatus") == "declined" for a in item.get("attendees", [])):
        status = "declined"
    # Events carrying MARKER were written for calls — but maybe by another site sharing this
    # calendar: they stay in the mirror, and the slot engine leaves out only this site's own (by id).
    return RemoteEvent(id=item["id"], start=start, end=end, all_day=all_day, status=status,
                       transparency="transparent" if item.get("transparency") == "transparent" else "opaque")


def events_sync(*, access_token: str, calendar_id: str, sync_token: str, window: tuple[datetime, datetime],
                time_zone: str) -> SyncResult:
    """Every change since ``sync_token`` (or, without one, every event in ``window``), all pages
    followed. Series come expanded into their instances (``singleEvents``)."""
    zone = _zone(time_zone)
    result = SyncResult(full=not sync_token)
    base = {"singleEvents": "true", "maxResults": PAGE_SIZE}
    if sync_token:
        base["syncToken"] = sync_token
    else:
        base |= {"timeMin": window[0].isoformat(), "timeMax": window[1].isoformat()}
    page_token = None
    while True:
        params = {**base, **({"pageToken": page_token} if page_token else {})}
        body = _api("GET", f"/calendars/{quote(calendar_id, safe='')}/events", access_token, params=params).json()
        zone = _zone(body.get("timeZone") or time_zone)
        result.events.extend(_event(item, zone) for item in body.get("items", []))
        page_token = body.get("nextPageToken")
        if not page_token:
            result.next_token = body.get("nextSyncToken", "")
            return result


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def event_id_for(call_public_id: str) -> str:
    """Google accepts ids we choose (base32hex: 0-9, a-v): one derived from the call makes
    creating its event idempotent — a retry after a lost answer finds it instead of doubling it."""
    return "consultio" + call_public_id.replace("-", "")


def _body(data: CallEventData) -> dict:
    return {
        "summary": data.title, "description": data.description, "location": data.join_url,
        "start": {"dateTime": data.start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": data.end.isoformat(), "timeZone": "UTC"},
        "transparency": "opaque", "status": "confirmed",
        "source": {"title": data.title, "url": data.join_url} if data.join_url.startswith("https://") else None,
        "extendedProperties": {"private": {MARKER: data.call_public_id}},
    }


def event_put(*, access_token: str, calendar_id: str, event_id: str, data: CallEventData) -> str:
    """Create the call's event (``event_id`` empty) or update it. Either way round, a missing or
    already existing event is handled: Google keeps a deleted event's id, and an update with
    status "confirmed" brings it back."""
    body = {key: value for key, value in _body(data).items() if value is not None}
    path = f"/calendars/{quote(calendar_id, safe='')}/events"
    chosen = event_id or event_id_for(data.call_public_id)

    def update() -> str:
        return _api("PUT", f"{path}/{quote(chosen, safe='')}", access_token, json=body).json()["id"]

    def create() -> str:
        return _api("POST", path, access_token, json={"id": chosen, **body}).json()["id"]

    if event_id:
        try:
            return update()
        except RemoteNotFound:
            return create()
    try:
        return create()
    except ProviderError as exc:
        if exc.status == 409:  # created by an earlier attempt whose answer was lost
            return update()
        raise


def event_delete(*, access_token: str, calendar_id: str, event_id: str) -> None:
    try:
        _api("DELETE", f"/calendars/{quote(calendar_id, safe='')}/events/{quote(event_id, safe='')}", access_token)
    except (RemoteNotFound, ProviderError) as exc:
        if isinstance(exc, RemoteNotFound) or exc.status == 410:
            return  # already gone
        raise


# --- Push ----------------------------------------------------------------------------------------


def watch_start(*, access_token: str, calendar_id: str, channel_id: str, secret: str,
                address: str) -> tuple[str, datetime]:
    """Open a watch channel; returns Google's resource id and when the channel expires."""
    body = _api("POST", f"/calendars/{quote(calendar_id, safe='')}/events/watch", access_token, json={
        "id": channel_id, "type": "web_hook", "address": address, "token": secret,
        "params": {"ttl": str(CHANNEL_TTL_SECONDS)},
    }).json()
    expires = body.get("expiration")
    expires_at = (datetime.fromtimestamp(int(expires) / 1000, tz=UTC) if expires
                  else timezone.now() + timedelta(seconds=CHANNEL_TTL_SECONDS))
    return str(body.get("resourceId", "")), expires_at


def watch_stop(*, access_token: str, channel_id: str, resource_id: str) -> None:
    with contextlib.suppress(RemoteNotFound):
        _api("POST", "/channels/stop", access_token, json={"id": channel_id, "resourceId": resource_id})
