"""Microsoft: the identity platform's OAuth 2 (authorization code with PKCE, ``offline_access``) and
Microsoft Graph's calendars over httpx.

The base URLs are settings (``MICROSOFT_AUTHORITY``, ``MICROSOFT_GRAPH_BASE``): Microsoft's own in
production, the emulator in ``sandbox/microsoft/`` otherwise."""

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
    RemoteCalendar,
    RemoteEvent,
    RemoteNotFound,
    SyncResult,
    Tokens,
    http_failure,
    send,
    tokens_from,
)

NAME = "microsoft"
SCOPES = "offline_access openid email User.Read Calendars.ReadWrite"
PAGE_SIZE = 200
# Graph keeps a subscription on Outlook events for at most 4,230 minutes; we ask for a little less
# and renew before it runs out.
SUBSCRIPTION_MINUTES = 4200
# Asking for UTC makes every dateTime in the answers UTC (all-day events included).
PREFER_UTC = 'outlook.timezone="UTC"'


def _message(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"Microsoft answered {response.status_code}."
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or f"Microsoft answered {response.status_code}.")
    return str(body.get("error_description") or error or f"Microsoft answered {response.status_code}.")


def _checked(response):
    if response.is_success:
        return response
    raise http_failure(response, _message(response))


def _graph_url(path: str) -> str:
    return settings.MICROSOFT_GRAPH_BASE.rstrip("/") + path


def _api(method: str, url_or_path: str, access_token: str, *, prefer: str = PREFER_UTC, **kwargs):
    url = url_or_path if url_or_path.startswith("http") else _graph_url(url_or_path)
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json", "Prefer": prefer}
    return _checked(send(method, url, headers=headers, **kwargs))


def _authority() -> str:
    return f"{settings.MICROSOFT_AUTHORITY.rstrip('/')}/{settings.MICROSOFT_TENANT}/oauth2/v2.0"


# --- OAuth ---------------------------------------------------------------------------------------


def authorize_url(*, state: str, code_challenge: str, redirect_uri: str, login_hint: str = "") -> str:
    params = {
        "client_id": settings.MICROSOFT_CLIENT_ID, "response_type": "code", "redirect_uri": redirect_uri,
        "response_mode": "query", "scope": SCOPES, "state": state, "code_challenge": code_challenge,
        "code_challenge_method": "S256", "prompt": "select_account",
    }
    if login_hint:
        params["login_hint"] = login_hint
    return f"{_authority()}/authorize?{urlencode(params, quote_via=quote)}"


def _token_request(data: dict) -> dict:
    data = {"client_id": settings.MICROSOFT_CLIENT_ID, "client_secret": settings.MICROSOFT_CLIENT_SECRET,
            "scope": SCOPES, **data}
    response = send("POST", f"{_authority()}/token", data=data, headers={"Accept": "application/json"})
    if response.is_success:
        return response.json()
    try:
        error = response.json().get("error", "")
    except ValueError:
        error = ""
    if response.status_code == 400 and error in ("invalid_grant", "interaction_required"):
        raise GrantRevoked(_message(response), status=400)
    raise http_failure(response, _message(response))


def code_exchange(*, code: str, code_verifier: str, redirect_uri: str) -> Tokens:
    return tokens_from(_token_request({"grant_type": "authorization_code", "code": code,
                                   "code_verifier": code_verifier, "redirect_uri": redirect_uri}))


def token_refresh(*, refresh_token: str) -> Tokens:
    return tokens_from(_token_request({"grant_type": "refresh_token", "refresh_token": refresh_token}),
                   refresh_token=refresh_token)


def token_revoke(*, token: str) -> None:
    """Microsoft has no endpoint to revoke one app's refresh token; forgetting it is all we can do."""


def account_get(*, access_token: str) -> Account:
    body = _api("GET", "/me", access_token).json()
    return Account(id=str(body.get("id", "")), email=str(body.get("mail") or body.get("userPrincipalName") or ""))


# --- Calendars and events ------------------------------------------------------------------------


def calendars_list(*, access_token: str) -> list[RemoteCalendar]:
    calendars, url = [], "/me/calendars?$top=100"
    while url:
        body = _api("GET", url, access_token).json()
        for item in body.get("value", []):
            calendars.append(RemoteCalendar(id=item["id"], name=item.get("name") or "Calendar",
                                            primary=bool(item.get("isDefaultCalendar")),
                                            can_write=bool(item.get("canEdit", True))))
        url = body.get("@odata.nextLink")
    return calendars


def _when(value: dict) -> datetime:
    text = value["dateTime"].replace("Z", "")
    if "." in text:  # Graph writes seven fractional digits; Python reads six
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    zone = value.get("timeZone") or "UTC"
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC if zone.upper() in ("UTC", "Z") else _zone(zone))


def _zone(name: str):
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return UTC


def _event(item: dict, calendar_zone: ZoneInfo) -> RemoteEvent:
    if "@removed" in item or item.get("isCancelled") or "start" not in item:
        return RemoteEvent(id=item["id"], removed=True)
    all_day = bool(item.get("isAllDay"))
    start, end = _when(item["start"]), _when(item["end"])
    if all_day:
        # The day itself, in the calendar's zone, whatever zone Graph wrote midnight in.
        start = datetime.combine(date.fromisoformat(item["start"]["dateTime"][:10]), time(0), tzinfo=calendar_zone)
        end = datetime.combine(date.fromisoformat(item["end"]["dateTime"][:10]), time(0), tzinfo=calendar_zone)
    show_as = item.get("showAs", "busy")
    status = "tentative" if show_as == "tentative" else "confirmed"
    if ((item.get("responseStatus") or {}).get("response")) == "declined":
        status = "declined"
    return RemoteEvent(id=item["id"], start=start, end=end, all_day=all_day, status=status,
                       transparency="transparent" if show_as == "free" else "opaque")


def events_sync(*, access_token: str, calendar_id: str, sync_token: str, window: tuple[datetime, datetime],
                time_zone: str) -> SyncResult:
    """``calendarView/delta``: without a token, a full pass over ``window`` (occurrences of series
    expanded); with the last ``@odata.deltaLink``, only what changed since. Pages followed through
    ``@odata.nextLink`` until a new deltaLink."""
    zone = _zone(time_zone)
    result = SyncResult(full=not sync_token)
    if sync_token:
        url = sync_token
    else:
        params = urlencode({"startDateTime": _iso(window[0]), "endDateTime": _iso(window[1])})
        url = _graph_url(f"/me/calendars/{quote(calendar_id, safe='')}/calendarView/delta?{params}")
    prefer = f"{PREFER_UTC}, odata.maxpagesize={PAGE_SIZE}"
    while True:
        body = _api("GET", url, access_token, prefer=prefer).json()
        result.events.extend(_event(item, zone) for item in body.get("value", []))
        if body.get("@odata.nextLink"):
            url = body["@odata.nextLink"]
            continue
        result.next_token = body.get("@odata.deltaLink", "")
        return result


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(data: CallEventData) -> dict:
    return {
        "subject": data.title,
        "body": {"contentType": "text", "content": data.description},
        "start": {"dateTime": data.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": data.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "location": {"displayName": data.join_url},
        "showAs": "busy",
        "isReminderOn": True,
    }


def event_put(*, access_token: str, calendar_id: str, event_id: str, data: CallEventData) -> str:
    """Create the call's event (``event_id`` empty) or update it. A create carries the call's id as
    ``transactionId``, which Graph uses to drop a duplicate when a retry repeats a lost create."""
    if event_id:
        try:
            return _api("PATCH", f"/me/events/{quote(event_id, safe='')}", access_token, json=_body(data)).json()["id"]
        except RemoteNotFound:
            pass  # deleted in the calendar meanwhile: write it again
    body = {**_body(data), "transactionId": data.call_public_id}
    return _api("POST", f"/me/calendars/{quote(calendar_id, safe='')}/events", access_token, json=body).json()["id"]


def event_delete(*, access_token: str, calendar_id: str, event_id: str) -> None:
    with contextlib.suppress(RemoteNotFound):
        _api("DELETE", f"/me/events/{quote(event_id, safe='')}", access_token)


# --- Push ----------------------------------------------------------------------------------------


def _expiry() -> datetime:
    return timezone.now() + timedelta(minutes=SUBSCRIPTION_MINUTES)


def subscription_start(*, access_token: str, calendar_id: str, secret: str, address: str) -> tuple[str, datetime]:
    """Create a subscription (Graph first checks ``address`` answers its validation handshake);
    returns its id and expiry."""
    expires_at = _expiry()
    body = _api("POST", "/subscriptions", access_token, json={
        "changeType": "created,updated,deleted", "notificationUrl": address,
        "resource": f"me/calendars/{calendar_id}/events", "expirationDateTime": _iso(expires_at),
        "clientState": secret,
    }).json()
    return str(body["id"]), _parse_expiry(body.get("expirationDateTime"), expires_at)


def subscription_renew(*, access_token: str, subscription_id: str) -> datetime:
    expires_at = _expiry()
    body = _api("PATCH", f"/subscriptions/{quote(subscription_id, safe='')}", access_token,
                json={"expirationDateTime": _iso(expires_at)}).json()
    return _parse_expiry(body.get("expirationDateTime"), expires_at)


def subscription_stop(*, access_token: str, subscription_id: str) -> None:
    with contextlib.suppress(RemoteNotFound):
        _api("DELETE", f"/subscriptions/{quote(subscription_id, safe='')}", access_token)


def _parse_expiry(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    try:
        return _when({"dateTime": value, "timeZone": "UTC"}) if not value.endswith("+00:00") \
            else datetime.fromisoformat(value)
    except ValueError:
        return default

