"""What Google keeps on its side, as the emulator stores it: accounts and their calendars, OAuth grants,
events (every change numbered per calendar, for sync tokens), push channels and injected faults.

The ``dev_*`` functions and the account helpers below are what ``/sandbox/google/dev/...`` calls; a
development page may call them directly."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

import httpx
import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.http import http_date

from sandbox.google import events
from sandbox.google.errors import GoogleError, OAuthError, bad_request, not_found
from sandbox.models import (
    CalendarAccount,
    CalendarGrant,
    CalendarProvider,
    EmulatedCalendar,
    EmulatedChannel,
    EmulatedEvent,
    EmulatedFault,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

PROVIDER = CalendarProvider.GOOGLE
CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
CALENDAR_WRITE_SCOPES = (CALENDAR_SCOPE, f"{CALENDAR_SCOPE}.events")
# Google writes the OpenID shorthands out in full in what it grants.
SCOPE_ALIASES = {"email": "https://www.googleapis.com/auth/userinfo.email",
                 "profile": "https://www.googleapis.com/auth/userinfo.profile"}
ACCESS_TOKEN_LIFETIME = timedelta(seconds=3600)
CODE_LIFETIME = timedelta(minutes=10)
CHANNEL_DEFAULT_TTL = timedelta(days=7)
CHANNEL_MAX_TTL = timedelta(days=30)
FAULT_STATUSES = (429, 500, 502, 503, 504)
PUSH_USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"
TOKEN_PREFIXES = {CalendarGrant.Kind.CODE: "4/0A", CalendarGrant.Kind.ACCESS: "ya29.a0",
                  CalendarGrant.Kind.REFRESH: "1//0"}


class DevError(ValueError):
    """Bad input to a ``dev_*`` helper: answered 400 with its message."""


class DevNotFound(LookupError):
    """A ``dev_*`` helper was named something that does not exist: answered 404."""


# --- accounts and calendars -----------------------------------------------------------------------


def email_clean(email: object) -> str:
    if not isinstance(email, str):
        raise DevError("account_email is required.")
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise DevError(f"{email!r} is not an email address.") from None
    return email


def account_get(email: str) -> CalendarAccount | None:
    return CalendarAccount.objects.filter(provider=PROVIDER, email=email.strip().lower()).first()


def account_ensure(email: str) -> CalendarAccount:
    """The account of ``email``, created with its primary calendar (whose id is the address) on first use."""
    email = email_clean(email)
    local = email.split("@")[0].replace(".", " ").replace("_", " ").replace("-", " ")
    account, _ = CalendarAccount.objects.get_or_create(
        provider=PROVIDER, email=email,
        defaults={"data": {"sub": str(10**20 + secrets.randbelow(9 * 10**20)), "name": local.title() or email}})
    EmulatedCalendar.objects.get_or_create(account=account, calendar_id=email,
                                           defaults={"name": email, "primary": True, "time_zone": "UTC"})
    return account


def calendar_create(*, account: CalendarAccount, name: str, time_zone: str = "UTC") -> EmulatedCalendar:
    """A secondary calendar, with an id like Google's (``c_…@group.calendar.google.com``)."""
    events.zone(time_zone, "calendar")
    calendar_id = f"c_{secrets.token_hex(16)}@group.calendar.google.com"
    return EmulatedCalendar.objects.create(account=account, calendar_id=calendar_id, name=name, time_zone=time_zone)


def calendar_find(account: CalendarAccount, calendar_id: str) -> EmulatedCalendar:
    """The account's calendar by id; ``primary`` names the primary one (as Google's alias does)."""
    calendars = EmulatedCalendar.objects.select_related("account").filter(account=account)
    calendar = (calendars.filter(primary=True) if calendar_id == "primary"
                else calendars.filter(calendar_id=calendar_id)).first()
    if calendar is None:
        raise not_found()
    return calendar


def _etag(*parts: object) -> str:
    return '"' + hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()[:16] + '"'


def calendar_list_entry(calendar: EmulatedCalendar) -> dict:
    entry = {"kind": "calendar#calendarListEntry", "etag": _etag("entry", calendar.pk, calendar.name),
             "id": calendar.calendar_id, "summary": calendar.name, "timeZone": calendar.time_zone,
             "colorId": "14" if calendar.primary else "7",
             "backgroundColor": "#9fe1e7" if calendar.primary else "#42d692",
             "foregroundColor": "#000000", "selected": True, "accessRole": "owner", "defaultReminders": [],
             "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}
    if calendar.primary:
        entry["primary"] = True
    return entry


def calendar_resource(calendar: EmulatedCalendar) -> dict:
    return {"kind": "calendar#calendar", "etag": _etag("calendar", calendar.pk, calendar.name),
            "id": calendar.calendar_id, "summary": calendar.name, "timeZone": calendar.time_zone,
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}


# --- OAuth grants ---------------------------------------------------------------------------------


def scopes_normalize(scope: str) -> list[str]:
    granted: list[str] = []
    for item in scope.split():
        item = SCOPE_ALIASES.get(item, item)
        if item not in granted:
            granted.append(item)
    return granted


def _grant_issue(account: CalendarAccount, kind: str, *, client_id: str, scope: str, redirect_uri: str = "",
                 code_challenge: str = "", lifetime: timedelta | None = None) -> CalendarGrant:
    return CalendarGrant.objects.create(
        account=account, kind=kind, value=TOKEN_PREFIXES[kind] + secrets.token_urlsafe(48), client_id=client_id,
        redirect_uri=redirect_uri, scope=scope, code_challenge=code_challenge,
        expires_at=timezone.now() + lifetime if lifetime else None)


def _refresh_grants(account: CalendarAccount, client_id: str) -> QuerySet[CalendarGrant]:
    return CalendarGrant.objects.filter(account=account, client_id=client_id, kind=CalendarGrant.Kind.REFRESH,
                                        revoked=False)


@transaction.atomic
def code_issue(*, email: str, client_id: str, redirect_uri: str, scope: str, code_challenge: str,
               offline: bool, consent: bool, include_granted_scopes: bool) -> CalendarGrant:
    """An authorization code (10 minutes, single use). Whether its exchange hands out a refresh token is
    decided now, as Google does: offline access, and either a consent prompt or no refresh token yet."""
    account = account_ensure(email)
    granted = scopes_normalize(scope)
    if include_granted_scopes:
        for grant in _refresh_grants(account, client_id):
            granted += [item for item in grant.scope.split() if item not in granted]
    code = _grant_issue(account, CalendarGrant.Kind.CODE, client_id=client_id, scope=" ".join(granted),
                        redirect_uri=redirect_uri, code_challenge=code_challenge, lifetime=CODE_LIFETIME)
    account = CalendarAccount.objects.select_for_update().get(pk=account.pk)
    codes = account.data.get("codes", {})
    live = set(CalendarGrant.objects.filter(kind=CalendarGrant.Kind.CODE, value__in=list(codes), used=False,
                                            expires_at__gt=timezone.now()).values_list("value", flat=True))
    pending = {value: flags for value, flags in codes.items() if value in live}
    pending[code.value] = {"refresh": offline and (consent or not _refresh_grants(account, client_id).exists())}
    account.data = {**account.data, "codes": pending}
    account.save(update_fields=["data"])
    return code


def grant_account(value: str, kind: str) -> CalendarAccount | None:
    """The account a code or token belongs to, whatever its state (to apply that account's faults)."""
    grant = CalendarGrant.objects.select_related("account").filter(
        value=value, kind=kind, account__provider=PROVIDER).first()
    return grant.account if grant else None


def _token_response(account: CalendarAccount, *, client_id: str, scope: str, refresh: CalendarGrant | None) -> dict:
    access = _grant_issue(account, CalendarGrant.Kind.ACCESS, client_id=client_id, scope=scope,
                          lifetime=ACCESS_TOKEN_LIFETIME)
    body = {"access_token": access.value, "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()) - 1,
            "scope": scope, "token_type": "Bearer"}
    if refresh is not None:
        body["refresh_token"] = refresh.value
    if "openid" in scope.split():
        now = timezone.now()
        claims = {"iss": "https://accounts.google.com", "azp": client_id, "aud": client_id,
                  "sub": account.data.get("sub", ""), "email": account.email, "email_verified": True,
                  "iat": int(now.timestamp()), "exp": int((now + ACCESS_TOKEN_LIFETIME).timestamp())}
        # Google signs with RS256 keys of its own; a client that got the token straight from the token
        # endpoint may read it unverified, which is all the emulator's HS256 token is for.
        key = hashlib.sha256(f"id-token:{settings.GOOGLE_CLIENT_SECRET}".encode()).hexdigest()
        body["id_token"] = jwt.encode(claims, key, algorithm="HS256")
    return body


def _pkce_matches(verifier: str, challenge: str) -> bool:
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return secrets.compare_digest(digest, challenge)


@transaction.atomic
def token_from_code(*, client_id: str, code: str, redirect_uri: str, code_verifier: str) -> dict:
    grant = CalendarGrant.objects.select_for_update().select_related("account").filter(
        kind=CalendarGrant.Kind.CODE, value=code, account__provider=PROVIDER).first()
    if grant is None:
        raise OAuthError(400, "invalid_grant", "Malformed auth code.")
    if grant.used or grant.revoked or grant.expires_at <= timezone.now() or grant.client_id != client_id:
        raise OAuthError(400, "invalid_grant", "Bad Request")
    if redirect_uri != grant.redirect_uri:
        raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
    if not code_verifier:
        raise OAuthError(400, "invalid_grant", "Missing code verifier.")
    if not _pkce_matches(code_verifier, grant.code_challenge):
        raise OAuthError(400, "invalid_grant", "Invalid code verifier.")
    grant.used = True
    grant.save(update_fields=["used"])
    account = CalendarAccount.objects.select_for_update().get(pk=grant.account_id)
    codes = dict(account.data.get("codes", {}))
    flags = codes.pop(code, {})
    account.data = {**account.data, "codes": codes}
    account.save(update_fields=["data"])
    refresh = None
    if flags.get("refresh"):
        refresh = _grant_issue(account, CalendarGrant.Kind.REFRESH, client_id=client_id, scope=grant.scope)
    return _token_response(account, client_id=client_id, scope=grant.scope, refresh=refresh)


@transaction.atomic
def token_from_refresh(*, client_id: str, refresh_token: str) -> dict:
    """A new access token; Google keeps the refresh token (none comes back)."""
    grant = CalendarGrant.objects.select_related("account").filter(
        kind=CalendarGrant.Kind.REFRESH, value=refresh_token, account__provider=PROVIDER).first()
    if grant is None or grant.revoked:
        raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
    if grant.client_id != client_id:
        raise OAuthError(401, "unauthorized_client", "Unauthorized")
    return _token_response(grant.account, client_id=client_id, scope=grant.scope, refresh=None)


@transaction.atomic
def token_revoke(value: str) -> None:
    """Revoking any token of a grant ends the app's access: every token of that account and client."""
    grant = CalendarGrant.objects.filter(value=value, account__provider=PROVIDER).exclude(
        kind=CalendarGrant.Kind.CODE).first()
    expired = grant is not None and grant.kind == CalendarGrant.Kind.ACCESS and grant.expires_at <= timezone.now()
    if grant is None or grant.revoked or expired:
        raise OAuthError(400, "invalid_token", "Token expired or revoked")
    CalendarGrant.objects.filter(account_id=grant.account_id, client_id=grant.client_id).update(revoked=True)


def access_grant(value: str) -> CalendarGrant | None:
    """The live (unexpired, unrevoked) access token ``value``."""
    if not value:
        return None
    return CalendarGrant.objects.select_related("account").filter(
        kind=CalendarGrant.Kind.ACCESS, value=value, revoked=False, expires_at__gt=timezone.now(),
        account__provider=PROVIDER).first()


def userinfo(account: CalendarAccount) -> dict:
    name = account.data.get("name", account.email)
    return {"sub": account.data.get("sub", ""), "name": name, "given_name": name.split(" ")[0],
            "email": account.email, "email_verified": True}


# --- faults ---------------------------------------------------------------------------------------


def fault_add(*, email: str | None, status: int, count: int = 1, retry_after: int = 1) -> EmulatedFault:
    if status not in FAULT_STATUSES:
        raise DevError(f"status is one of {', '.join(map(str, FAULT_STATUSES))}.")
    if count < 1 or retry_after < 0:
        raise DevError("count is at least 1 and retry_after at least 0.")
    account = account_ensure(email) if email else None
    return EmulatedFault.objects.create(provider=PROVIDER, account=account, status=status, remaining=count,
                                        retry_after=retry_after)


@transaction.atomic
def fault_take(account: CalendarAccount | None) -> tuple[int, int] | None:
    """``(status, retry_after)`` of the next pending fault for ``account`` (its own first, then anyone's).
    Committed on its own, so the failed request still uses it up."""
    faults = EmulatedFault.objects.select_for_update().filter(provider=PROVIDER, remaining__gt=0)
    faults = faults.filter(Q(account=account) | Q(account__isnull=True)) if account else faults.filter(
        account__isnull=True)
    fault = faults.order_by(F("account_id").asc(nulls_last=True), "created", "pk").first()
    if fault is None:
        return None
    if fault.remaining <= 1:
        fault.delete()
    else:
        fault.remaining -= 1
        fault.save(update_fields=["remaining"])
    return fault.status, fault.retry_after


# --- events ---------------------------------------------------------------------------------------


def _lock(calendar: EmulatedCalendar) -> EmulatedCalendar:
    return EmulatedCalendar.objects.select_for_update(of=("self",)).select_related("account").get(pk=calendar.pk)


def _bump(calendar: EmulatedCalendar) -> int:
    """The calendar's next change number (the caller holds the calendar row's lock)."""
    calendar.change_seq += 1
    calendar.save(update_fields=["change_seq"])
    return calendar.change_seq


def row_when(row: EmulatedEvent) -> events.When:
    return events.When(row.start, row.end, row.all_day, row.data["start"], row.data["end"])


def instance_map(row: EmulatedEvent, calendar: EmulatedCalendar) -> dict[str, dict]:
    """The instances a live series has now (id → original start), within the expansion horizon."""
    if row.deleted or not row.recurrence:
        return {}
    found = events.occurrences(event_id=row.event_id, when=row_when(row), recurrence=row.recurrence,
                               calendar_zone=calendar.time_zone, after=None,
                               before=timezone.now() + events.HORIZON)
    return {item.id: item.start_json for item in found}


def _save_version(row: EmulatedEvent, calendar: EmulatedCalendar, *, before: dict[str, dict]) -> None:
    """Number the change, stamp etag/updated, keep the instances that ceased to exist, notify watchers."""
    now = timezone.now()
    seq = _bump(calendar)
    gone = {**row.data.get("_gone", {}), **before}
    for instance_id in instance_map(row, calendar):
        gone.pop(instance_id, None)
    row.data.update(etag=f'"{int(now.timestamp() * 1000)}{seq:06d}"', updated=events.stamp(now))
    if gone:
        row.data["_gone"] = gone
    else:
        row.data.pop("_gone", None)
    row.change_seq, row.updated = seq, now
    row.save()
    channels_notify(calendar)


def _row(calendar: EmulatedCalendar, event_id: str, *, lock: bool = False) -> EmulatedEvent | None:
    rows = EmulatedEvent.objects.filter(calendar=calendar, event_id=event_id)
    return (rows.select_for_update() if lock else rows).first()


def _build(calendar: EmulatedCalendar, body: object, **kwargs) -> tuple[dict, events.When, list[str]]:
    return events.event_build(body, calendar_id=calendar.calendar_id, calendar_name=calendar.name,
                              primary=calendar.primary, calendar_zone=calendar.time_zone,
                              owner_email=calendar.account.email, now=timezone.now(), **kwargs)


@transaction.atomic
def event_insert(*, calendar: EmulatedCalendar, body: object, organizer: dict | None = None) -> dict:
    calendar = _lock(calendar)
    data, when, recurrence = _build(calendar, body, organizer=organizer)
    if _row(calendar, data["id"]) is not None:
        raise GoogleError(409, "The requested identifier already exists.", reason="duplicate")
    row = EmulatedEvent(calendar=calendar, event_id=data["id"], data=data, start=when.start, end=when.end,
                        all_day=when.all_day, recurrence=recurrence, deleted=data["status"] == "cancelled")
    _save_version(row, calendar, before={})
    return events.public(row.data)


@transaction.atomic
def event_update(*, calendar: EmulatedCalendar, event_id: str, body: object, patch: bool) -> dict:
    """``PUT`` (``patch=False``: the body replaces the event) or ``PATCH`` (merged into it)."""
    calendar = _lock(calendar)
    row = _row(calendar, event_id, lock=True)
    if row is None:
        raise not_found()
    if row.deleted:
        raise GoogleError(410, "Resource has been deleted", reason="deleted")
    if not isinstance(body, dict):
        raise GoogleError(400, "Parse Error", reason="parseError")
    before = instance_map(row, calendar)
    source = events.merge(events.public(row.data), body) if patch else body
    data, when, recurrence = _build(calendar, source, existing=row.data)
    if "_gone" in row.data:
        data["_gone"] = row.data["_gone"]
    row.data, row.start, row.end, row.all_day, row.recurrence = data, when.start, when.end, when.all_day, recurrence
    row.deleted = data["status"] == "cancelled"
    _save_version(row, calendar, before=before)
    return events.public(row.data)


@transaction.atomic
def event_delete(*, calendar: EmulatedCalendar, event_id: str) -> None:
    """The event stays, cancelled, so that incremental syncs report it."""
    calendar = _lock(calendar)
    row = _row(calendar, event_id, lock=True)
    if row is None:
        raise not_found()
    if row.deleted:
        raise GoogleError(410, "Resource has been deleted", reason="deleted")
    before = instance_map(row, calendar)
    row.deleted = True
    row.data["status"] = "cancelled"
    _save_version(row, calendar, before=before)


def event_get(*, calendar: EmulatedCalendar, event_id: str) -> dict:
    """An event (cancelled ones too, as Google answers them) or one instance of a series."""
    row = _row(calendar, event_id)
    if row is not None:
        return events.public(row.data)
    master_id, _, suffix = event_id.rpartition("_")
    master = _row(calendar, master_id) if master_id and suffix else None
    if master is None or master.deleted or not master.recurrence:
        raise not_found()
    for item in events.occurrences(event_id=master.event_id, when=row_when(master), recurrence=master.recurrence,
                                   calendar_zone=calendar.time_zone, after=None,
                                   before=timezone.now() + events.HORIZON):
        if item.id == event_id:
            return events.instance(master.data, item)
    raise not_found()


# --- push channels --------------------------------------------------------------------------------


def _channels_active(calendar: EmulatedCalendar) -> QuerySet[EmulatedChannel]:
    return EmulatedChannel.objects.filter(provider=PROVIDER, calendar=calendar, stopped=False,
                                          expires_at__gt=timezone.now())


def channels_notify(calendar: EmulatedCalendar) -> None:
    """Tell every channel watching ``calendar`` that it changed, once the change is committed."""
    for pk in _channels_active(calendar).values_list("pk", flat=True):
        transaction.on_commit(partial(channel_deliver, pk, "exists"))


def channel_deliver(channel_pk: int, state: str) -> int | None:
    """POST one notification (empty body, ``X-Goog-*`` headers) to the channel's address."""
    with transaction.atomic():
        channel = EmulatedChannel.objects.select_for_update().filter(pk=channel_pk).first()
        if channel is None or channel.stopped or channel.expires_at <= timezone.now():
            return None
        channel.message_number += 1
        channel.save(update_fields=["message_number"])
    headers = {"X-Goog-Channel-ID": channel.channel_id,
               "X-Goog-Channel-Expiration": http_date(channel.expires_at.timestamp()),
               "X-Goog-Resource-ID": channel.resource_id,
               "X-Goog-Resource-URI": channel.data.get("resource_uri", ""),
               "X-Goog-Resource-State": state,
               "X-Goog-Message-Number": str(channel.message_number),
               "User-Agent": PUSH_USER_AGENT}
    if channel.token:
        headers["X-Goog-Channel-Token"] = channel.token
    try:
        response = httpx.post(channel.address, content=b"", headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        logger.warning("Push notification %s #%s to %s failed: %s", channel.channel_id, channel.message_number,
                       channel.address, exc)
        return None
    return response.status_code


def _channel_json(channel: EmulatedChannel) -> dict:
    body = {"kind": "api#channel", "id": channel.channel_id, "resourceId": channel.resource_id,
            "resourceUri": channel.data.get("resource_uri", ""),
            "expiration": str(int(channel.expires_at.timestamp() * 1000))}
    if channel.token:
        body["token"] = channel.token
    return body


@transaction.atomic
def channel_create(*, calendar: EmulatedCalendar, body: object, resource_uri: str) -> dict:
    """``events.watch``: a channel, and its ``sync`` message once it is committed."""
    if not isinstance(body, dict):
        raise GoogleError(400, "Parse Error", reason="parseError")
    channel_id, address, token = body.get("id"), body.get("address"), body.get("token") or ""
    if not isinstance(channel_id, str) or not channel_id:
        raise GoogleError(400, "Required", reason="required", location="id")
    if len(channel_id) > 64:
        raise bad_request("Invalid channel id.", location="id")
    if body.get("type") not in ("web_hook", "webhook"):
        raise bad_request(f"Invalid value for: {body.get('type')} is not a valid value", reason="invalidParameter")
    if not isinstance(address, str) or not address.startswith(("https://", "http://")):
        raise bad_request("Invalid value for address: a WebHook callback must be an https URL.")
    if not isinstance(token, str) or len(token) > 256:
        raise bad_request("Invalid channel token.")
    now = timezone.now()
    ttl = CHANNEL_DEFAULT_TTL
    params = body.get("params") or {}
    try:
        if isinstance(params, dict) and params.get("ttl") is not None:
            ttl = timedelta(seconds=int(params["ttl"]))
        expires_at = now + min(ttl, CHANNEL_MAX_TTL)
        if body.get("expiration") is not None:
            requested = datetime.fromtimestamp(int(body["expiration"]) / 1000, tz=now.tzinfo)
            expires_at = min(requested, now + CHANNEL_MAX_TTL)
    except (TypeError, ValueError, OverflowError):
        raise bad_request("Invalid channel expiration.") from None
    if expires_at <= now:
        raise bad_request("Invalid channel expiration: it is in the past.")
    try:
        with transaction.atomic():
            channel = EmulatedChannel.objects.create(
                provider=PROVIDER, calendar=calendar, channel_id=channel_id, resource_id=secrets.token_urlsafe(20),
                address=address, token=token, expires_at=expires_at,
                data={"resource_uri": resource_uri, "type": body["type"]})
    except IntegrityError:
        raise bad_request(f"Channel id {channel_id} not unique", reason="channelIdNotUnique") from None
    transaction.on_commit(partial(channel_deliver, channel.pk, "sync"))
    return _channel_json(channel)


@transaction.atomic
def channel_stop(*, account: CalendarAccount, channel_id: object, resource_id: object) -> None:
    channel = EmulatedChannel.objects.select_for_update().filter(
        provider=PROVIDER, channel_id=channel_id, calendar__account=account, stopped=False).first()
    if channel is None or channel.resource_id != resource_id:
        raise GoogleError(404, f"Channel '{channel_id}' not found for project 'consultio'", reason="notFound")
    channel.stopped = True
    channel.save(update_fields=["stopped"])


# --- development helpers --------------------------------------------------------------------------


def _dev_times(start: object, end: object, all_day: bool, time_zone: str) -> dict:
    """The start/end of a Google event body from the dev contract's strings."""
    if all_day:
        if not all(isinstance(v, str) and events.DATE.fullmatch(v) for v in (start, end)):
            raise DevError("With all_day, start and end are dates: YYYY-MM-DD (end exclusive).")
        return {"start": {"date": start}, "end": {"date": end}}
    times = {}
    for name, value in (("start", start), ("end", end)):
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) and "T" in value.upper() else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise DevError(f"{name} is an RFC 3339 time with an offset, e.g. 2030-01-07T10:00:00+01:00.")
        times[name] = {"dateTime": value, "timeZone": time_zone}
    return times


def _dev_calendar(account: CalendarAccount, calendar_id: object) -> EmulatedCalendar:
    try:
        return calendar_find(account, calendar_id if isinstance(calendar_id, str) else "")
    except GoogleError:
        raise DevError(f"{account.email} has no calendar {calendar_id!r}.") from None


def _dev_call(fn: Callable[..., T], **kwargs: object) -> T:
    """Google's validation errors, as the dev contract's plain messages."""
    try:
        return fn(**kwargs)
    except GoogleError as exc:
        raise DevError(str(exc)) from None


def dev_event_create(*, email: str, calendar: str = "primary", summary: str = "", start: object = None,
                     end: object = None, all_day: bool = False, transparent: bool = False,
                     recurrence: object = None, declined: bool = False, cancelled: bool = False,
                     description: str = "", location: str = "") -> dict:
    """An event added by the account's owner (in their calendar app), push notification included."""
    with transaction.atomic():
        account = account_ensure(email)
        target = _dev_calendar(account, calendar)
        body = {"summary": summary, **_dev_times(start, end, bool(all_day), target.time_zone)}
        if description:
            body["description"] = description
        if location:
            body["location"] = location
        if transparent:
            body["transparency"] = "transparent"
        if recurrence:
            rules = [recurrence] if isinstance(recurrence, str) else recurrence
            if not isinstance(rules, list) or not all(isinstance(r, str) and r.startswith("RRULE:") for r in rules):
                raise DevError('recurrence is one RRULE string, e.g. "RRULE:FREQ=DAILY;COUNT=3".')
            body["recurrence"] = rules
        if cancelled:
            body["status"] = "cancelled"
        organizer = None
        if declined:
            # Only an invitation can be declined: someone else organizes it, the owner is a guest.
            organizer = {"email": "organizer@example.com", "displayName": "Organizer"}
            body["attendees"] = [{"email": organizer["email"], "responseStatus": "accepted"},
                                 {"email": account.email, "responseStatus": "declined"}]
        return _dev_call(event_insert, calendar=target, body=body, organizer=organizer)


def _dev_row(event_id: str, email: str | None) -> EmulatedEvent:
    rows = EmulatedEvent.objects.select_related("calendar__account").filter(
        calendar__account__provider=PROVIDER, event_id=event_id, deleted=False)
    if email:
        rows = rows.filter(calendar__account__email=email.strip().lower())
    found = list(rows[:2])
    if not found:
        raise DevNotFound(f"No event {event_id!r}.")
    if len(found) > 1:
        raise DevError(f"Several accounts have an event {event_id!r}: pass account_email.")
    return found[0]


def dev_event_update(*, event_id: str, email: str | None = None, changes: dict) -> dict:
    """Move or rename an event as its owner would (``summary``, ``start``, ``end``, ``all_day``, ``transparent``)."""
    unknown = set(changes) - {"summary", "start", "end", "all_day", "transparent", "account_email"}
    if unknown:
        raise DevError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    row = _dev_row(event_id, email)
    patch: dict = {}
    if "summary" in changes:
        patch["summary"] = changes["summary"]
    if "transparent" in changes:
        # None clears the field: opaque is Google's default, shown by its absence.
        patch["transparency"] = "transparent" if changes["transparent"] else None
    if {"start", "end", "all_day"} & set(changes):
        all_day = bool(changes.get("all_day", row.all_day))
        current = row.data["start"].get("date") or row.data["start"].get("dateTime"), (
            row.data["end"].get("date") or row.data["end"].get("dateTime"))
        patch.update(_dev_times(changes.get("start", current[0]), changes.get("end", current[1]), all_day,
                                row.calendar.time_zone))
    return _dev_call(event_update, calendar=row.calendar, event_id=event_id, body=patch, patch=True)


def dev_event_delete(*, event_id: str, email: str | None = None) -> None:
    row = _dev_row(event_id, email)
    event_delete(calendar=row.calendar, event_id=event_id)


def dev_events_list(email: str) -> list[dict]:
    """The live events of all the account's calendars (series as their masters), earliest first."""
    rows = EmulatedEvent.objects.filter(calendar__account__provider=PROVIDER,
                                        calendar__account__email=email.strip().lower(), deleted=False)
    return [events.public(row.data) for row in rows.order_by("start", "pk")]


def dev_calendar_create(*, email: str, name: str, time_zone: str = "UTC") -> dict:
    if not isinstance(name, str) or not name.strip():
        raise DevError("name is required.")
    with transaction.atomic():
        try:
            calendar = calendar_create(account=account_ensure(email), name=name.strip(), time_zone=time_zone)
        except GoogleError:
            raise DevError(f"Unknown time zone {time_zone!r}.") from None
    return calendar_list_entry(calendar)


def tokens_expire(email: str) -> int:
    """The account's access tokens expire now: its next API call gets a 401."""
    return CalendarGrant.objects.filter(account__provider=PROVIDER, account__email=email.strip().lower(),
                                        kind=CalendarGrant.Kind.ACCESS, expires_at__gt=timezone.now()).update(
        expires_at=timezone.now())


def grants_revoke(email: str) -> int:
    """Everything the account granted is revoked, as when its owner removes the app's access."""
    return CalendarGrant.objects.filter(account__provider=PROVIDER, account__email=email.strip().lower(),
                                        revoked=False).update(revoked=True)


def sync_invalidate(email: str) -> int:
    """Every sync token issued so far for the account's calendars becomes invalid (410 on next use)."""
    return EmulatedCalendar.objects.filter(account__provider=PROVIDER, account__email=email.strip().lower()).update(
        sync_epoch=F("sync_epoch") + 1)


def channels_list(email: str) -> list[dict]:
    channels = EmulatedChannel.objects.select_related("calendar").filter(
        provider=PROVIDER, calendar__account__email=email.strip().lower()).order_by("created", "pk")
    return [{"id": channel.channel_id, "calendar": channel.calendar.calendar_id, "address": channel.address,
             "expires_at": channel.expires_at.isoformat(), "stopped": channel.stopped,
             "resource_id": channel.resource_id} for channel in channels]
