"""What the emulated Microsoft keeps: accounts with their calendars, events and their change numbers,
injected faults, and the change notifications it sends to subscriptions.

Every change of an event raises its calendar's ``change_seq`` (the calendar row locked) and stores
the new number on the event, with the event's timing after the change, so that delta links can
name the last change they saw. Deleted events stay, marked. Notifications are posted once the
change is committed, one per subscription, synchronously (as ``sandbox.stripe.store.deliver`` does).

The functions at the end (``dev_*``, ``tokens_expire``, …) are the helpers behind
``/sandbox/microsoft/dev/…`` (JSON in and out), for scripts, tests and development pages: they change
the calendars as their owner would in Outlook."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from sandbox.microsoft.errors import GraphError
from sandbox.microsoft.events import (
    NO_TIME,
    VERSIONS_KEPT,
    Timing,
    event_input,
    ical_uid_new,
    iso_z,
    new_change_key,
    new_id,
    occurrence_parse,
    pattern_for_rrule,
    present,
    stamp,
    web_link,
)
from sandbox.microsoft.recurrence import RecurrenceError
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
PROVIDER = CalendarProvider.MICROSOFT
# Graph names this tenant for personal Microsoft accounts; the emulator's accounts all live in it.
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
DEFAULT_CALENDAR_NAME = "Calendar"
CALENDAR_COLORS = ("lightBlue", "lightGreen", "lightOrange", "lightGray", "lightYellow", "lightTeal", "lightPink",
                   "lightBrown", "lightRed")
FAULT_STATUSES = (429, 500, 503)
UTC_ZONE = ZoneInfo("UTC")


# --- accounts and calendars ------------------------------------------------------------------------


def account_find(email: str) -> CalendarAccount | None:
    return CalendarAccount.objects.filter(provider=PROVIDER, email=email.strip().lower()).first()


@transaction.atomic
def account_ensure(email: str) -> CalendarAccount:
    """The account of ``email``, created with its default calendar on first use."""
    email = email.strip().lower()
    local = email.split("@")[0]
    display_name = " ".join(part.capitalize() for part in local.replace("_", ".").split(".") if part) or email
    account, created = CalendarAccount.objects.get_or_create(
        provider=PROVIDER, email=email,
        defaults={"data": {"id": uuid.uuid4().hex[:16], "displayName": display_name}})
    if created:
        EmulatedCalendar.objects.create(
            account=account, calendar_id=new_id(), name=DEFAULT_CALENDAR_NAME, primary=True,
            data={"color": "auto", "changeKey": new_change_key()})
    return account


def user_id(account: CalendarAccount) -> str:
    return account.data["id"]


def user_json(account: CalendarAccount) -> dict:
    name = account.data.get("displayName", account.email)
    given, _, surname = name.partition(" ")
    return {"businessPhones": [], "displayName": name, "givenName": given, "jobTitle": None, "mail": account.email,
            "mobilePhone": None, "officeLocation": None, "preferredLanguage": "en-US", "surname": surname or None,
            "userPrincipalName": account.email, "id": user_id(account)}


def calendar_default(account: CalendarAccount) -> EmulatedCalendar:
    return account.calendars.get(primary=True)


def calendar_find(account: CalendarAccount, calendar_id: str | None) -> EmulatedCalendar | None:
    if calendar_id is None:
        return calendar_default(account)
    return account.calendars.filter(calendar_id=calendar_id).first()


def calendar_create(account: CalendarAccount, name: str) -> EmulatedCalendar:
    count = account.calendars.count()
    return EmulatedCalendar.objects.create(
        account=account, calendar_id=new_id(), name=name, primary=False,
        data={"color": CALENDAR_COLORS[(count - 1) % len(CALENDAR_COLORS)], "changeKey": new_change_key()})


def calendar_json(calendar: EmulatedCalendar) -> dict:
    account = calendar.account
    return {
        "id": calendar.calendar_id, "name": calendar.name, "color": calendar.data.get("color", "auto"),
        "hexColor": "", "isDefaultCalendar": calendar.primary, "changeKey": calendar.data.get("changeKey", ""),
        "canShare": True, "canViewPrivateItems": True, "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"], "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True, "isRemovable": not calendar.primary,
        "owner": {"name": account.data.get("displayName", account.email), "address": account.email},
    }


# --- faults -------------------------------------------------------------------------------------------


def fault_take(account: CalendarAccount | None) -> EmulatedFault | None:
    """The injected failure the next call of ``account`` (or anyone's) is to suffer, if any; counted."""
    with transaction.atomic():
        scope = Q(account__isnull=True) | Q(account=account) if account is not None else Q(account__isnull=True)
        fault = (EmulatedFault.objects.select_for_update().filter(scope, provider=PROVIDER, remaining__gt=0)
                 .order_by("created", "pk").first())
        if fault is not None:
            fault.remaining -= 1
            fault.save(update_fields=["remaining"])
    return fault


# --- events -------------------------------------------------------------------------------------------


def event_timing(row: EmulatedEvent) -> Timing:
    return Timing.from_json(row.data["_sandbox"]["versions"][-1])


def timing_at(row: EmulatedEvent, seq: int) -> Timing | None:
    """The event's timing as a client that saw change ``seq`` knew it (None: it did not exist then)."""
    versions = row.data["_sandbox"]["versions"]
    before = [v for v in versions if v["seq"] <= seq]
    if before:
        return Timing.from_json(before[-1])
    if row.data["_sandbox"].get("truncated"):
        return Timing.from_json(versions[0])
    return None


def event_present(row: EmulatedEvent, *, occurrence: datetime | None = None, zone: ZoneInfo = UTC_ZONE,
                  zone_label: str = "UTC", expand: str = "") -> dict:
    return present(row.data, event_timing(row), zone=zone, zone_label=zone_label, occurrence=occurrence,
                   expand=expand)


def event_find(account: CalendarAccount, event_id: str, *, calendar: EmulatedCalendar | None = None,
               lock: bool = False) -> tuple[EmulatedEvent, datetime | None] | None:
    """A live event of the account by Graph id: (row, None), or for an occurrence id (series row, its start)."""
    parsed = occurrence_parse(event_id)
    master_id, occurrence = parsed if parsed else (event_id, None)
    rows = EmulatedEvent.objects.select_related("calendar__account").filter(
        calendar__account=account, event_id=master_id, deleted=False)
    if calendar is not None:
        rows = rows.filter(calendar=calendar)
    row = (rows.select_for_update(of=("self",)) if lock else rows).first()
    if row is None or (occurrence is not None and not event_timing(row).is_occurrence(occurrence)):
        return None
    return row, occurrence


def _new_event_data(account: CalendarAccount, event_id: str, now: datetime) -> dict:
    name = account.data.get("displayName", account.email)
    return {
        "id": event_id, "createdDateTime": iso_z(now), "lastModifiedDateTime": iso_z(now),
        "changeKey": new_change_key(), "categories": [], "transactionId": None,
        "originalStartTimeZone": "UTC", "originalEndTimeZone": "UTC", "iCalUId": "",
        "reminderMinutesBeforeStart": 15, "isReminderOn": True, "hasAttachments": False, "subject": "",
        "bodyPreview": "", "importance": "normal", "sensitivity": "normal", "isAllDay": False,
        "isCancelled": False, "isOrganizer": True, "responseRequested": True, "seriesMasterId": None,
        "showAs": "busy", "type": "singleInstance", "webLink": web_link(event_id), "onlineMeetingUrl": None,
        "isOnlineMeeting": False, "onlineMeetingProvider": "unknown", "allowNewTimeProposals": True,
        "isDraft": False, "hideAttendees": False,
        "responseStatus": {"response": "organizer", "time": NO_TIME},
        "body": {"contentType": "html", "content": ""},
        "start": None, "end": None,
        "location": {"displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {},
                     "coordinates": {}},
        "locations": [], "recurrence": None, "attendees": [],
        "organizer": {"emailAddress": {"name": name, "address": account.email}},
        "onlineMeeting": None,
        "_sandbox": {"versions": [], "extended": []},
    }


def _bump(calendar: EmulatedCalendar) -> int:
    """The next change number of the calendar (its row locked until the transaction ends)."""
    locked = EmulatedCalendar.objects.select_for_update().get(pk=calendar.pk)
    locked.change_seq += 1
    locked.save(update_fields=["change_seq"])
    calendar.change_seq = locked.change_seq
    return locked.change_seq


def _record(row: EmulatedEvent, timing: Timing, change_type: str) -> EmulatedEvent:
    """Store a change: a new change number, a new change key and the timing as it now is; then notify."""
    now = timezone.now()
    seq = _bump(row.calendar)
    timing.seq = seq
    sandbox = row.data["_sandbox"]
    sandbox["versions"].append(timing.to_json())
    if len(sandbox["versions"]) > VERSIONS_KEPT:
        sandbox["versions"] = sandbox["versions"][-VERSIONS_KEPT:]
        sandbox["truncated"] = True
    row.data.update(changeKey=new_change_key(), lastModifiedDateTime=iso_z(now))
    row.start, row.end = timing.start, timing.series_end()
    row.all_day, row.recurrence = timing.all_day, [timing.rrule] if timing.rrule else []
    row.deleted, row.change_seq, row.updated = timing.deleted, seq, now
    if row.pk is None:
        row.save()
    else:
        row.save(update_fields=["data", "start", "end", "all_day", "recurrence", "deleted", "change_seq", "updated"])
    notify(row, change_type)
    return row


def _apply(data: dict, changes: dict) -> None:
    extended = changes.pop("_extended", None)
    data.update(changes)
    if extended is not None:
        data["_sandbox"]["extended"] = extended


@transaction.atomic
def event_create(calendar: EmulatedCalendar, changes: dict, timing: Timing,
                 extra: dict | None = None) -> tuple[EmulatedEvent, bool]:
    """A new event from checked properties (see ``events.event_input``); ``extra`` overrides read-only
    ones (an invitation's organizer, say). A transactionId seen before gives back that event (False)."""
    account = calendar.account
    transaction_id = changes.get("transactionId")
    if transaction_id:
        existing = EmulatedEvent.objects.filter(calendar__account=account, deleted=False,
                                                data__transactionId=transaction_id).first()
        if existing is not None:
            return existing, False
    event_id = new_id()
    data = _new_event_data(account, event_id, timezone.now())
    data["iCalUId"] = ical_uid_new()
    _apply(data, dict(changes))
    data.update(extra or {})
    row = EmulatedEvent(calendar=calendar, event_id=event_id, data=data)
    return _record(row, timing, "created"), True


@transaction.atomic
def event_update(row: EmulatedEvent, changes: dict, timing: Timing, extra: dict | None = None) -> EmulatedEvent:
    _apply(row.data, dict(changes))
    row.data.update(extra or {})
    return _record(row, timing, "updated")


@transaction.atomic
def event_delete(row: EmulatedEvent) -> None:
    timing = event_timing(row)
    timing.deleted = True
    _record(row, timing, "deleted")


@transaction.atomic
def occurrence_cancel(row: EmulatedEvent, start: datetime) -> None:
    """Delete one occurrence of a series: the series changes (Outlook keeps it as a cancelled date)."""
    timing = event_timing(row)
    timing.cancelled = [*timing.cancelled, stamp(start)]
    _record(row, timing, "updated")


# --- change notifications ----------------------------------------------------------------------------


def notify(row: EmulatedEvent, change_type: str) -> None:
    """Queue a change notification to each live subscription of the event's calendar that asked for it."""
    account = row.calendar.account
    resource = f"Users/{user_id(account)}/Events/{row.event_id}"
    channels = EmulatedChannel.objects.filter(provider=PROVIDER, calendar=row.calendar, stopped=False,
                                              expires_at__gt=timezone.now())
    for channel in channels:
        if change_type not in channel.data.get("changeType", "").split(","):
            continue
        EmulatedChannel.objects.filter(pk=channel.pk).update(message_number=F("message_number") + 1)
        notification = {
            "subscriptionId": channel.channel_id,
            "subscriptionExpirationDateTime": iso_z(channel.expires_at),
            "changeType": change_type,
            "resource": resource,
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource,
                             "@odata.etag": f'W/"{row.data["changeKey"]}"', "id": row.event_id},
            "clientState": channel.token or None,
            "tenantId": TENANT_ID,
        }
        transaction.on_commit(partial(deliver, channel.address, {"value": [notification]}))


def deliver(url: str, payload: dict) -> int | None:
    """POST one notification; the receiver answers 202. Failures are logged, not retried."""
    try:
        response = httpx.post(url, content=json.dumps(payload), timeout=10,
                              headers={"Content-Type": "application/json; charset=utf-8"})
    except httpx.HTTPError as exc:
        logger.warning("Graph change notification to %s failed: %s", url, exc)
        return None
    if response.status_code >= 300:
        logger.warning("Graph change notification to %s answered %s", url, response.status_code)
    return response.status_code


# --- helpers for scripts and tests -----------------------------------------------------------------


class DevError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _dev_account(email: Any, *, create: bool = True) -> CalendarAccount:
    if not isinstance(email, str) or "@" not in email:
        raise DevError("account_email must be an email address.")
    account = account_ensure(email) if create else account_find(email)
    if account is None:
        raise DevError(f"No Microsoft account {email} in the emulator.", 404)
    return account


def _dev_moment(value: Any, name: str, all_day: bool) -> str:
    """A script's start or end, as a Graph dateTime in UTC (a date alone for all-day events)."""
    if not isinstance(value, str):
        raise DevError(f"{name} is required.")
    if all_day:
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise DevError(f"{name} must be a date (YYYY-MM-DD) for an all-day event.") from None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise DevError(f"{name} must be an RFC 3339 date-time with an offset, e.g. 2026-11-26T10:00:00+01:00.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _dev_flags(declined: bool, cancelled: bool, account: CalendarAccount) -> dict:
    """The read-only properties of an invitation the owner declined, or of a meeting cancelled by its organizer."""
    if not declined and not cancelled:
        return {"isOrganizer": True, "isCancelled": False,
                "responseStatus": {"response": "organizer", "time": NO_TIME},
                "organizer": {"emailAddress": {"name": account.data.get("displayName", account.email),
                                               "address": account.email}}}
    return {"isOrganizer": False, "isCancelled": bool(cancelled),
            "responseStatus": {"response": "declined" if declined else "notResponded",
                               "time": iso_z(timezone.now()) if declined else NO_TIME},
            "organizer": {"emailAddress": {"name": "Organizer", "address": "organizer@example.com"}}}


def _dev_body(fields: dict, *, current: dict | None, current_start: datetime | None = None) -> dict:
    """The Graph body for a script's event fields (summary, start, end, all_day, transparent, recurrence)."""
    body: dict[str, Any] = {}
    if "summary" in fields:
        if not isinstance(fields["summary"], str):
            raise DevError("summary must be a string.")
        body["subject"] = fields["summary"]
    if "transparent" in fields:
        body["showAs"] = "free" if fields["transparent"] else "busy"
    if current is None or {"start", "end", "all_day"} & fields.keys():
        all_day = bool(fields.get("all_day", False))
        start, end = _dev_moment(fields.get("start"), "start", all_day), _dev_moment(fields.get("end"), "end", all_day)
        if end <= start if all_day else datetime.fromisoformat(end) < datetime.fromisoformat(start):
            raise DevError("end must be after start.")
        body.update(isAllDay=all_day, start={"dateTime": start, "timeZone": "UTC"},
                    end={"dateTime": end, "timeZone": "UTC"})
    if "recurrence" in fields:
        rule = fields["recurrence"]
        if rule in (None, ""):
            body["recurrence"] = None
        elif not isinstance(rule, str):
            raise DevError('recurrence must be an RRULE string such as "RRULE:FREQ=DAILY;COUNT=3".')
        else:
            first = (datetime.fromisoformat(body["start"]["dateTime"]).replace(tzinfo=UTC) if "start" in body
                     else current_start)
            try:
                body["recurrence"] = pattern_for_rrule(rule, start=first, zone=UTC_ZONE, tz_label="UTC")
            except RecurrenceError as exc:
                raise DevError(f"recurrence: {exc}") from None
    elif current is not None and current.get("recurrence") and "start" in fields:
        # The series moves with its first occurrence.
        recurrence = json.loads(json.dumps(current["recurrence"]))
        recurrence["range"]["startDate"] = body["start"]["dateTime"][:10]
        body["recurrence"] = recurrence
    return body


def dev_event_create(*, account_email: str, calendar: str = "primary", summary: str = "", start: str,
                     end: str, all_day: bool = False, transparent: bool = False, recurrence: str | None = None,
                     declined: bool = False, cancelled: bool = False) -> dict:
    """Add an event as its owner would in Outlook (subscriptions are notified); the event as Graph shows it."""
    account = _dev_account(account_email)
    target = calendar_default(account) if calendar in (None, "", "primary") else calendar_find(account, calendar)
    if target is None:
        raise DevError(f"{account.email} has no calendar {calendar}.", 404)
    fields = {"summary": summary, "start": start, "end": end, "all_day": all_day, "transparent": transparent,
              "recurrence": recurrence}
    body = _dev_body(fields, current=None)
    try:
        changes, timing = event_input(body, current=None, current_timing=None)
    except GraphError as exc:
        raise DevError(exc.message) from None
    row, _ = event_create(target, changes, timing, extra=_dev_flags(declined, cancelled, account))
    return event_present(row)


def _dev_event(event_id: str) -> EmulatedEvent:
    row = (EmulatedEvent.objects.select_related("calendar__account")
           .filter(calendar__account__provider=PROVIDER, event_id=event_id, deleted=False).first())
    if row is None:
        raise DevError(f"No event {event_id}.", 404)
    return row


def dev_event_update(*, event_id: str, changes: dict) -> dict:
    """Change an event as its owner would (summary, start, end, all_day, transparent, recurrence,
    declined, cancelled); missing fields keep their value."""
    fields = dict(changes)
    row = _dev_event(event_id)
    timing = event_timing(row)
    known = {"summary", "start", "end", "all_day", "transparent", "recurrence", "declined", "cancelled"}
    unknown = set(fields) - known
    if unknown:
        raise DevError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    merged = dict(fields)
    if {"start", "end", "all_day"} & fields.keys():
        all_day = fields.get("all_day", timing.all_day)
        merged["all_day"] = all_day
        for name, moment in (("start", timing.start), ("end", timing.end)):
            if name not in fields:
                merged[name] = moment.date().isoformat() if all_day else moment.isoformat()
    body = _dev_body(merged, current=row.data, current_start=timing.start)
    try:
        graph_changes, new_timing = event_input(body, current=row.data, current_timing=timing)
    except GraphError as exc:
        raise DevError(exc.message) from None
    extra = None
    if "declined" in fields or "cancelled" in fields:
        was_declined = row.data.get("responseStatus", {}).get("response") == "declined"
        extra = _dev_flags(bool(fields.get("declined", was_declined)),
                           bool(fields.get("cancelled", row.data.get("isCancelled"))), row.calendar.account)
    with transaction.atomic():
        row = EmulatedEvent.objects.select_related("calendar__account").select_for_update(of=("self",)).get(pk=row.pk)
        return event_present(event_update(row, graph_changes, new_timing, extra))


def dev_event_delete(*, event_id: str) -> None:
    parsed = occurrence_parse(event_id)
    row = _dev_event(parsed[0] if parsed else event_id)
    if parsed:
        if not event_timing(row).is_occurrence(parsed[1]):
            raise DevError(f"No event {event_id}.", 404)
        occurrence_cancel(row, parsed[1])
    else:
        event_delete(row)


def dev_events_list(account_email: str) -> list[dict]:
    """The live events of every calendar of the account, series as their masters."""
    account = account_find(account_email) if isinstance(account_email, str) else None
    if account is None:
        return []
    rows = (EmulatedEvent.objects.select_related("calendar").filter(calendar__account=account, deleted=False)
            .order_by("start", "pk"))
    return [event_present(row) for row in rows]


def dev_calendar_create(*, account_email: str, name: Any) -> dict:
    account = _dev_account(account_email)
    if not isinstance(name, str) or not name.strip():
        raise DevError("name is required.")
    return calendar_json(calendar_create(account, name.strip()))


def dev_fault_create(*, account_email: str | None = None, status: Any, count: Any = 1, retry_after: Any = 1) -> dict:
    account = _dev_account(account_email) if account_email else None
    if isinstance(status, bool) or status not in FAULT_STATUSES:
        raise DevError(f"status must be one of {', '.join(map(str, FAULT_STATUSES))}.")
    if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in (count, retry_after)):
        raise DevError("count and retry_after are integers >= 0.")
    EmulatedFault.objects.create(provider=PROVIDER, account=account, status=status, remaining=count,
                                 retry_after=retry_after)
    return {"account_email": account.email if account else None, "status": status, "count": count,
            "retry_after": retry_after}


def tokens_expire(account_email: str) -> int:
    """The account's access tokens expire now: its next Graph call gets a 401."""
    account = _dev_account(account_email, create=False)
    return CalendarGrant.objects.filter(account=account, kind=CalendarGrant.Kind.ACCESS).update(
        expires_at=timezone.now() - timedelta(seconds=1))


def grants_revoke(account_email: str) -> int:
    """Every grant of the account is revoked, as when its owner removes the app's access."""
    account = _dev_account(account_email, create=False)
    return CalendarGrant.objects.filter(account=account).update(revoked=True)


def sync_invalidate(account_email: str) -> int:
    """Every delta link issued so far for the account's calendars stops working (410 on next use)."""
    account = _dev_account(account_email, create=False)
    return account.calendars.update(sync_epoch=F("sync_epoch") + 1)


def channels_list(account_email: str) -> list[dict]:
    account = account_find(account_email) if isinstance(account_email, str) else None
    if account is None:
        return []
    channels = (EmulatedChannel.objects.select_related("calendar").filter(provider=PROVIDER, calendar__account=account)
                .order_by("created", "pk"))
    return [{"id": c.channel_id, "calendar": c.calendar.calendar_id, "address": c.address,
             "expires_at": c.expires_at.isoformat(), "stopped": c.stopped} for c in channels]
