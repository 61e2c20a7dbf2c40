"""Helpers for scripts and tests at ``/sandbox/google/dev/...`` (JSON in, JSON out, no authentication):
act as the account's owner in their calendar, and make Google misbehave on purpose.

- ``POST dev/events`` ``{"account_email", "calendar": "primary", "summary", "start", "end", "all_day",
  "transparent", "recurrence": "RRULE:…", "declined", "cancelled"}`` → 201 the event (Google's shape)
- ``PATCH dev/events/<id>`` (any of summary/start/end/all_day/transparent) → 200; ``DELETE`` → 204
- ``GET dev/events?account_email=`` → ``{"items": [...]}`` the live events of all the account's calendars
- ``POST dev/calendars`` ``{"account_email", "name"}`` → 201 a secondary calendar
- ``POST dev/faults`` ``{"account_email"?, "status": 429|500|503, "count", "retry_after"}`` → 201;
  ``DELETE dev/faults`` clears them
- ``POST dev/expire-tokens`` / ``dev/revoke`` / ``dev/invalidate-sync`` ``{"account_email"}`` → 200
- ``GET dev/channels?account_email=`` → ``{"items": [{"id", "calendar", "address", "expires_at", "stopped"}]}``"""

from __future__ import annotations

import json
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.google import store
from sandbox.google.store import DevError, DevNotFound
from sandbox.models import EmulatedFault

EVENT_FIELDS = {"account_email", "calendar", "summary", "description", "location", "start", "end", "all_day",
                "transparent", "recurrence", "declined", "cancelled"}
FLAGS = ("all_day", "transparent", "declined", "cancelled")


def dev(*methods: str):
    """JSON helpers: the body as a dict, ``DevError`` → 400 and ``DevNotFound`` → 404 with ``{"error"}``."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                return JsonResponse({"error": f"Use {' or '.join(methods)}."}, status=405)
            try:
                body = {}
                if request.method in ("POST", "PATCH", "DELETE") and request.body:
                    body = json.loads(request.body)
                    if not isinstance(body, dict):
                        raise ValueError
            except ValueError:
                return JsonResponse({"error": "Send a JSON object."}, status=400)
            try:
                return view(request, body, *args, **kwargs)
            except DevNotFound as exc:
                return JsonResponse({"error": str(exc)}, status=404)
            except DevError as exc:
                return JsonResponse({"error": str(exc)}, status=400)

        return wrapped

    return decorate


def _email(request: HttpRequest, body: dict, *, required: bool = True) -> str | None:
    value = body.get("account_email") or request.GET.get("account_email")
    if not value and not required:
        return None
    return store.email_clean(value)


def _flags(body: dict) -> dict:
    for name in FLAGS:
        if name in body and not isinstance(body[name], bool):
            raise DevError(f"{name} is true or false.")
    for name in ("summary", "description", "location", "calendar"):
        if name in body and not isinstance(body[name], str):
            raise DevError(f"{name} is a string.")
    return {name: body[name] for name in FLAGS if name in body}


@dev("GET", "POST")
def events(request: HttpRequest, body: dict) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse({"items": store.dev_events_list(_email(request, body))})
    unknown = set(body) - EVENT_FIELDS
    if unknown:
        raise DevError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    event = store.dev_event_create(
        email=_email(request, body), calendar=body.get("calendar", "primary"), summary=body.get("summary", ""),
        start=body.get("start"), end=body.get("end"), recurrence=body.get("recurrence"),
        description=body.get("description", ""), location=body.get("location", ""), **_flags(body))
    return JsonResponse(event, status=201)


@dev("PATCH", "DELETE")
def event_detail(request: HttpRequest, body: dict, event_id: str) -> HttpResponse:
    email = _email(request, body, required=False)
    if request.method == "DELETE":
        store.dev_event_delete(event_id=event_id, email=email)
        return HttpResponse(status=204)
    _flags(body)
    return JsonResponse(store.dev_event_update(event_id=event_id, email=email, changes=body))


@dev("POST")
def calendars(request: HttpRequest, body: dict) -> HttpResponse:
    calendar = store.dev_calendar_create(email=_email(request, body), name=body.get("name", ""),
                                         time_zone=body.get("time_zone") or "UTC")
    return JsonResponse(calendar, status=201)


@dev("POST", "DELETE")
def faults(request: HttpRequest, body: dict) -> HttpResponse:
    email = _email(request, body, required=False)
    if request.method == "DELETE":
        pending = EmulatedFault.objects.filter(provider=store.PROVIDER)
        if email:
            pending = pending.filter(account__email=email)
        return JsonResponse({"cleared": pending.delete()[0]})
    try:
        status, count, retry_after = int(body["status"]), int(body.get("count", 1)), int(body.get("retry_after", 1))
    except (KeyError, TypeError, ValueError):
        raise DevError('Send {"status": 429, "count": 1, "retry_after": 1} (account_email optional).') from None
    fault = store.fault_add(email=email, status=status, count=count, retry_after=retry_after)
    return JsonResponse({"account_email": email, "status": fault.status, "count": fault.remaining,
                         "retry_after": fault.retry_after}, status=201)


@dev("POST")
def expire_tokens(request: HttpRequest, body: dict) -> HttpResponse:
    return JsonResponse({"expired": store.tokens_expire(_email(request, body))})


@dev("POST")
def revoke(request: HttpRequest, body: dict) -> HttpResponse:
    return JsonResponse({"revoked": store.grants_revoke(_email(request, body))})


@dev("POST")
def invalidate_sync(request: HttpRequest, body: dict) -> HttpResponse:
    return JsonResponse({"invalidated": store.sync_invalidate(_email(request, body))})


@dev("GET")
def channels(request: HttpRequest, body: dict) -> HttpResponse:
    return JsonResponse({"items": store.channels_list(_email(request, body))})
