"""``events.list`` as Google answers it: a full sync page by page (``nextPageToken``) ending with a
``nextSyncToken``, then incremental syncs that report only what changed since, deletions included.

Tokens are opaque to clients: signed ``(calendar, sync epoch, change number)``. A sync token of another
epoch (see ``store.sync_invalidate``) or one that does not verify is answered 410 ``fullSyncRequired``.
Pages are cut by the last item's sort key, so a change between two pages neither skips nor repeats an
unchanged event; a change after the first page is reported (again) by the next incremental sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.core import signing
from django.db.models import Max
from django.http import QueryDict
from django.utils import timezone

from sandbox.google import events
from sandbox.google.errors import bad_request, full_sync_required
from sandbox.models import EmulatedCalendar, EmulatedEvent

SYNC_SALT = "sandbox.google.sync-token"
PAGE_SALT = "sandbox.google.page-token"
DEFAULT_MAX_RESULTS = 250
MAX_RESULTS = 2500
# Filters Google refuses beside a sync token (the token does not remember them).
SYNC_RESTRICTIONS = ("timeMin", "timeMax", "orderBy", "q", "updatedMin", "iCalUID", "privateExtendedProperty",
                     "sharedExtendedProperty")


def sync_token(calendar: EmulatedCalendar, seq: int) -> str:
    return signing.dumps({"c": calendar.pk, "e": calendar.sync_epoch, "s": seq}, salt=SYNC_SALT)


def _sync_seq(calendar: EmulatedCalendar, token: str) -> int:
    try:
        payload = signing.loads(token, salt=SYNC_SALT)
    except signing.BadSignature:
        raise full_sync_required() from None
    if not isinstance(payload, dict) or payload.get("c") != calendar.pk or payload.get("e") != calendar.sync_epoch:
        raise full_sync_required()
    return int(payload["s"])


def _page(calendar: EmulatedCalendar, token: str) -> dict | None:
    if not token:
        return None
    try:
        payload = signing.loads(token, salt=PAGE_SALT)
    except signing.BadSignature:
        payload = None
    if not isinstance(payload, dict) or payload.get("c") != calendar.pk:
        raise bad_request("Invalid pageToken value.", location="pageToken")
    return payload


def _flag(params: QueryDict, name: str) -> bool | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    if value.lower() not in ("true", "false"):
        raise bad_request(f"Invalid boolean value: '{value}'.", location=name)
    return value.lower() == "true"


def _max_results(params: QueryDict) -> int:
    raw = params.get("maxResults")
    if raw in (None, ""):
        return DEFAULT_MAX_RESULTS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise bad_request(f"Invalid value '{raw}'. Values must be within the range: [1, {MAX_RESULTS}]",
                          location="maxResults")
    return min(value, MAX_RESULTS)


def _private_filters(params: QueryDict) -> list[tuple[str, str]]:
    filters = []
    for item in params.getlist("privateExtendedProperty"):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise bad_request("Invalid privateExtendedProperty: use propertyName=value.",
                              location="privateExtendedProperty")
        filters.append((key, value))
    return filters


@dataclass(frozen=True)
class Window:
    """What a list asks for: events ending after ``after`` and starting before ``before`` (each optional);
    series are expanded up to ``horizon``."""

    after: datetime | None
    before: datetime | None
    horizon: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return (self.after is None or end > self.after) and (self.before is None or start < self.before)


@dataclass(frozen=True)
class Item:
    key: list
    body: dict


def _instant(when: dict, calendar_zone: str) -> datetime:
    if "date" in when:
        return datetime.combine(datetime.fromisoformat(when["date"]).date(), time(), ZoneInfo(calendar_zone))
    return datetime.fromisoformat(when["dateTime"])


def _items(row: EmulatedEvent, calendar: EmulatedCalendar, *, single: bool, incremental: bool,
           show_deleted: bool, window: Window, order_by: str) -> list[Item]:
    """What one stored event contributes to a list: itself, its instances, or cancelled stubs."""

    def key(start: datetime, item_id: str) -> list:
        if order_by == "startTime":
            return [events.stamp(start), row.pk, item_id]
        if order_by == "updated":
            return [events.stamp(row.updated), row.pk, item_id]
        return [row.pk, item_id]

    data, etag, updated = row.data, row.data.get("etag", ""), row.data.get("updated", "")
    when = events.When(row.start, row.end, row.all_day, data["start"], data["end"])
    found: list[Item] = []
    if single:
        # Instances that ceased to exist (a series moved, shortened or deleted) are reported cancelled.
        for instance_id, original in data.get("_gone", {}).items():
            start = _instant(original, calendar.time_zone)
            if incremental or (show_deleted and window.overlaps(start, start)):
                found.append(Item(key(start, instance_id), events.cancelled(
                    instance_id, etag, updated=updated, recurring_event_id=row.event_id, original_start=original)))
        if row.recurrence:
            if not row.deleted:
                for occurrence in events.occurrences(event_id=row.event_id, when=when, recurrence=row.recurrence,
                                                     calendar_zone=calendar.time_zone, after=window.after,
                                                     before=window.horizon):
                    found.append(Item(key(occurrence.start, occurrence.id), events.instance(data, occurrence)))
            return found
    if not incremental:
        if row.recurrence and not row.deleted:
            visible = bool(events.occurrences(event_id=row.event_id, when=when, recurrence=row.recurrence,
                                              calendar_zone=calendar.time_zone, after=window.after,
                                              before=window.horizon, limit=1))
        else:
            visible = window.overlaps(row.start, row.end)
        if not visible:
            return found
    body = events.cancelled(row.event_id, etag, updated=updated) if row.deleted else events.public(data)
    found.append(Item(key(row.start, ""), body))
    return found


def events_list(*, calendar: EmulatedCalendar, params: QueryDict) -> dict:
    single = bool(_flag(params, "singleEvents"))
    show_deleted = _flag(params, "showDeleted")
    max_results = _max_results(params)
    order_by = params.get("orderBy") or ""
    if order_by not in ("", "startTime", "updated"):
        raise bad_request(f"Invalid value for: {order_by} is not a valid value", location="orderBy")
    if order_by == "startTime" and not single:
        raise bad_request("The requested ordering is not available for the particular query.", reason="badRequest")
    after = events.parse_rfc3339(params["timeMin"], "timeMin") if params.get("timeMin") else None
    before = events.parse_rfc3339(params["timeMax"], "timeMax") if params.get("timeMax") else None
    if after and before and before <= after:
        raise bad_request("The specified time range is empty.", reason="timeRangeEmpty", location="timeMax",
                          domain="calendar")
    private = _private_filters(params)
    token = params.get("syncToken") or ""
    if token and (any(params.get(name) for name in SYNC_RESTRICTIONS) or show_deleted is False):
        raise bad_request("Sync token cannot be used with other request restrictions.")
    since = _sync_seq(calendar, token) if token else None
    page = _page(calendar, params.get("pageToken") or "")
    # The sync token ending this listing names the calendar's state when its first page was read.
    upto = int(page["s"]) if page else calendar.change_seq

    rows = EmulatedEvent.objects.filter(calendar=calendar)
    if since is not None:
        rows = rows.filter(change_seq__gt=since)
    elif not show_deleted:
        rows = rows.filter(deleted=False)
    window = Window(after, before, before or timezone.now() + events.HORIZON)
    items: list[Item] = []
    for row in rows.order_by("pk"):
        props = row.data.get("extendedProperties", {}).get("private", {})
        if all(props.get(name) == value for name, value in private):
            items += _items(row, calendar, single=single, incremental=since is not None,
                            show_deleted=bool(show_deleted), window=window, order_by=order_by)
    items.sort(key=lambda item: item.key)
    if page:
        items = [item for item in items if item.key > page["k"]]

    latest = EmulatedEvent.objects.filter(calendar=calendar).aggregate(latest=Max("updated"))["latest"]
    body = {"kind": "calendar#events", "etag": f'"{calendar.sync_epoch}-{calendar.change_seq}"',
            "summary": calendar.name, "description": "", "updated": events.stamp(latest or calendar.created),
            "timeZone": calendar.time_zone, "accessRole": "owner", "defaultReminders": [],
            "items": [item.body for item in items[:max_results]]}
    if len(items) > max_results:
        body["nextPageToken"] = signing.dumps({"c": calendar.pk, "s": upto, "k": items[max_results - 1].key},
                                              salt=PAGE_SALT)
    else:
        body["nextSyncToken"] = sync_token(calendar, upto)
    return body

