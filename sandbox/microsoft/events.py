"""Graph's event resource: ids, ``dateTimeTimeZone`` values, the timing of an event or series (and its
occurrences), the properties a client may write, and the event as Graph returns it.

A stored event (``EmulatedEvent.data``) is the Graph event as created, plus the emulator's own
bookkeeping under ``_sandbox``: ``versions`` (the timing after each change, with the change number,
so that a delta round can tell which occurrences vanished) and ``extended`` (the event's
singleValueExtendedProperties, shown only on ``$expand`` as Graph does)."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulebase, rrulestr
from django.utils.html import strip_tags

from sandbox.microsoft.errors import GraphError, invalid_request
from sandbox.microsoft.recurrence import RecurrenceError, pattern_from_rrule, pattern_normalize, rrule_from_pattern

# Windows time zone names Graph accepts besides IANA names (the common ones).
WINDOWS_ZONES = {
    "UTC": "UTC", "Coordinated Universal Time": "UTC", "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik", "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris", "Central European Standard Time": "Europe/Warsaw",
    "Central Europe Standard Time": "Europe/Budapest", "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev", "GTB Standard Time": "Europe/Bucharest",
    "Russian Standard Time": "Europe/Moscow", "Pacific Standard Time": "America/Los_Angeles",
    "Mountain Standard Time": "America/Denver", "Central Standard Time": "America/Chicago",
    "Eastern Standard Time": "America/New_York", "Atlantic Standard Time": "America/Halifax",
    "E. South America Standard Time": "America/Sao_Paulo", "India Standard Time": "Asia/Kolkata",
    "China Standard Time": "Asia/Shanghai", "Tokyo Standard Time": "Asia/Tokyo",
    "Singapore Standard Time": "Asia/Singapore", "AUS Eastern Standard Time": "Australia/Sydney",
    "New Zealand Standard Time": "Pacific/Auckland", "Arabian Standard Time": "Asia/Dubai",
    "Israel Standard Time": "Asia/Jerusalem", "South Africa Standard Time": "Africa/Johannesburg",
}
SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
IMPORTANCE = ("low", "normal", "high")
SENSITIVITY = ("normal", "personal", "private", "confidential")
NO_TIME = "0001-01-01T00:00:00Z"
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
MAX_OCCURRENCES = 2000  # per series and request: a daily series over a decade, well above any view
VERSIONS_KEPT = 30
ICAL_PREFIX = "040000008200E00074C5B7101A82E008"
OCCURRENCE_PREFIX = "AAMkAGO"


def zone_for(name: str) -> ZoneInfo | None:
    """The zone of a Graph time zone name (IANA or Windows), or None when unknown."""
    key = WINDOWS_ZONES.get(name.strip(), name.strip())
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_name(zone: ZoneInfo) -> str:
    return zone.key


_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
                       r"(Z|[+-]\d{2}:?\d{2})?$")


def parse_iso(text: str, zone: ZoneInfo) -> datetime:
    """An ISO 8601 date or date-time as Graph reads it: local to ``zone`` unless it carries an offset.
    Up to seven fractional digits (Graph's own format). Raises ValueError."""
    match = _DATETIME.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    naive = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro)
    if offset is None:
        return naive.replace(tzinfo=zone)
    if offset == "Z":
        return naive.replace(tzinfo=UTC)
    return datetime.fromisoformat(naive.isoformat() + offset[:3] + ":" + offset[-2:])


def graph_datetime(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond:06d}0"


def iso_z(moment: datetime) -> str:
    """Graph's timestamps: ``2026-11-26T07:12:03.1234560Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond:06d}0Z"


def new_id() -> str:
    return "AAMkAD" + secrets.token_urlsafe(48) + "AAA="


def new_change_key() -> str:
    return base64.b64encode(secrets.token_bytes(18)).decode()


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def occurrence_id(master_id: str, start: datetime) -> str:
    raw = f"{master_id}|{stamp(start)}".encode()
    return OCCURRENCE_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def occurrence_parse(event_id: str) -> tuple[str, datetime] | None:
    """(series master id, occurrence start) of an occurrence id, or None for any other id."""
    if not event_id.startswith(OCCURRENCE_PREFIX):
        return None
    encoded = event_id[len(OCCURRENCE_PREFIX):]
    try:
        master_id, _, when = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode().rpartition("|")
        return master_id, datetime.strptime(when, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def ical_uid_new() -> str:
    return ICAL_PREFIX + "00000000" + "0" * 16 + secrets.token_hex(24).upper()


def ical_uid_occurrence(master_uid: str, start: datetime) -> str:
    """Outlook's global object id of an occurrence: the series' with the occurrence date inside."""
    day = start.astimezone(UTC)
    return master_uid[:32] + f"{day.year:04X}{day.month:02X}{day.day:02X}" + master_uid[40:]


def web_link(event_id: str) -> str:
    return f"https://outlook.live.com/owa/?itemid={quote(event_id, safe='')}&exvsurl=1&path=/calendar/item"


@dataclass
class Timing:
    """When an event happens: one occurrence (``start``/``end``, UTC) or, with ``rrule``, the first one of
    a series expanded in ``zone``. All-day events are floating dates kept as UTC midnights."""

    start: datetime
    end: datetime
    all_day: bool = False
    zone: str = "UTC"
    rrule: str | None = None
    cancelled: list[str] = field(default_factory=list)
    deleted: bool = False
    seq: int = 0

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def to_json(self) -> dict:
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> Timing:
        return cls(**{**data, "start": datetime.fromisoformat(data["start"]),
                      "end": datetime.fromisoformat(data["end"])})

    def _rule(self) -> rrulebase:
        return rrulestr(self.rrule, dtstart=self.start.astimezone(ZoneInfo(self.zone)))

    def occurrences(self, window_start: datetime, window_end: datetime) -> list[datetime]:
        """Starts (UTC) of the series' occurrences that overlap the window, cancelled ones left out."""
        if self.deleted:
            return []
        if not self.rrule:
            return [self.start] if overlaps(self.start, self.end, window_start, window_end) else []
        found = []
        cancelled = set(self.cancelled)
        for local in self._rule().xafter(window_start - self.duration, inc=True):
            begin = local.astimezone(UTC)
            if begin >= window_end or len(found) >= MAX_OCCURRENCES:
                break
            if stamp(begin) not in cancelled and overlaps(begin, begin + self.duration, window_start, window_end):
                found.append(begin)
        return found

    def is_occurrence(self, start: datetime) -> bool:
        if not self.rrule or self.deleted or stamp(start) in self.cancelled:
            return False
        local = start.astimezone(ZoneInfo(self.zone))
        return any(hit == local for hit in self._rule().between(local - timedelta(seconds=1), local, inc=True))

    def series_end(self) -> datetime:
        """When the last occurrence ends (far in the future for an endless series)."""
        if not self.rrule:
            return self.end
        if "COUNT=" not in self.rrule and "UNTIL=" not in self.rrule:
            return FAR_FUTURE
        last = None
        for index, local in enumerate(self._rule()):
            if index >= 10 * MAX_OCCURRENCES:
                return FAR_FUTURE
            last = local
        return (last.astimezone(UTC) if last else self.start) + self.duration


def overlaps(start: datetime, end: datetime, window_start: datetime, window_end: datetime) -> bool:
    """Whether an event belongs to a calendar view: it overlaps the window (or, lasting no time, starts in it)."""
    return start < window_end and (end > window_start or start >= window_start)


# --- what clients write ----------------------------------------------------------------------------

WRITABLE = {
    "subject", "body", "start", "end", "isAllDay", "showAs", "location", "locations", "categories",
    "importance", "sensitivity", "isReminderOn", "reminderMinutesBeforeStart", "attendees", "recurrence",
    "transactionId", "singleValueExtendedProperties", "responseRequested", "allowNewTimeProposals",
    "hideAttendees", "isOnlineMeeting", "onlineMeetingProvider",
}
# Read-only properties a client may send back unchanged (Graph ignores them).
IGNORED = {
    "@odata.type", "@odata.etag", "@odata.context", "id", "createdDateTime", "lastModifiedDateTime",
    "changeKey", "iCalUId", "uid", "type", "seriesMasterId", "webLink", "bodyPreview", "organizer",
    "isOrganizer", "responseStatus", "originalStartTimeZone", "originalEndTimeZone", "isCancelled",
    "hasAttachments", "onlineMeeting", "onlineMeetingUrl", "isDraft", "originalStart",
}


def _body_error(message: str) -> GraphError:
    return GraphError(400, "RequestBodyRead", message)


def _bool(body: dict, name: str) -> bool:
    if not isinstance(body[name], bool):
        raise _body_error(f"Cannot convert the literal '{body[name]}' to the expected type 'Edm.Boolean'.")
    return body[name]


def _enum(body: dict, name: str, values: tuple[str, ...], type_name: str) -> str:
    value = body[name]
    matched = next((v for v in values if isinstance(value, str) and v.lower() == value.lower()), None)
    if matched is None:
        raise _body_error(f"Cannot convert the literal '{value}' to the expected type 'microsoft.graph.{type_name}'.")
    return matched


def _date_time_time_zone(value: Any, name: str) -> tuple[datetime, str, ZoneInfo]:
    """(moment, time zone as named, zone) of a ``dateTimeTimeZone`` value."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise invalid_request(f"The '{name}' property needs a dateTime and a timeZone.")
    label = value.get("timeZone") or "UTC"
    zone = zone_for(label) if isinstance(label, str) else None
    if zone is None:
        raise GraphError(400, "TimeZoneNotSupportedException",
                         f"A valid TimeZone value must be specified. The following TimeZone value is not "
                         f"supported: '{label}'.")
    try:
        return parse_iso(value["dateTime"], zone), label, zone
    except ValueError:
        raise _body_error(f"Cannot convert the literal '{value['dateTime']}' to the expected type "
                          "'Edm.DateTimeOffset'.") from None


def body_preview(body: dict) -> str:
    text = body.get("content") or ""
    if body.get("contentType") == "html":
        text = strip_tags(text)
    return " ".join(text.split())[:255]


def _attendees(value: Any) -> list[dict]:
    if not isinstance(value, list):
        raise _body_error("attendees must be a collection.")
    attendees = []
    for item in value:
        address = (item or {}).get("emailAddress") if isinstance(item, dict) else None
        if not isinstance(address, dict) or not isinstance(address.get("address"), str):
            raise _body_error("Each attendee needs an emailAddress with an address.")
        kind = item.get("type") or "required"
        if kind not in ("required", "optional", "resource"):
            raise _body_error(f"Cannot convert the literal '{kind}' to the expected type "
                              "'microsoft.graph.attendeeType'.")
        attendees.append({"type": kind, "status": {"response": "none", "time": NO_TIME},
                          "emailAddress": {"name": address.get("name") or address["address"],
                                           "address": address["address"]}})
    return attendees


def _extended(value: Any, current: list[dict]) -> list[dict]:
    if not isinstance(value, list) or any(not isinstance(p, dict) or not isinstance(p.get("id"), str)
                                          or not isinstance(p.get("value"), str | None) for p in value):
        raise _body_error("singleValueExtendedProperties must be a collection of {id, value} with string values.")
    merged = {p["id"].lower(): p for p in current}
    for prop in value:
        merged[prop["id"].lower()] = {"id": prop["id"], "value": prop["value"]}
    return list(merged.values())


def event_input(body: Any, *, current: dict | None, current_timing: Timing | None) -> tuple[dict, Timing]:
    """Check a POST (``current`` None) or PATCH body and return the stored event's new properties
    (Graph names, ``_sandbox.extended`` included) and its timing. Raises GraphError."""
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    for name in body:
        if name not in WRITABLE and name not in IGNORED:
            raise _body_error(f"The property '{name}' does not exist on type 'microsoft.graph.event'. Make sure "
                              "to only use property names that are defined by the type or mark the type as open type.")
    if current is None and ("start" not in body or "end" not in body):
        raise invalid_request("An event needs a start and an end.")
    changes: dict[str, Any] = {}
    if "subject" in body:
        if not isinstance(body["subject"], str | None):
            raise _body_error("subject must be a string.")
        changes["subject"] = body["subject"] or ""
    if "body" in body:
        value = body["body"]
        if not isinstance(value, dict) or not isinstance(value.get("content", ""), str):
            raise _body_error("body must be an itemBody {contentType, content}.")
        kind = (value.get("contentType") or "text").lower()
        if kind not in ("text", "html"):
            raise _body_error(f"Cannot convert the literal '{kind}' to the expected type 'microsoft.graph.bodyType'.")
        changes["body"] = {"contentType": kind, "content": value.get("content") or ""}
        changes["bodyPreview"] = body_preview(changes["body"])
    if "showAs" in body:
        changes["showAs"] = _enum(body, "showAs", SHOW_AS, "freeBusyStatus")
    if "importance" in body:
        changes["importance"] = _enum(body, "importance", IMPORTANCE, "importance")
    if "sensitivity" in body:
        changes["sensitivity"] = _enum(body, "sensitivity", SENSITIVITY, "sensitivity")
    for name in ("isReminderOn", "responseRequested", "allowNewTimeProposals", "hideAttendees", "isOnlineMeeting"):
        if name in body:
            changes[name] = _bool(body, name)
    if "reminderMinutesBeforeStart" in body:
        value = body["reminderMinutesBeforeStart"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _body_error("reminderMinutesBeforeStart must be a non-negative integer.")
        changes["reminderMinutesBeforeStart"] = value
    if "location" in body:
        value = body["location"] or {}
        if not isinstance(value, dict) or not isinstance(value.get("displayName", ""), str):
            raise _body_error("location must be a location {displayName, …}.")
        changes["location"] = {"displayName": "", "locationType": "default", "uniqueIdType": "unknown",
                               "address": {}, "coordinates": {}, **value}
    if "locations" in body:
        if not isinstance(body["locations"], list):
            raise _body_error("locations must be a collection.")
        changes["locations"] = body["locations"]
    if "categories" in body:
        if not isinstance(body["categories"], list) or any(not isinstance(c, str) for c in body["categories"]):
            raise _body_error("categories must be a collection of strings.")
        changes["categories"] = body["categories"]
    if "attendees" in body:
        changes["attendees"] = _attendees(body["attendees"])
    if "transactionId" in body:
        if not isinstance(body["transactionId"], str | None):
            raise _body_error("transactionId must be a string.")
        changes["transactionId"] = body["transactionId"]
    if "onlineMeetingProvider" in body:
        changes["onlineMeetingProvider"] = str(body["onlineMeetingProvider"])
    if "singleValueExtendedProperties" in body:
        existing = ((current or {}).get("_sandbox") or {}).get("extended", [])
        changes["_extended"] = _extended(body["singleValueExtendedProperties"], existing)

    timing_fields = {"start", "end", "isAllDay", "recurrence"}
    if current is not None and current_timing is not None and not timing_fields & body.keys():
        return changes, current_timing
    start_value = body.get("start", (current or {}).get("start"))
    end_value = body.get("end", (current or {}).get("end"))
    all_day = body.get("isAllDay", (current or {}).get("isAllDay", False))
    if not isinstance(all_day, bool):
        raise _body_error(f"Cannot convert the literal '{all_day}' to the expected type 'Edm.Boolean'.")
    start, start_label, start_zone = _date_time_time_zone(start_value, "start")
    end, end_label, end_zone = _date_time_time_zone(end_value, "end")
    zone = start_zone
    if all_day:
        local_start, local_end = start.astimezone(start_zone), end.astimezone(end_zone)
        if local_start.time() != time(0) or local_end.time() != time(0):
            raise invalid_request("The start and end of an event marked as All day must be at midnight.")
        if (local_end.date() - local_start.date()).days < 1:
            raise invalid_request("The duration of an event marked as All day must be at least 24 hours.")
        start = datetime.combine(local_start.date(), time(0), UTC)
        end = datetime.combine(local_end.date(), time(0), UTC)
        zone = ZoneInfo("UTC")
    elif end < start:
        raise invalid_request("The end of the event must not be before its start.")
    changes.update(isAllDay=all_day, originalStartTimeZone=start_label, originalEndTimeZone=end_label,
                   start={"dateTime": graph_datetime(start, zone if all_day else start_zone), "timeZone": start_label},
                   end={"dateTime": graph_datetime(end, zone if all_day else end_zone), "timeZone": end_label})
    timing = Timing(start=start, end=end, all_day=all_day, zone=zone_name(zone),
                    cancelled=list(current_timing.cancelled) if current_timing else [])

    recurrence = body.get("recurrence", (current or {}).get("recurrence"))
    if recurrence is None:
        changes.update(recurrence=None, type="singleInstance")
        timing.cancelled = []
        return changes, timing
    try:
        normalized = pattern_normalize(recurrence, tz_label=start_label)
        rule = rrule_from_pattern(normalized, zone=zone)
    except RecurrenceError as exc:
        raise invalid_request(f"The recurrence is not valid: {exc}") from None
    return changes | {"recurrence": normalized, "type": "seriesMaster"}, _series_timing(timing, normalized, rule)


def _series_timing(timing: Timing, recurrence: dict, rule: str) -> Timing:
    """The series' timing: its first occurrence, counted from the range's start date."""
    zone = ZoneInfo(timing.zone)
    local = timing.start.astimezone(zone)
    range_start = datetime.fromisoformat(recurrence["range"]["startDate"]).date()
    dtstart = datetime.combine(range_start, local.timetz().replace(tzinfo=None), zone)
    first = next(iter(rrulestr(rule, dtstart=dtstart)), None)
    if first is None:
        raise invalid_request("The recurrence pattern has no occurrences.")
    start = first.astimezone(UTC)
    return replace(timing, start=start, end=start + timing.duration, rrule=rule)


def pattern_for_rrule(rule: str, *, start: datetime, zone: ZoneInfo, tz_label: str) -> dict:
    """Graph's recurrence for a script's RRULE string. Raises RecurrenceError."""
    return pattern_from_rrule(rule, start_local=start.astimezone(zone), tz_label=tz_label)


# --- what Graph returns ----------------------------------------------------------------------------


def expanded_properties(data: dict, expand: str) -> list[dict] | None:
    """The singleValueExtendedProperties an ``$expand=singleValueExtendedProperties($filter=id eq '…')``
    asks for, or None when not asked for (or none matches: Graph then leaves the property out)."""
    if "singlevalueextendedproperties" not in expand.lower():
        return None
    props = (data.get("_sandbox") or {}).get("extended", [])
    wanted = re.search(r"id\s+eq\s+'([^']*)'", expand, flags=re.IGNORECASE)
    if wanted:
        props = [p for p in props if p["id"].lower() == wanted.group(1).lower()]
    return props or None


def present(data: dict, timing: Timing, *, zone: ZoneInfo, zone_label: str, occurrence: datetime | None = None,
            expand: str = "") -> dict:
    """The event (or one occurrence of a series) as Graph returns it, its times in ``zone``."""
    event = {"@odata.etag": f'W/"{data["changeKey"]}"', "id": data["id"]}
    event.update((k, v) for k, v in data.items() if k != "_sandbox")
    start, end = timing.start, timing.end
    if occurrence is not None:
        start, end = occurrence, occurrence + timing.duration
        event.update(id=occurrence_id(data["id"], occurrence), type="occurrence", seriesMasterId=data["id"],
                     recurrence=None, iCalUId=ical_uid_occurrence(data["iCalUId"], occurrence))
        event["webLink"] = web_link(event["id"])
    if timing.all_day:
        event["start"] = {"dateTime": start.strftime("%Y-%m-%dT00:00:00.0000000"), "timeZone": zone_label}
        event["end"] = {"dateTime": end.strftime("%Y-%m-%dT00:00:00.0000000"), "timeZone": zone_label}
    else:
        event["start"] = {"dateTime": graph_datetime(start, zone), "timeZone": zone_label}
        event["end"] = {"dateTime": graph_datetime(end, zone), "timeZone": zone_label}
    props = expanded_properties(data, expand) if expand else None
    if props is not None:
        event["singleValueExtendedProperties"] = props
    return event
