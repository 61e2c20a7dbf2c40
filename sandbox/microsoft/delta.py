"""calendarView and its delta function: the events of a window, series expanded into occurrences,
paged with ``@odata.nextLink``; a delta round ends with an ``@odata.deltaLink`` whose token names the
window and the calendar's last change, so that the next round returns only what changed since.

State tokens are signed JSON: calendar, sync epoch, window, and for a ``$skiptoken`` where the page
ends (event row, item index: rows change only by getting a higher change number, which takes them
out of the round, so the order is stable). A token of another epoch (``dev/invalidate-sync``) or one
that does not verify is answered 410 Gone, ``SyncStateNotFound``: the client must sync again in full."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from django.core import signing
from django.db.models import Q, QuerySet

from sandbox.microsoft import store
from sandbox.microsoft.errors import GraphError
from sandbox.microsoft.events import Timing, occurrence_id, overlaps, parse_iso, present
from sandbox.models import EmulatedCalendar, EmulatedEvent

SALT = "sandbox.microsoft.delta"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000
UTC_ZONE = ZoneInfo("UTC")


@dataclass
class View:
    """How the client wants events shown: the time zone of ``Prefer: outlook.timezone`` and $expand."""

    zone: ZoneInfo
    zone_label: str
    expand: str = ""


def window_from(params: dict[str, str]) -> tuple[datetime, datetime]:
    """startDateTime and endDateTime (query names are case-insensitive at Graph), UTC unless offset."""
    start, end = params.get("startdatetime"), params.get("enddatetime")
    if not start or not end:
        raise GraphError(400, "ErrorInvalidParameter", "This request requires a time window specified by the query "
                         "string parameters StartDateTime and EndDateTime.")
    try:
        return parse_iso(start, UTC_ZONE), parse_iso(end, UTC_ZONE)
    except ValueError:
        raise GraphError(400, "ErrorInvalidParameter", "The value of the StartDateTime or EndDateTime parameter "
                         "is not a valid ISO 8601 date-time.") from None


def visible(row: EmulatedEvent, timing: Timing | None, start: datetime,
            end: datetime) -> list[tuple[str, datetime | None]]:
    """(id, occurrence start or None) of what the calendar view shows of an event with this timing."""
    if timing is None or timing.deleted:
        return []
    if not timing.rrule:
        return [(row.event_id, None)] if overlaps(timing.start, timing.end, start, end) else []
    return [(occurrence_id(row.event_id, when), when) for when in timing.occurrences(start, end)]


def _shown(row: EmulatedEvent, timing: Timing, occurrence: datetime | None, view: View) -> dict:
    return {"@odata.type": "#microsoft.graph.event",
            **present(row.data, timing, zone=view.zone, zone_label=view.zone_label, occurrence=occurrence,
                      expand=view.expand)}


def _removed(event_id: str) -> dict:
    return {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}


def _window_rows(calendar: EmulatedCalendar, start: datetime, end: datetime) -> QuerySet[EmulatedEvent]:
    return EmulatedEvent.objects.filter(calendar=calendar, deleted=False, start__lt=end).filter(
        Q(end__gt=start) | Q(start__gte=start))


# --- calendarView ------------------------------------------------------------------------------------


def calendar_view(*, calendar: EmulatedCalendar, params: dict[str, str], view: View, url: str) -> dict:
    """One page of ``GET …/calendarView``: $top (default 10), $skip, ordered by start."""
    start, end = window_from(params)
    try:
        top = min(int(params.get("$top", DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE)
        skip = int(params.get("$skip", 0))
    except ValueError:
        raise GraphError(400, "BadRequest", "Invalid $top or $skip value.") from None
    if top < 1 or skip < 0:
        raise GraphError(400, "BadRequest", "Invalid $top or $skip value.")
    items = []
    for row in _window_rows(calendar, start, end):
        timing = store.event_timing(row)
        for _, occurrence in visible(row, timing, start, end):
            items.append((occurrence or timing.start, row.pk, row, timing, occurrence))
    items.sort(key=lambda item: (item[0], item[1]))
    page = items[skip:skip + top]
    body: dict = {"value": [present(row.data, timing, zone=view.zone, zone_label=view.zone_label,
                                    occurrence=occurrence, expand=view.expand)
                            for _, _, row, timing, occurrence in page]}
    if skip + top < len(items):
        query = {key: value for key, value in params.items() if key not in ("$skip",)}
        query["$skip"] = str(skip + top)
        body["@odata.nextLink"] = f"{url}?{urlencode(query, safe='$:')}"
    return body


# --- delta ---------------------------------------------------------------------------------------------


def _gone() -> GraphError:
    return GraphError(410, "SyncStateNotFound", "The sync state generation is not found. The delta token is expired "
                      "and data must be synchronized again.")


def _token(state: dict) -> str:
    return signing.dumps(state, salt=SALT, compress=True)


def _state(token: str, kind: str, calendar: EmulatedCalendar) -> dict:
    try:
        state = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise _gone() from None
    if (not isinstance(state, dict) or state.get("k") != kind or state.get("c") != calendar.pk
            or state.get("e") != calendar.sync_epoch):
        raise _gone()
    return state


def _items(row: EmulatedEvent, state: dict, start: datetime, end: datetime, view: View) -> list[dict]:
    """What a round reports of one event: in a full round what the view shows; in an incremental one
    its occurrences that vanished (@removed), then what the view now shows — or, for a change the
    view does not show (outside the window, deleted), the event as @removed, as Graph does."""
    timing = store.event_timing(row)
    now = visible(row, timing, start, end)
    shown = [_shown(row, timing, occurrence, view) for _, occurrence in now]
    if state["m"] == "full":
        return shown
    now_ids = {event_id for event_id, _ in now}
    before = visible(row, store.timing_at(row, state["s"]), start, end)
    items = [_removed(event_id) for event_id, _ in before if event_id not in now_ids] + shown
    return items or [_removed(row.event_id)]


def _rows(calendar: EmulatedCalendar, state: dict, start: datetime, end: datetime) -> Iterator[EmulatedEvent]:
    if state["m"] == "full":
        rows = _window_rows(calendar, start, end).filter(change_seq__lte=state["u"])
    else:
        rows = EmulatedEvent.objects.filter(calendar=calendar, change_seq__gt=state["s"], change_seq__lte=state["u"])
    rows = rows.order_by("pk")
    if state.get("a"):
        rows = rows.filter(pk__gte=state["a"][0])
    return rows.iterator(chunk_size=200)


def delta_page(*, calendar: EmulatedCalendar, params: dict[str, str], view: View, page_size: int, url: str) -> dict:
    """One page of ``GET …/calendarView/delta``: a first request (window), a ``$skiptoken`` or a ``$deltatoken``."""
    if "$deltatoken" in params:
        previous = _state(params["$deltatoken"], "delta", calendar)
        state = {"k": "skip", "c": calendar.pk, "e": calendar.sync_epoch, "w": previous["w"], "m": "changes",
                 "s": previous["s"], "u": calendar.change_seq, "a": None}
    elif "$skiptoken" in params:
        state = _state(params["$skiptoken"], "skip", calendar)
    else:
        start, end = window_from(params)
        state = {"k": "skip", "c": calendar.pk, "e": calendar.sync_epoch, "w": [start.isoformat(), end.isoformat()],
                 "m": "full", "s": 0, "u": calendar.change_seq, "a": None}
    start, end = (datetime.fromisoformat(moment) for moment in state["w"])
    after_pk, after_index = state["a"] or (0, -1)
    page: list[tuple[int, int, dict]] = []
    for row in _rows(calendar, state, start, end):
        for index, item in enumerate(_items(row, state, start, end, view)):
            if row.pk == after_pk and index <= after_index:
                continue
            page.append((row.pk, index, item))
        if len(page) > page_size:
            break
    body: dict = {"value": [item for _, _, item in page[:page_size]]}
    if len(page) > page_size:
        last_pk, last_index, _ = page[page_size - 1]
        token = _token({**state, "a": [last_pk, last_index]})
        body["@odata.nextLink"] = f"{url}?$skiptoken={quote(token, safe='')}"
    else:
        token = _token({"k": "delta", "c": calendar.pk, "e": calendar.sync_epoch, "w": state["w"], "s": state["u"]})
        body["@odata.deltaLink"] = f"{url}?$deltatoken={quote(token, safe='')}"
    return body
