"""Helpers for scripts and tests under ``/sandbox/microsoft/dev/`` (JSON in and out, no authentication;
served only where CALENDAR_SANDBOX is on). Events come back in Graph's shape (times in UTC).

- ``POST dev/events`` ``{"account_email", "calendar": "primary"|<id>, "summary", "start", "end", "all_day",
  "transparent", "recurrence": "RRULE:…", "declined", "cancelled"}`` → 201 the event
- ``GET dev/events?account_email=`` → ``{"items": [...]}``; ``PATCH|DELETE dev/events/<id>`` → 200 the event | 204
- ``POST dev/calendars`` ``{"account_email", "name"}`` → 201 the calendar
- ``POST dev/faults`` ``{"account_email"?, "status": 429|500|503, "count", "retry_after"}`` → 201
- ``POST dev/expire-tokens|revoke|invalidate-sync`` ``{"account_email"}`` → 200
- ``GET dev/channels?account_email=`` → ``{"items": [{"id", "calendar", "address", "expires_at", "stopped"}]}``"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.microsoft import store
from sandbox.microsoft.store import DevError

EVENT_FIELDS = ("summary", "start", "end", "all_day", "transparent", "recurrence", "declined", "cancelled")


def helper(*methods: str) -> Callable:
    """JSON body in (for writes), DevError out as ``{"error": message}``, other methods refused."""

    def decorate(view: Callable[..., Any]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return JsonResponse({"error": f"Use {' or '.join(methods)}."}, status=405)
            body: Any = {}
            if request.method in ("POST", "PATCH"):
                try:
                    body = json.loads(request.body or b"{}")
                except (ValueError, UnicodeDecodeError):
                    body = None
                if not isinstance(body, dict):
                    return JsonResponse({"error": "Send a JSON object."}, status=400)
            try:
                return view(request, body, *args, **kwargs)
            except DevError as exc:
                return JsonResponse({"error": exc.message}, status=exc.status)

        return wrapped

    return decorate


def _email(body: dict) -> Any:
    return body.get("account_email")


@helper("GET", "POST")
def events(request: HttpRequest, body: dict) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse({"items": store.dev_events_list(request.GET.get("account_email", ""))})
    unknown = set(body) - {"account_email", "calendar", *EVENT_FIELDS}
    if unknown:
        raise DevError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    fields = {name: body[name] for name in EVENT_FIELDS if name in body}
    event = store.dev_event_create(account_email=_email(body), calendar=body.get("calendar", "primary"), **fields)
    return JsonResponse(event, status=201)


@helper("PATCH", "DELETE")
def event_detail(request: HttpRequest, body: dict, event_id: str) -> HttpResponse:
    if request.method == "DELETE":
        store.dev_event_delete(event_id=event_id)
        return HttpResponse(status=204)
    return JsonResponse(store.dev_event_update(event_id=event_id, changes=body))


@helper("POST")
def calendars(request: HttpRequest, body: dict) -> HttpResponse:
    return JsonResponse(store.dev_calendar_create(account_email=_email(body), name=body.get("name")), status=201)


@helper("POST")
def faults(request: HttpRequest, body: dict) -> HttpResponse:
    return JsonResponse(store.dev_fault_create(account_email=_email(body), status=body.get("status"),
                                               count=body.get("count", 1), retry_after=body.get("retry_after", 1)),
                        status=201)


@helper("POST")
def expire_tokens(request: HttpRequest, body: dict) -> HttpResponse:
    return JsonResponse({"expired": store.tokens_expire(_email(body))})


@helper("POST")
def revoke(request: HttpRequest, body: dict) -> HttpResponse:
    return JsonResponse({"revoked": store.grants_revoke(_email(body))})


@helper("POST")
def invalidate_sync(request: HttpRequest, body: dict) -> HttpResponse:
    return JsonResponse({"calendars": store.sync_invalidate(_email(body))})


@helper("GET")
def channels(request: HttpRequest, body: dict) -> HttpResponse:
    return JsonResponse({"items": store.channels_list(request.GET.get("account_email", ""))})
