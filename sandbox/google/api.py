"""The Calendar API v3 at ``/sandbox/google/calendar/v3``: Bearer access tokens, Google's error envelope,
injected faults, the calendar list, events and push channels."""

from __future__ import annotations

import json
from functools import wraps
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.google import listing, store
from sandbox.google.errors import (
    GoogleError,
    bad_request,
    fault_error,
    insufficient_scope,
    invalid_credentials,
    login_required,
)
from sandbox.models import CalendarAccount, EmulatedCalendar

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CALENDAR_LIST_SALT = "sandbox.google.calendar-list"


def api(view):
    """Authentication, the account's injected faults, scopes and JSON bodies, as Google's front end does them.

    The view gets ``(request, account, body, ...)`` and returns a JSON-able dict, or None for 204. Writes
    need a scope that may change events, unless the view is marked ``reads_only`` (watching, stopping)."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise login_required()
            grant = store.access_grant(token.strip())
            if grant is None:
                raise invalid_credentials()
            fault = store.fault_take(grant.account)
            if fault is not None:
                raise fault_error(*fault)
            scopes = grant.scope.split()
            writes = request.method in WRITE_METHODS and not getattr(view, "reads_only", False)
            if not any(scope in store.CALENDAR_WRITE_SCOPES if writes else scope.startswith(store.CALENDAR_SCOPE)
                       for scope in scopes):
                raise insufficient_scope()
            body = None
            if request.method in ("POST", "PUT", "PATCH"):
                try:
                    body = json.loads(request.body or b"{}")
                except ValueError:
                    raise GoogleError(400, "Parse Error", reason="parseError") from None
            result = view(request, grant.account, body, *args, **kwargs)
        except GoogleError as exc:
            return exc.response()
        if result is None:
            return HttpResponse(status=204)
        return JsonResponse(result)

    return wrapped


def _method_not_allowed(request: HttpRequest) -> GoogleError:
    return GoogleError(405, f"Method {request.method} is not supported here.", reason="httpMethodNotAllowed")


# --- calendars ------------------------------------------------------------------------------------


@api
def calendar_list(request: HttpRequest, account: CalendarAccount, body: None) -> dict:
    """``GET users/me/calendarList``: the primary calendar first, paged by ``maxResults`` (max 250)."""
    if request.method != "GET":
        raise _method_not_allowed(request)
    try:
        limit = min(int(request.GET.get("maxResults") or 100), 250)
    except ValueError:
        limit = 0
    if limit < 1:
        raise bad_request("Invalid value for maxResults.", location="maxResults")
    offset = 0
    if request.GET.get("pageToken"):
        try:
            offset = int(signing.loads(request.GET["pageToken"], salt=CALENDAR_LIST_SALT)["o"])
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise bad_request("Invalid pageToken value.", location="pageToken") from None
    calendars = list(EmulatedCalendar.objects.filter(account=account).order_by("-primary", "created", "pk"))
    page = calendars[offset:offset + limit]
    result = {"kind": "calendar#calendarList", "etag": f'"{len(calendars)}-{account.pk}"',
              "items": [store.calendar_list_entry(calendar) for calendar in page]}
    if offset + limit < len(calendars):
        result["nextPageToken"] = signing.dumps({"o": offset + limit}, salt=CALENDAR_LIST_SALT)
    return result


@api
def calendar_list_entry(request: HttpRequest, account: CalendarAccount, body: None, calendar_id: str) -> dict:
    if request.method != "GET":
        raise _method_not_allowed(request)
    return store.calendar_list_entry(store.calendar_find(account, calendar_id))


@api
def calendar_detail(request: HttpRequest, account: CalendarAccount, body: None, calendar_id: str) -> dict:
    if request.method != "GET":
        raise _method_not_allowed(request)
    return store.calendar_resource(store.calendar_find(account, calendar_id))


# --- events ---------------------------------------------------------------------------------------


@api
def events(request: HttpRequest, account: CalendarAccount, body: object, calendar_id: str) -> dict:
    """``GET`` lists (see ``listing``); ``POST`` inserts and answers the event (200, as Google does)."""
    calendar = store.calendar_find(account, calendar_id)
    if request.method == "GET":
        return listing.events_list(calendar=calendar, params=request.GET)
    if request.method == "POST":
        return store.event_insert(calendar=calendar, body=body)
    raise _method_not_allowed(request)


@api
def event_detail(request: HttpRequest, account: CalendarAccount, body: object, calendar_id: str,
                 event_id: str) -> dict | None:
    calendar = store.calendar_find(account, calendar_id)
    if request.method == "GET":
        return store.event_get(calendar=calendar, event_id=event_id)
    if request.method in ("PUT", "PATCH"):
        return store.event_update(calendar=calendar, event_id=event_id, body=body, patch=request.method == "PATCH")
    if request.method == "DELETE":
        store.event_delete(calendar=calendar, event_id=event_id)
        return None
    raise _method_not_allowed(request)


def reads_only(view):
    view.reads_only = True
    return view


@api
@reads_only
def events_watch(request: HttpRequest, account: CalendarAccount, body: object, calendar_id: str) -> dict:
    """``POST calendars/{id}/events/watch``: a ``web_hook`` channel on the calendar's events."""
    if request.method != "POST":
        raise _method_not_allowed(request)
    calendar = store.calendar_find(account, calendar_id)
    resource_uri = f"{settings.GOOGLE_CALENDAR_API_BASE}/calendars/{quote(calendar_id, safe='@')}/events?alt=json"
    return store.channel_create(calendar=calendar, body=body, resource_uri=resource_uri)


@api
@reads_only
def channels_stop(request: HttpRequest, account: CalendarAccount, body: object) -> None:
    """``POST channels/stop`` ``{"id", "resourceId"}``: no more notifications on that channel."""
    if request.method != "POST":
        raise _method_not_allowed(request)
    if not isinstance(body, dict):
        raise GoogleError(400, "Parse Error", reason="parseError")
    store.channel_stop(account=account, channel_id=body.get("id"), resource_id=body.get("resourceId"))
    return None
