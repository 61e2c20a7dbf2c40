"""What every calendar provider client returns and raises. The clients speak each provider's own
wire format over httpx; the sync, write-back and push code only sees these shapes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import httpx

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15.0
# A Retry-After longer than this is not waited for in the worker: the sync is rescheduled instead.
MAX_RETRY_AFTER_SECONDS = 3600


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime
    scope: str = ""


@dataclass(frozen=True)
class Account:
    id: str
    email: str


@dataclass(frozen=True)
class RemoteCalendar:
    id: str
    name: str
    primary: bool
    can_write: bool
    time_zone: str = "UTC"


@dataclass(frozen=True)
class RemoteEvent:
    """One event (or one occurrence of a series) as the mirror keeps it; ``removed`` when the
    provider reports it gone, ``ours`` when it is an event the product itself wrote for a call."""

    id: str
    start: datetime | None = None
    end: datetime | None = None
    all_day: bool = False
    transparency: str = "opaque"
    status: str = "confirmed"
    removed: bool = False
    ours: bool = False


@dataclass
class SyncResult:
    """Everything a sync returned, all pages followed; ``full`` when it started from scratch (the
    mirror is then replaced rather than patched)."""

    events: list[RemoteEvent] = field(default_factory=list)
    next_token: str = ""
    full: bool = False


@dataclass(frozen=True)
class CallEventData:
    """What the product writes into the consultant's calendar for a booked call."""

    call_public_id: str
    title: str
    description: str
    start: datetime
    end: datetime
    join_url: str
    attendees: tuple[str, ...] = ()


class ProviderError(Exception):
    """A provider refused or failed. ``temporary`` failures are retried (with ``retry_after``
    seconds when the provider said so); others need the consultant."""

    def __init__(self, message: str, *, temporary: bool = False, retry_after: int | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.temporary = temporary
        self.retry_after = retry_after
        self.status = status


class AccessTokenExpired(ProviderError):
    """401: refresh the access token and try once more."""


class GrantRevoked(ProviderError):
    """The refresh token no longer works (revoked, expired, password changed): reconnect."""


class SyncTokenInvalid(ProviderError):
    """410: the provider forgot our sync position; start a full sync."""


class RemoteNotFound(ProviderError):
    """404 (or 410 for a deleted event): the thing is not there."""


def tokens_from(body: dict, refresh_token: str = "") -> Tokens:
    """A token endpoint's answer. Without a new refresh token (Google's refresh answers) the one
    we had stays; with one (Microsoft rotates them) the newest is kept."""
    from datetime import timedelta

    from django.utils import timezone

    return Tokens(access_token=body["access_token"], refresh_token=body.get("refresh_token") or refresh_token,
                  expires_at=timezone.now() + timedelta(seconds=int(body.get("expires_in", 3600))),
                  scope=body.get("scope", ""))


def retry_after_of(response: httpx.Response) -> int | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return min(int(value), MAX_RETRY_AFTER_SECONDS)
    return None


def http_failure(response: httpx.Response, message: str) -> ProviderError:
    """The exception for a failed answer, by status (the body's own message is in ``message``)."""
    status = response.status_code
    if status == 401:
        return AccessTokenExpired(message, status=status)
    if status == 410:
        return SyncTokenInvalid(message, status=status)
    if status == 404:
        return RemoteNotFound(message, status=status)
    if status == 429 or status >= 500:
        return ProviderError(message, temporary=True, retry_after=retry_after_of(response), status=status)
    return ProviderError(message, status=status)


def send(method: str, url: str, **kwargs) -> httpx.Response:
    """One HTTP request; a network failure is a temporary ProviderError."""
    try:
        return httpx.request(method, url, timeout=TIMEOUT_SECONDS, **kwargs)
    except httpx.HTTPError as exc:
        logger.warning("Calendar provider unreachable (%s %s): %s", method, url.split("?")[0], exc)
        raise ProviderError("The calendar provider cannot be reached right now.", temporary=True) from exc
