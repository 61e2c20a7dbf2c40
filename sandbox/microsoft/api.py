"""Microsoft Graph v1.0 as far as calendars go, under ``/sandbox/microsoft/graph/v1.0/``: Bearer access
tokens from ``oauth``, Graph's error envelope, ``request-id`` headers, injected faults (429 with
Retry-After, 5xx), ``Prefer: odata.maxpagesize`` and ``Prefer: outlook.timezone``.

Graph's paths are case-insensitive (``calendarview`` works as well as ``calendarView``), so the
emulator routes them itself: one Django URL, then :data:`ROUTES`."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox.microsoft import delta, store, subscriptions
from sandbox.microsoft.errors import GraphError, graph_error_response, item_not_found
from sandbox.microsoft.events import event_input, zone_for
from sandbox.microsoft.oauth import CALENDAR_SCOPES, scope_allows
from sandbox.models import CalendarAccount, CalendarGrant, EmulatedCalendar, EmulatedEvent

CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                        'common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'}


@dataclass
class Call:
    """One Graph request, authenticated."""

    request: HttpRequest
    grant: CalendarGrant
    base: str  # this emulator's Graph root, e.g. http://localhost:8000/sandbox/microsoft/graph/v1.0
    params: dict[str, str]  # query parameters, names lower-cased ($top, startdatetime, …)
    view: delta.View
    page_size: int
    applied: list[str]

    @property
    def account(self) -> CalendarAccount:
        return self.grant.account

    @property
    def url(self) -> str:
        """This request's URL without its query string."""
        return self.request.build_absolute_uri(self.request.path)

    def context(self, what: str) -> str:
        return f"{self.base}/$metadata#{what}"


def _json(body: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE)


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header "
                         "is set and payload is of valid JSON format.") from None


def _method_not_allowed(request: HttpRequest) -> GraphError:
    return GraphError(405, "Request_BadRequest", f"The {request.method} method is not supported for this resource.")


def _need(call: Call, *, write: bool = False) -> None:
    needed = ("Calendars.ReadWrite",) if write else CALENDAR_SCOPES
    if not scope_allows(call.grant.scope, needed):
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def _calendar(call: Call, calendar_id: str | None) -> EmulatedCalendar:
    calendar = store.calendar_find(call.account, calendar_id)
    if calendar is None:
        raise item_not_found()
    return calendar


def _present(call: Call, row: EmulatedEvent, occurrence: datetime | None = None) -> dict:
    return store.event_present(row, occurrence=occurrence, zone=call.view.zone, zone_label=call.view.zone_label,
                               expand=call.view.expand)


def _page_args(call: Call, default: int) -> tuple[int, int]:
    try:
        top, skip = int(call.params.get("$top", default)), int(call.params.get("$skip", 0))
    except ValueError:
        raise GraphError(400, "BadRequest", "Invalid $top or $skip value.") from None
    if not 1 <= top <= 1000 or skip < 0:
        raise GraphError(400, "BadRequest", "Invalid $top or $skip value.")
    return top, skip


# --- views ---------------------------------------------------------------------------------------------


def me(call: Call) -> HttpResponse:
    if call.request.method != "GET":
        raise _method_not_allowed(call.request)
    if not scope_allows(call.grant.scope, ("User.Read",)):
        raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    return _json({"@odata.context": call.context("users/$entity"), **store.user_json(call.account)})


def calendars(call: Call) -> HttpResponse:
    _need(call, write=call.request.method != "GET")
    context = call.context(f"users('{store.user_id(call.account)}')/calendars")
    if call.request.method == "POST":
        body = _body(call.request)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise GraphError(400, "ErrorInvalidRequest", "A calendar needs a name.")
        calendar = store.calendar_create(call.account, name.strip())
        return _json({"@odata.context": context + "/$entity", **store.calendar_json(calendar)}, 201)
    if call.request.method != "GET":
        raise _method_not_allowed(call.request)
    top, skip = _page_args(call, 10)
    rows = list(call.account.calendars.order_by("-primary", "created", "pk")[skip:skip + top + 1])
    body = {"@odata.context": context, "value": [store.calendar_json(c) for c in rows[:top]]}
    if len(rows) > top:
        body["@odata.nextLink"] = f"{call.url}?$top={top}&$skip={skip + top}"
    return _json(body)


def calendar_detail(call: Call, calendar_id: str | None = None) -> HttpResponse:
    _need(call)
    if call.request.method != "GET":
        raise _method_not_allowed(call.request)
    calendar = _calendar(call, calendar_id)
    return _json({"@odata.context": call.context(f"users('{store.user_id(call.account)}')/calendars/$entity"),
                  **store.calendar_json(calendar)})


def events(call: Call, calendar_id: str | None = None) -> HttpResponse:
    """POST creates an event; GET lists the calendar's events and series masters (no occurrences)."""
    calendar = _calendar(call, calendar_id)
    context = call.context(f"users('{store.user_id(call.account)}')/events")
    if call.request.method == "POST":
        _need(call, write=True)
        changes, timing = event_input(_body(call.request), current=None, current_timing=None)
        row, _ = store.event_create(calendar, changes, timing)
        return _json({"@odata.context": context + "/$entity", **_present(call, row)}, 201)
    if call.request.method != "GET":
        raise _method_not_allowed(call.request)
    _need(call)
    top, skip = _page_args(call, 10)
    rows = list(calendar.events.filter(deleted=False).order_by("start", "pk")[skip:skip + top + 1])
    body = {"@odata.context": context, "value": [_present(call, row) for row in rows[:top]]}
    if len(rows) > top:
        body["@odata.nextLink"] = f"{call.url}?$top={top}&$skip={skip + top}"
    return _json(body)


def event_detail(call: Call, event_id: str, calendar_id: str | None = None) -> HttpResponse:
    method = call.request.method
    if method not in ("GET", "PATCH", "DELETE"):
        raise _method_not_allowed(call.request)
    _need(call, write=method != "GET")
    calendar = _calendar(call, calendar_id) if calendar_id else None
    with transaction.atomic():
        found = store.event_find(call.account, event_id, calendar=calendar, lock=method != "GET")
        if found is None:
            raise item_not_found()
        row, occurrence = found
        if method == "GET":
            return _json({"@odata.context": call.context(f"users('{store.user_id(call.account)}')/events/$entity"),
                          **_present(call, row, occurrence)})
        if method == "DELETE":
            if occurrence is not None:
                store.occurrence_cancel(row, occurrence)
            else:
                store.event_delete(row)
            return HttpResponse(status=204)
        if occurrence is not None:
            raise GraphError(400, "ErrorInvalidRequest", "The emulator does not edit single occurrences of a series; "
                             "edit the series master instead.")
        changes, timing = event_input(_body(call.request), current=row.data, current_timing=store.event_timing(row))
        row = store.event_update(row, changes, timing)
    return _json({"@odata.context": call.context(f"users('{store.user_id(call.account)}')/events/$entity"),
                  **_present(call, row)})


def calendar_view(call: Call, calendar_id: str | None = None) -> HttpResponse:
    _need(call)
    if call.request.method != "GET":
        raise _method_not_allowed(call.request)
    body = delta.calendar_view(calendar=_calendar(call, calendar_id), params=call.params, view=call.view,
                               url=call.url)
    return _json({"@odata.context": call.context(f"users('{store.user_id(call.account)}')/calendarView"), **body})


def calendar_view_delta(call: Call, calendar_id: str | None = None) -> HttpResponse:
    _need(call)
    if call.request.method != "GET":
        raise _method_not_allowed(call.request)
    body = delta.delta_page(calendar=_calendar(call, calendar_id), params=call.params, view=call.view,
                            page_size=call.page_size, url=call.url)
    return _json({"@odata.context": call.context("Collection(event)"), **body})


def subscriptions_collection(call: Call) -> HttpResponse:
    _need(call)
    if call.request.method == "POST":
        channel = subscriptions.subscription_create(account=call.account, client_id=call.grant.client_id,
                                                    body=_body(call.request))
        return _json({"@odata.context": call.context("subscriptions/$entity"),
                      **subscriptions.subscription_json(channel)}, 201)
    if call.request.method != "GET":
        raise _method_not_allowed(call.request)
    channels = subscriptions.subscription_list(call.account, call.grant.client_id)
    return _json({"@odata.context": call.context("subscriptions"),
                  "value": [subscriptions.subscription_json(c) for c in channels]})


def subscription_detail(call: Call, subscription_id: str) -> HttpResponse:
    _need(call)
    channel = subscriptions.subscription_find(call.account, subscription_id)
    if channel is None:
        raise GraphError(404, "ResourceNotFound", f"The object was not found. Subscription '{subscription_id}' "
                         "doesn't exist.")
    if call.request.method == "DELETE":
        subscriptions.subscription_delete(channel)
        return HttpResponse(status=204)
    if call.request.method == "PATCH":
        channel = subscriptions.subscription_update(channel, _body(call.request))
    elif call.request.method != "GET":
        raise _method_not_allowed(call.request)
    return _json({"@odata.context": call.context("subscriptions/$entity"), **subscriptions.subscription_json(channel)})


_CAL = r"me/(?:calendar|calendars/(?P<calendar_id>[^/]+))"
ROUTES: list[tuple[re.Pattern, Callable[..., HttpResponse]]] = [
    (re.compile(pattern, re.IGNORECASE), view) for pattern, view in (
        (r"me", me),
        (r"me/calendars", calendars),
        (_CAL, calendar_detail),
        (rf"(?:me|{_CAL})/events", events),
        (rf"(?:me|{_CAL})/events/(?P<event_id>[^/]+)", event_detail),
        (rf"(?:me|{_CAL})/calendarView", calendar_view),
        (rf"(?:me|{_CAL})/calendarView/(?:microsoft\.graph\.)?delta(?:\(\))?", calendar_view_delta),
        (r"subscriptions", subscriptions_collection),
        (r"subscriptions/(?P<subscription_id>[^/]+)", subscription_detail),
    )
]


# --- the request pipeline -----------------------------------------------------------------------------


def _route(target: str) -> tuple[Callable[..., HttpResponse], re.Match]:
    for pattern, view in ROUTES:
        match = pattern.fullmatch(target)
        if match:
            return view, match
    raise GraphError(400, "BadRequest", f"Resource not found for the segment '{target.split('/')[-1]}'.")


def _authenticate(request: HttpRequest) -> CalendarGrant:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", headers=UNAUTHORIZED_HEADERS)
    grant = (CalendarGrant.objects.select_related("account")
             .filter(value=token.strip(), kind=CalendarGrant.Kind.ACCESS, account__provider=store.PROVIDER).first())
    if grant is None:
        raise GraphError(401, "InvalidAuthenticationToken", "CompactToken parsing failed with error code: 80049217",
                         headers=UNAUTHORIZED_HEADERS)
    if grant.revoked or grant.expires_at is None or grant.expires_at <= timezone.now():
        raise GraphError(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.",
                         headers=UNAUTHORIZED_HEADERS)
    return grant


def _fault(account: CalendarAccount) -> None:
    fault = store.fault_take(account)
    if fault is None:
        return
    headers = {"Retry-After": str(fault.retry_after)}
    if fault.status == 429:
        raise GraphError(429, "TooManyRequests", "Please retry again later.", headers=headers)
    if fault.status == 503:
        raise GraphError(503, "ServiceUnavailable", "Service Unavailable", headers=headers)
    raise GraphError(fault.status, "InternalServerError", "An internal server error occurred. The operation failed.")


_PREFER_ITEM = re.compile(r'\s*([\w.-]+)\s*(?:=\s*("[^"]*"|[^,;]*))?')


def _prefer(request: HttpRequest) -> tuple[int, delta.View, list[str]]:
    """odata.maxpagesize and outlook.timezone from the Prefer header(s); what was applied."""
    page_size, label, applied = delta.DEFAULT_PAGE_SIZE, "UTC", []
    for match in _PREFER_ITEM.finditer(request.headers.get("Prefer", "")):
        name, value = match.group(1).lower(), (match.group(2) or "").strip().strip('"')
        if name == "odata.maxpagesize" and value.isdigit() and int(value) > 0:
            page_size = min(int(value), delta.MAX_PAGE_SIZE)
            applied.append(f"odata.maxpagesize={page_size}")
        elif name == "outlook.timezone" and zone_for(value) is not None:
            label = value
            applied.append(f'outlook.timezone="{value}"')
    zone = zone_for(label) or ZoneInfo("UTC")
    return page_size, delta.View(zone=zone, zone_label=label), applied


@csrf_exempt
def dispatch(request: HttpRequest, path: str) -> HttpResponse:
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or request_id
    try:
        grant = _authenticate(request)
        _fault(grant.account)
        view, match = _route(path.strip("/"))
        page_size, view_options, applied = _prefer(request)
        params = {key.lower(): value for key, value in request.GET.items()}
        view_options.expand = params.get("$expand", "")
        root = request.path[:len(request.path) - len(path)].rstrip("/")
        call = Call(request=request, grant=grant, base=request.build_absolute_uri(root), params=params,
                    view=view_options, page_size=page_size, applied=applied)
        response = view(call, **{k: v for k, v in match.groupdict().items() if v is not None})
        if applied:
            response["Preference-Applied"] = ", ".join(applied)
    except GraphError as exc:
        response = graph_error_response(exc, request_id=request_id, client_request_id=client_request_id)
    response["request-id"] = request_id
    response["client-request-id"] = client_request_id
    return response
