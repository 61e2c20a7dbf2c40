"""Google Calendar events as the API shows them: a request body checked and turned into the stored event,
recurring series expanded into instances, and the short form of a cancelled event."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from sandbox.google.errors import GoogleError, bad_request

BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RECURRENCE_PREFIXES = ("RRULE:", "EXRULE:", "RDATE:", "RDATE;", "EXDATE:", "EXDATE;")
STATUSES = ("confirmed", "tentative", "cancelled")
RESPONSE_STATUSES = ("needsAction", "declined", "tentative", "accepted")
# Fields a client sets that are kept as given; start, end, recurrence, attendees and
# extendedProperties are checked one by one.
PLAIN_FIELDS = ("summary", "description", "location", "colorId", "visibility", "reminders", "source",
                "guestsCanInviteOthers", "guestsCanModify", "guestsCanSeeOtherGuests", "anyoneCanAddSelf")
# Replaced as a whole by a patch (other objects are merged key by key, as Google's patch semantics do).
PATCH_REPLACED = ("start", "end", "recurrence", "attendees", "originalStartTime")
# Series are expanded this far ahead unless a list asks for less.
HORIZON = timedelta(days=365)
MAX_INSTANCES = 2500
MAX_STEPS = 100_000


def new_id() -> str:
    """A random id in Google's alphabet for event ids (base32hex, lower case)."""
    return "".join(secrets.choice(BASE32HEX) for _ in range(26))


def stamp(moment: datetime) -> str:
    """Google's ``created`` / ``updated`` form: UTC with milliseconds."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def zone(name: str, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise bad_request(f"Invalid time zone definition for {field} time.") from None


def format_datetime(moment: datetime, tz: ZoneInfo) -> str:
    """RFC 3339 with the offset of ``tz`` (``Z`` for UTC), as Google writes ``dateTime``."""
    local = moment.astimezone(tz).replace(microsecond=0)
    text = local.isoformat()
    return text[:-6] + "Z" if tz.key == "UTC" else text


def parse_rfc3339(value: object, param: str) -> datetime:
    """A timestamp with a mandatory offset (``timeMin``, ``timeMax``, ``dateTime``)."""
    try:
        if not isinstance(value, str) or "T" not in value.upper():
            raise ValueError
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(f"Invalid value for: {param}", location=param) from None
    if moment.tzinfo is None:
        raise bad_request(f"Invalid value for: {param}", location=param)
    return moment


@dataclass(frozen=True)
class When:
    """An event's times: the instants (UTC) the emulator filters on and the JSON Google shows."""

    start: datetime
    end: datetime
    all_day: bool
    start_json: dict
    end_json: dict


def _one_time(value: object, field: str, calendar_zone: str, recurring: bool) -> tuple[datetime | date, dict]:
    if value is None:
        raise GoogleError(400, f"Missing {field} time.", reason="required")
    if not isinstance(value, dict) or ("date" in value) == ("dateTime" in value):
        raise bad_request(f"Invalid {field} time.")
    if "date" in value:
        if not isinstance(value["date"], str) or not DATE.fullmatch(value["date"]):
            raise bad_request(f"Invalid {field} time.")
        try:
            day = date.fromisoformat(value["date"])
        except ValueError:
            raise bad_request(f"Invalid {field} time.") from None
        return day, {"date": day.isoformat()}
    raw, zone_name = value["dateTime"], value.get("timeZone")
    try:
        if not isinstance(raw, str) or "T" not in raw.upper():
            raise ValueError
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"Invalid {field} time.") from None
    if zone_name is not None and not isinstance(zone_name, str):
        raise bad_request(f"Invalid time zone definition for {field} time.")
    if (moment.tzinfo is None or recurring) and not zone_name:
        # A recurring series repeats in a named zone; a local time needs one too.
        raise GoogleError(400, f"Missing time zone definition for {field} time.", reason="required")
    tz = zone(zone_name or calendar_zone, field)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment, {"dateTime": format_datetime(moment, tz), "timeZone": tz.key}


def parse_when(start: object, end: object, *, calendar_zone: str, recurring: bool) -> When:
    first, start_json = _one_time(start, "start", calendar_zone, recurring)
    last, end_json = _one_time(end, "end", calendar_zone, recurring)
    if isinstance(first, datetime) != isinstance(last, datetime):
        raise bad_request("Start and end times must either both be date or both be dateTime.")
    if isinstance(first, datetime):
        if last < first:
            raise bad_request("The specified time range is empty.", reason="timeRangeEmpty", domain="calendar")
        return When(first.astimezone(UTC), last.astimezone(UTC), False, start_json, end_json)
    if last <= first:
        raise bad_request("The specified time range is empty.", reason="timeRangeEmpty", domain="calendar")
    tz = ZoneInfo(calendar_zone)
    return When(datetime.combine(first, time(), tz).astimezone(UTC), datetime.combine(last, time(), tz).astimezone(UTC),
                True, start_json, end_json)


def parse_recurrence(value: object) -> list[str]:
    if value in (None, []):
        return []
    if not isinstance(value, list) or not all(
            isinstance(line, str) and line.upper().startswith(RECURRENCE_PREFIXES) for line in value):
        raise bad_request("Invalid recurrence rule.")
    return list(value)


def _attendees(value: object, *, owner_email: str, organizer_email: str) -> list[dict]:
    if not isinstance(value, list):
        raise bad_request("Invalid attendees.")
    attendees = []
    for item in value:
        email = item.get("email") if isinstance(item, dict) else None
        if not isinstance(email, str) or "@" not in email:
            raise GoogleError(400, "Missing attendee email.", reason="required")
        status = item.get("responseStatus", "needsAction")
        if status not in RESPONSE_STATUSES:
            raise bad_request("Invalid attendee response status.")
        attendee = {key: item[key] for key in ("displayName", "optional", "comment", "additionalGuests")
                    if key in item}
        attendee.update(email=email, responseStatus=status)
        if email.lower() == organizer_email.lower():
            attendee["organizer"] = True
        if email.lower() == owner_email.lower():
            attendee["self"] = True
        attendees.append(attendee)
    return attendees


def _extended_properties(value: object) -> dict:
    if not isinstance(value, dict) or set(value) - {"private", "shared"}:
        raise bad_request("Invalid extended properties.")
    for scope in value.values():
        if not isinstance(scope, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in scope.items()):
            raise bad_request("Invalid extended properties: keys and values are strings.")
    return {scope: dict(props) for scope, props in value.items()}


def html_link(event_id: str, calendar_id: str) -> str:
    eid = base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"


def event_build(body: object, *, calendar_id: str, calendar_name: str, primary: bool, calendar_zone: str,
                owner_email: str, now: datetime, existing: dict | None = None,
                organizer: dict | None = None) -> tuple[dict, When, list[str]]:
    """The stored event for ``body``: an insert, or with ``existing`` a full update (PUT) of it.

    ``etag`` and ``updated`` are set by the caller, which knows the change's sequence number."""
    if not isinstance(body, dict):
        raise GoogleError(400, "Parse Error", reason="parseError")
    recurrence = parse_recurrence(body.get("recurrence"))
    when = parse_when(body.get("start"), body.get("end"), calendar_zone=calendar_zone, recurring=bool(recurrence))
    if recurrence:
        # A rule that cannot be expanded is refused now rather than at the next list.
        occurrences(event_id="x", when=when, recurrence=recurrence, calendar_zone=calendar_zone,
                    after=None, before=when.start + HORIZON, limit=1)
    for field in ("summary", "description", "location"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise bad_request(f"Invalid value for: {field}")
    status = body.get("status", "confirmed")
    if status not in STATUSES:
        raise bad_request("Invalid event status.")
    transparency = body.get("transparency", "opaque")
    if transparency not in ("opaque", "transparent"):
        raise bad_request("Invalid transparency value.")

    if existing is not None:
        event_id, created = existing["id"], existing["created"]
        organizer, creator = existing["organizer"], existing["creator"]
        moved = (existing.get("start"), existing.get("end"), existing.get("recurrence", [])) != (
            when.start_json, when.end_json, recurrence)
        sequence = existing.get("sequence", 0) + (1 if moved else 0)
    else:
        event_id = body.get("id") or new_id()
        if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
            raise bad_request("Invalid resource id value.")
        created, sequence = stamp(now), 0
        creator = {"email": owner_email, "self": True}
        if organizer is None:
            organizer = {"email": calendar_id, "self": True}
            if not primary:
                organizer["displayName"] = calendar_name

    event = {"kind": "calendar#event", "id": event_id, "status": status,
             "htmlLink": html_link(event_id, calendar_id), "created": created}
    event.update({field: body[field] for field in PLAIN_FIELDS if body.get(field) is not None})
    event.update(creator=creator, organizer=organizer, start=when.start_json, end=when.end_json)
    if recurrence:
        event["recurrence"] = recurrence
    if transparency == "transparent":
        event["transparency"] = "transparent"
    event.update(iCalUID=existing["iCalUID"] if existing else f"{event_id}@google.com", sequence=sequence)
    if body.get("attendees"):
        event["attendees"] = _attendees(body["attendees"], owner_email=owner_email,
                                        organizer_email=organizer.get("email", ""))
    if body.get("extendedProperties"):
        event["extendedProperties"] = _extended_properties(body["extendedProperties"])
    event.setdefault("reminders", {"useDefault": True})
    event["eventType"] = "default"
    return event, when, recurrence


def merge(base: dict, patch: dict) -> dict:
    """Google's patch semantics: objects merge key by key, ``null`` clears a field, the rest is replaced."""
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in PATCH_REPLACED:
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def public(data: dict) -> dict:
    """The event as the API shows it: without the emulator's own bookkeeping (keys starting with ``_``)."""
    return {key: value for key, value in data.items() if not key.startswith("_")}


# --- recurring series -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    id: str
    start: datetime
    end: datetime
    start_json: dict
    end_json: dict


def occurrences(*, event_id: str, when: When, recurrence: list[str], calendar_zone: str,
                after: datetime | None, before: datetime, limit: int = MAX_INSTANCES) -> list[Occurrence]:
    """The instances of a series that end after ``after`` (if given) and start before ``before``.

    Timed series repeat in their start's zone (wall-clock times stay put across DST); all-day series
    repeat by date. Instance ids are Google's: ``<id>_<start in UTC, YYYYMMDDTHHMMSSZ>``, or
    ``<id>_<YYYYMMDD>`` for all-day series."""
    found: list[Occurrence] = []
    if when.all_day:
        tz = ZoneInfo(calendar_zone)
        first = date.fromisoformat(when.start_json["date"])
        days = date.fromisoformat(when.end_json["date"]) - first
        dtstart = datetime.combine(first, time())
        upper = before.astimezone(tz).replace(tzinfo=None)
        lower = after.astimezone(tz).replace(tzinfo=None) if after else None
    else:
        tz = ZoneInfo(when.start_json.get("timeZone") or calendar_zone)
        duration = when.end - when.start
        dtstart = when.start.astimezone(tz)
        upper, lower = before, after
    try:
        rules = rrulestr("\n".join(recurrence), dtstart=dtstart, forceset=True)
        for step, moment in enumerate(rules):
            if moment >= upper or len(found) >= limit or step >= MAX_STEPS:
                break
            if when.all_day:
                day = moment.date()
                end = moment + days
                if lower is not None and end <= lower:
                    continue
                found.append(Occurrence(
                    f"{event_id}_{day:%Y%m%d}", datetime.combine(day, time(), tz).astimezone(UTC),
                    datetime.combine(day + days, time(), tz).astimezone(UTC),
                    {"date": day.isoformat()}, {"date": (day + days).isoformat()}))
            else:
                end = moment + duration
                if lower is not None and end <= lower:
                    continue
                start_utc = moment.astimezone(UTC)
                found.append(Occurrence(
                    f"{event_id}_{start_utc:%Y%m%dT%H%M%SZ}", start_utc, end.astimezone(UTC),
                    {"dateTime": format_datetime(moment, tz), "timeZone": tz.key},
                    {"dateTime": format_datetime(end, tz), "timeZone": tz.key}))
    except (ValueError, TypeError, OverflowError):
        raise bad_request("Invalid recurrence rule.") from None
    return found


def instance(master: dict, occurrence: Occurrence) -> dict:
    """One instance of a series, as ``singleEvents=true`` lists it."""
    data = {key: value for key, value in public(master).items() if key != "recurrence"}
    data.update(id=occurrence.id, recurringEventId=master["id"], originalStartTime=occurrence.start_json,
                start=occurrence.start_json, end=occurrence.end_json)
    return data


def cancelled(event_id: str, etag: str, *, updated: str = "", recurring_event_id: str = "",
              original_start: dict | None = None) -> dict:
    """A deleted event (or an instance that no longer exists) as an incremental sync reports it."""
    data = {"kind": "calendar#event", "etag": etag, "id": event_id, "status": "cancelled"}
    if updated:
        data["updated"] = updated
    if recurring_event_id:
        data.update(recurringEventId=recurring_event_id, originalStartTime=original_start or {})
    return data
