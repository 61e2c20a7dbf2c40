"""Graph subscriptions to a calendar's events (stored as ``EmulatedChannel`` rows): creation with
Graph's validation handshake, renewal, deletion, and their JSON. The notifications themselves are
sent by ``store.notify``."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx
from django.utils import timezone

from sandbox.microsoft import store
from sandbox.microsoft.errors import GraphError
from sandbox.microsoft.events import iso_z, parse_iso
from sandbox.models import CalendarAccount, EmulatedCalendar, EmulatedChannel

# Outlook resources (events, messages, contacts): Graph refuses an expiration further away.
MAX_MINUTES = 4230
CHANGE_TYPES = ("created", "updated", "deleted")
CLIENT_STATE_MAX = 128
VALIDATION_TIMEOUT = 10
_RESOURCE = re.compile(
    r"^/?(?:me|users/(?P<user>[^/]+))/(?:(?:calendar/)?events|calendars(?:/(?P<id>[^/()']+)|\('(?P<quoted>[^']+)'\))"
    r"/events)$", re.IGNORECASE)


def _invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


def _calendar_of(account: CalendarAccount, resource: Any) -> EmulatedCalendar:
    """The calendar a resource such as ``me/calendars/{id}/events`` or ``/me/events`` names."""
    match = _RESOURCE.match(resource) if isinstance(resource, str) else None
    if match is None:
        raise _invalid(f"Invalid 'resource' attribute: '{resource}'. Subscribe to me/events or "
                       "me/calendars/{id}/events.")
    user = match.group("user")
    if user and user.lower() not in (store.user_id(account).lower(), account.email):
        raise GraphError(403, "ExtensionError", "Operation: Create; Exception: [Status Code: Forbidden; Reason: "
                         "Access is denied. Check credentials and try again.]")
    calendar = store.calendar_find(account, match.group("id") or match.group("quoted"))
    if calendar is None:
        raise GraphError(404, "ExtensionError", "Operation: Create; Exception: [Status Code: NotFound; Reason: "
                         "The specified object was not found in the store.]")
    return calendar


def _expiration(value: Any) -> datetime:
    try:
        moment = parse_iso(value, ZoneInfo("UTC")).astimezone(UTC)
    except (ValueError, AttributeError):
        raise _invalid("expirationDateTime must be an ISO 8601 date-time.") from None
    now = timezone.now()
    if moment <= now:
        raise _invalid("Subscription expiration must be in the future.")
    if moment > now + timedelta(minutes=MAX_MINUTES):
        raise GraphError(400, "ExtensionError", f"Subscription expiration can only be {MAX_MINUTES} minutes in the "
                         "future.")
    return moment


def _url(value: Any, name: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid(f"Invalid '{name}' attribute: an absolute http(s) URL is required.")
    return value


def validate_endpoint(url: str) -> None:
    """Graph's handshake: POST ``url?validationToken=…``; the endpoint must answer 200 with the token
    as text/plain within 10 seconds, or the subscription is refused."""
    token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
    target = f"{url}{'&' if '?' in url else '?'}{urlencode({'validationToken': token})}"
    try:
        response = httpx.post(target, content=b"", timeout=VALIDATION_TIMEOUT,
                              headers={"Content-Type": "text/plain; charset=utf-8"})
    except httpx.TimeoutException:
        raise GraphError(400, "ValidationError", "Subscription validation request timed out.") from None
    except httpx.HTTPError:
        raise GraphError(400, "ValidationError", "Subscription validation request failed. Notification endpoint "
                         "must respond with 200 OK to validation request.") from None
    if response.status_code != 200:
        raise GraphError(400, "ValidationError", "Subscription validation request failed. Notification endpoint "
                         "must respond with 200 OK to validation request.")
    if response.text != token or not response.headers.get("content-type", "").startswith("text/plain"):
        raise GraphError(400, "ValidationError", "Subscription validation request failed. Response must exactly "
                         "match validationToken query parameter.")


def subscription_create(*, account: CalendarAccount, client_id: str, body: Any) -> EmulatedChannel:
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
        if not body.get(name):
            raise _invalid(f"The '{name}' attribute is required.")
    change_types = [part.strip() for part in str(body["changeType"]).split(",")]
    if any(part not in CHANGE_TYPES for part in change_types):
        raise _invalid(f"Invalid 'changeType' attribute: '{body['changeType']}'.")
    client_state = body.get("clientState") or ""
    if not isinstance(client_state, str) or len(client_state) > CLIENT_STATE_MAX:
        raise _invalid(f"clientState must be a string of at most {CLIENT_STATE_MAX} characters.")
    notification_url = _url(body["notificationUrl"], "notificationUrl")
    lifecycle_url = _url(body["lifecycleNotificationUrl"], "lifecycleNotificationUrl") if body.get(
        "lifecycleNotificationUrl") else None
    expires_at = _expiration(body["expirationDateTime"])
    calendar = _calendar_of(account, body["resource"])
    validate_endpoint(notification_url)
    if lifecycle_url:
        validate_endpoint(lifecycle_url)
    return EmulatedChannel.objects.create(
        provider=store.PROVIDER, calendar=calendar, channel_id=str(uuid.uuid4()), resource_id=calendar.calendar_id,
        address=notification_url, token=client_state, expires_at=expires_at,
        data={"resource": body["resource"], "changeType": ",".join(change_types), "applicationId": client_id,
              "creatorId": store.user_id(account), "lifecycleNotificationUrl": lifecycle_url})


def subscription_find(account: CalendarAccount, subscription_id: str) -> EmulatedChannel | None:
    """A live subscription of the account (Graph forgets expired and deleted ones)."""
    return (EmulatedChannel.objects.select_related("calendar")
            .filter(provider=store.PROVIDER, calendar__account=account, channel_id=subscription_id, stopped=False,
                    expires_at__gt=timezone.now()).first())


def subscription_list(account: CalendarAccount, client_id: str) -> list[EmulatedChannel]:
    return list(EmulatedChannel.objects.filter(
        provider=store.PROVIDER, calendar__account=account, stopped=False, expires_at__gt=timezone.now(),
        data__applicationId=client_id).order_by("created", "pk"))


def subscription_update(channel: EmulatedChannel, body: Any) -> EmulatedChannel:
    """Renewal (``expirationDateTime``) and/or a new ``notificationUrl`` (validated again)."""
    if not isinstance(body, dict) or not ({"expirationDateTime", "notificationUrl"} & body.keys()):
        raise _invalid("Send expirationDateTime and/or notificationUrl.")
    fields = []
    if "expirationDateTime" in body:
        channel.expires_at = _expiration(body["expirationDateTime"])
        fields.append("expires_at")
    if "notificationUrl" in body:
        url = _url(body["notificationUrl"], "notificationUrl")
        validate_endpoint(url)
        channel.address = url
        fields.append("address")
    channel.save(update_fields=fields)
    return channel


def subscription_delete(channel: EmulatedChannel) -> None:
    channel.stopped = True
    channel.save(update_fields=["stopped"])


def subscription_json(channel: EmulatedChannel) -> dict:
    return {
        "id": channel.channel_id, "resource": channel.data["resource"],
        "applicationId": channel.data["applicationId"], "changeType": channel.data["changeType"],
        "clientState": channel.token or None, "notificationUrl": channel.address,
        "notificationQueryOptions": None, "lifecycleNotificationUrl": channel.data.get("lifecycleNotificationUrl"),
        "expirationDateTime": iso_z(channel.expires_at), "creatorId": channel.data["creatorId"],
        "includeResourceData": None, "latestSupportedTlsVersion": "v1_2", "encryptionCertificate": None,
        "encryptionCertificateId": None, "notificationUrlAppId": None,
    }
