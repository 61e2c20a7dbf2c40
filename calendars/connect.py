"""Connecting a Google or Microsoft account (OAuth 2 authorization code with PKCE), and keeping its
access token fresh.

Provider apps register one redirect URI, so the callback lives on the platform host
(``/oauth/callback/<provider>``). The ``state`` is signed and names the tenant, the consultant, the
provider and the attempt; it lives ten minutes. The PKCE verifier stays in the tenant's
``OAuthAttempt`` row and is used once: a stolen code is useless without it."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from datetime import timedelta

from django.core import signing
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from calendars.crypto import TokenUnreadable, token_decrypt, token_encrypt
from calendars.models import OAUTH_PROVIDERS, CalendarConnection, ExternalCalendar, OAuthAttempt
from calendars.providers import client
from calendars.providers.base import AccessTokenExpired, GrantRevoked, Tokens
from core.exceptions import InvalidInput

logger = logging.getLogger(__name__)

STATE_SALT = "calendars.oauth.state"
STATE_MAX_AGE = timedelta(minutes=10)
# Refresh a little before the provider would refuse the token.
REFRESH_MARGIN = timedelta(minutes=2)


class StateInvalid(Exception):
    """The callback's ``state`` is forged, altered, expired or already used."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def redirect_uri(provider: str) -> str:
    from tenants.selectors import platform_url

    return f"{platform_url()}/oauth/callback/{provider}"


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def connect_start(*, consultant, provider: str, login_hint: str = "") -> str:
    """The provider's consent page address for ``consultant`` (in the current tenant's schema)."""
    if provider not in OAUTH_PROVIDERS:
        raise InvalidInput("Choose “google” or “microsoft” (or “ics” with a url).", field="provider")
    attempt = OAuthAttempt.objects.create(consultant=consultant, provider=provider,
                                          code_verifier=secrets.token_urlsafe(64))
    state = signing.dumps({"t": db_connection.schema_name, "u": consultant.pk, "p": provider, "a": attempt.pk},
                          salt=STATE_SALT, compress=True)
    return client(provider).authorize_url(state=state, code_challenge=_challenge(attempt.code_verifier),
                                          redirect_uri=redirect_uri(provider), login_hint=login_hint)


def state_read(*, state: str, provider: str) -> dict:
    """The tenant schema (``t``), consultant id (``u``) and attempt id (``a``) ``state`` names."""
    try:
        data = signing.loads(state or "", salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise StateInvalid("This connection link has expired (links last 10 minutes). "
                           "Start connecting the calendar again from your workspace.") from None
    except signing.BadSignature:
        raise StateInvalid("This connection link is not valid. "
                           "Start connecting the calendar again from your workspace.") from None
    if not isinstance(data, dict) or data.get("p") != provider or not {"t", "u", "a"} <= data.keys():
        raise StateInvalid("This connection link is not valid. "
                           "Start connecting the calendar again from your workspace.")
    return data


def _attempt_use(*, attempt_id: int, consultant_id: int, provider: str) -> OAuthAttempt:
    with transaction.atomic():
        attempt = OAuthAttempt.objects.select_for_update().filter(
            pk=attempt_id, consultant_id=consultant_id, provider=provider,
            created_at__gte=timezone.now() - STATE_MAX_AGE).first()
        if attempt is None or attempt.used:
            raise StateInvalid("This connection link was already used or has expired. "
                               "Start connecting the calendar again from your workspace.")
        attempt.used = True
        attempt.save(update_fields=["used"])
    return attempt


def connect_finish(*, data: dict, code: str) -> CalendarConnection:
    """In the tenant's schema: swap the code for tokens, learn the account and its calendars, and
    create the connection (or renew the existing one for the same account)."""
    from accounts.models import User

    provider = data["p"]
    attempt = _attempt_use(attempt_id=data["a"], consultant_id=data["u"], provider=provider)
    consultant = User.objects.filter(pk=attempt.consultant_id, is_active=True).first()
    if consultant is None:
        raise StateInvalid("This account can no longer connect calendars here.")
    api = client(provider)
    tokens = api.code_exchange(code=code, code_verifier=attempt.code_verifier, redirect_uri=redirect_uri(provider))
    account = api.account_get(access_token=tokens.access_token)
    remote = api.calendars_list(access_token=tokens.access_token)
    with transaction.atomic():
        conn, created = CalendarConnection.objects.select_for_update().get_or_create(
            consultant=consultant, provider=provider, account_id=account.id,
            defaults={"account_email": account.email})
        _tokens_store(conn, tokens)
        conn.account_email = account.email or conn.account_email
        conn.status = CalendarConnection.Status.ACTIVE
        conn.failure_reason = ""
        conn.failure_notified_at = None
        conn.next_sync_at = timezone.now()
        conn.save()
        calendars_update(conn, remote, time_zone=_consultant_zone(consultant))
    logger.info("Consultant %s %s %s calendar account", consultant.pk, "connected" if created else "reconnected",
                provider)
    return conn


def _consultant_zone(consultant) -> str:
    profile = getattr(consultant, "profile", None)
    return getattr(profile, "time_zone", "") or "UTC"


def calendars_update(conn: CalendarConnection, remote: list, *, time_zone: str) -> None:
    """Keep the connection's calendars in step with the provider's list. A new primary calendar is
    readable, and writable when the consultant has no writable calendar yet; others start off."""
    known = {cal.provider_calendar_id: cal for cal in conn.calendars.all()}
    has_writable = ExternalCalendar.objects.filter(consultant_id=conn.consultant_id, writable=True).exists()
    for item in remote:
        calendar = known.pop(item.id, None)
        if calendar is None:
            writable = item.primary and item.can_write and not has_writable
            has_writable = has_writable or writable
            ExternalCalendar.objects.create(
                connection=conn, consultant_id=conn.consultant_id, provider_calendar_id=item.id,
                name=item.name[:300], primary=item.primary, can_write=item.can_write, readable=item.primary,
                writable=writable, time_zone=item.time_zone if item.time_zone != "UTC" else time_zone)
        else:
            calendar.name, calendar.primary, calendar.can_write = item.name[:300], item.primary, item.can_write
            if not item.can_write:
                calendar.writable = False
            calendar.save(update_fields=["name", "primary", "can_write", "writable"])
    for gone in known.values():
        # Removed at the provider: its mirrored events go with it; its channels lapse there.
        from core.models import PushRoute

        PushRoute.objects.filter(channel_id__in=list(gone.channels.values_list("channel_id", flat=True))).delete()
        gone.delete()


def _tokens_store(conn: CalendarConnection, tokens: Tokens) -> None:
    conn.access_token = token_encrypt(tokens.access_token)
    if tokens.refresh_token:
        conn.refresh_token = token_encrypt(tokens.refresh_token)
    conn.token_expires_at = tokens.expires_at
    conn.scope = tokens.scope[:500]


def access_token(conn: CalendarConnection, *, force_refresh: bool = False) -> str:
    """A working access token, refreshed (and stored) when it is about to expire.

    Raises ``GrantRevoked`` when the provider no longer accepts the refresh token; the caller
    marks the connection for reconnecting."""
    expires = conn.token_expires_at
    if not force_refresh and expires and expires - REFRESH_MARGIN > timezone.now():
        try:
            return token_decrypt(conn.access_token)
        except TokenUnreadable:
            pass
    with transaction.atomic():
        locked = CalendarConnection.objects.select_for_update().get(pk=conn.pk)
        # Another worker may have refreshed while we waited for the lock.
        if not force_refresh and locked.token_expires_at and locked.token_expires_at != expires \
                and locked.token_expires_at - REFRESH_MARGIN > timezone.now():
            conn.access_token, conn.token_expires_at = locked.access_token, locked.token_expires_at
            return token_decrypt(locked.access_token)
        try:
            refresh = token_decrypt(locked.refresh_token)
        except TokenUnreadable as exc:
            raise GrantRevoked(str(exc)) from exc
        if not refresh:
            raise GrantRevoked("No refresh token is stored for this calendar account.")
        tokens = client(conn.provider).token_refresh(refresh_token=refresh)
        _tokens_store(locked, tokens)
        locked.save(update_fields=["access_token", "refresh_token", "token_expires_at", "scope"])
    conn.access_token, conn.refresh_token = locked.access_token, locked.refresh_token
    conn.token_expires_at = locked.token_expires_at
    return tokens.access_token


def with_token(conn: CalendarConnection, work):
    """``work(access_token)``, refreshing once if the provider says the token expired early."""
    try:
        return work(access_token(conn))
    except AccessTokenExpired:
        return work(access_token(conn, force_refresh=True))
