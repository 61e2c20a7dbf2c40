"""Emulator of the Zoom Video SDK REST API, as far as we use it: ``POST /sandbox/zoom/v2/videosdk/sessions``
("Create a session") with Zoom's authentication (Bearer API JWT: HS256, ``iss``, ``exp``), its
validation and its error shape (``{"code", "message"}``). Sessions live in the cache under
``sandbox:zoom:``; nothing here reaches Zoom, and browsers cannot join an emulated session.

Helper for scripts and tests (JSON in, JSON out):

- ``POST /sandbox/zoom/faults`` ``{"status": 429|500|502|503|504, "count": N, "retry_after": S}`` makes
  the next N API requests fail with that status (429 with ``Retry-After: S``); ``DELETE`` clears it.
  Each answers ``{"status": ..., "count": ...}`` (``count`` 0 when none are pending)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime
from functools import wraps

import jwt
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from video.providers.zoom import EMULATOR_SDK_KEY, EMULATOR_SDK_SECRET

PREFIX = "sandbox:zoom:"
SESSION_TTL_SECONDS = 2 * 24 * 3600
FAULT_STATUSES = (429, 500, 502, 503, 504)
SESSION_NAME_MAX_LENGTH = 200
SESSION_PASSWORD_MAX_LENGTH = 10
AUTO_RECORDING = ("cloud", "none")

# Zoom's codes and messages (https://developers.zoom.us/docs/api/errors).
INVALID_TOKEN = (124, "Invalid access token.")
EXPIRED_TOKEN = (124, "Access token is expired.")
NOT_JSON = (300, "Request Body should be a valid JSON object.")
NAME_EXISTS = (3000, "Session name already exists. Try a different session name.")
RATE_LIMITED = (429, "You have reached the maximum per-second rate limit for this API. Try again later.")


def _error(status: int, error: tuple[int, str], **extra) -> JsonResponse:
    code, message = error
    return JsonResponse({"code": code, "message": message, **extra}, status=status)


def _validation_failed(field: str) -> JsonResponse:
    return JsonResponse({"code": 300, "message": "Validation Failed.",
                         "errors": [{"field": field, "message": "Invalid field."}]}, status=400)


def _authenticate(request: HttpRequest) -> JsonResponse | None:
    """None when the bearer token is an API JWT signed with the emulator's secret and unexpired."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return _error(401, INVALID_TOKEN)
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, EMULATOR_SDK_SECRET, algorithms=["HS256"], options={"require": ["exp", "iss"]})
    except jwt.ExpiredSignatureError:
        return _error(401, EXPIRED_TOKEN)
    except jwt.InvalidTokenError:
        return _error(401, INVALID_TOKEN)
    if header.get("typ") != "JWT" or claims["iss"] != EMULATOR_SDK_KEY:
        return _error(401, INVALID_TOKEN)
    return None


def _fault() -> JsonResponse | None:
    """The failure a script asked for, if any is pending."""
    fault = cache.get(PREFIX + "faults")
    if not fault or fault["count"] <= 0:
        return None
    fault["count"] -= 1
    cache.set(PREFIX + "faults", fault, 3600)
    if fault["status"] == 429:
        response = _error(429, RATE_LIMITED)
        response["Retry-After"] = str(fault["retry_after"])
        return response
    return _error(fault["status"], (fault["status"], "Internal server error."))


def api(view):
    """Authentication, injected faults and JSON, as Zoom's API does them."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = _authenticate(request) or _fault() or view(request, *args, **kwargs)
        response["x-zm-trackingid"] = f"v=2.0;clid=sandbox;rid=SANDBOX_{secrets.token_hex(8)}"
        return response

    return wrapped


@api
def sessions(request: HttpRequest) -> HttpResponse:
    """Create a session (``POST``). Zoom also lists sessions here (``GET``), which we do not use."""
    if request.method != "POST":
        return _error(405, (405, f"Method {request.method} is not supported by the emulator."))
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _error(400, NOT_JSON)
    name = body.get("session_name")
    if not isinstance(name, str) or not 1 <= len(name) <= SESSION_NAME_MAX_LENGTH:
        return _validation_failed("session_name")
    password = body.get("session_password")
    if password is not None and (not isinstance(password, str) or not password.isalnum()
                                 or len(password) > SESSION_PASSWORD_MAX_LENGTH):
        return _validation_failed("session_password")
    settings_in = body.get("settings") or {}
    if not isinstance(settings_in, dict):
        return _validation_failed("settings")
    auto_recording = settings_in.get("auto_recording", "none")
    if auto_recording not in AUTO_RECORDING:
        return _validation_failed("settings.auto_recording")

    session = {
        "session_id": base64.b64encode(secrets.token_bytes(16)).decode(),
        "session_number": 10_000_000_000 + secrets.randbelow(90_000_000_000),
        "session_name": name,
        "created_at": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "settings": {"auto_recording": auto_recording, "global_dial_in_countries": [], "global_dial_in_numbers": []},
    }
    if password is not None:
        session["session_password"] = session["passcode"] = password
    # Session names are case-insensitive at Zoom; add() refuses a name created before.
    name_key = hashlib.sha256(name.lower().encode()).hexdigest()
    if not cache.add(f"{PREFIX}session-name:{name_key}", session["session_id"], SESSION_TTL_SECONDS):
        return _error(400, NAME_EXISTS)
    cache.set(f"{PREFIX}session:{session['session_id']}", session, SESSION_TTL_SECONDS)
    return JsonResponse(session, status=201)


def session_get(session_id: str) -> dict | None:
    """A session the emulator created (for tests and scripts)."""
    return cache.get(f"{PREFIX}session:{session_id}")


@csrf_exempt
def faults(request: HttpRequest) -> HttpResponse:
    if request.method == "DELETE":
        cache.delete(PREFIX + "faults")
        return JsonResponse({"status": None, "count": 0})
    if request.method == "GET":
        fault = cache.get(PREFIX + "faults") or {"status": None, "count": 0}
        return JsonResponse({"status": fault["status"], "count": fault["count"]})
    if request.method != "POST":
        return JsonResponse({"error": "Use GET, POST or DELETE."}, status=405)
    try:
        body = json.loads(request.body or b"null")
        status, count, retry_after = int(body["status"]), int(body.get("count", 1)), int(body.get("retry_after", 1))
    except (ValueError, TypeError, KeyError):
        return JsonResponse({"error": 'Send {"status": 429, "count": 1, "retry_after": 1}.'}, status=400)
    if status not in FAULT_STATUSES or count < 0 or retry_after < 0:
        return JsonResponse({"error": f"status is one of {FAULT_STATUSES}; count and retry_after are >= 0."},
                            status=400)
    cache.set(PREFIX + "faults", {"status": status, "count": count, "retry_after": retry_after}, 3600)
    return JsonResponse({"status": status, "count": count})
