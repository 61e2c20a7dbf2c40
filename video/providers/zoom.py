"""Zoom Video SDK: Zoom carries the audio and video, our room does everything else.

When a call's room opens, the server creates the Zoom session through the Video SDK REST API
(``POST /videosdk/sessions``, named after the call's public id), and each person entering gets a
Video SDK JWT for that session name; the browser joins with ``@zoom/videosdk``, served from our
own static files (``static/vendor/zoom-videosdk/``).

Two pairs of credentials, as Zoom issues them: the Video SDK key/secret sign the browsers' JWTs,
the API key/secret sign the REST API's bearer token. With no SDK key configured the local
emulator (``sandbox/zoom.py``) stands in for the REST API and fixed emulator credentials are
used; browsers can only join a real Zoom session with real keys.

References: https://developers.zoom.us/docs/video-sdk/auth/ (Video SDK JWT),
https://developers.zoom.us/docs/build/api-request/ (API JWT),
https://developers.zoom.us/docs/api/video-sdk/ (Create a session),
https://developers.zoom.us/docs/api/errors (error shape)."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from datetime import UTC, datetime

import httpx
import jwt
from django.conf import settings

from booking.models import Call
from video.providers.base import Person, ProviderUnavailable

logger = logging.getLogger(__name__)

# Used instead of real credentials when ZOOM_EMULATED; the emulator checks tokens against them.
EMULATOR_SDK_KEY = "consultio_emulator_sdk_key"
EMULATOR_SDK_SECRET = "consultio_emulator_sdk_secret_hs256"  # 32+ bytes, as HS256 wants

TIMEOUT_SECONDS = 15

# Video SDK JWT rules (https://developers.zoom.us/docs/video-sdk/auth/#payload).
SDK_TOKEN_VERSION = 1
SDK_TOKEN_MIN_SECONDS = 1800  # exp must be at least 30 minutes after iat ...
SDK_TOKEN_MAX_SECONDS = 48 * 3600  # ... and at most 48 hours after it.
SDK_TOKEN_DEFAULT_SECONDS = 2 * 3600
CLOCK_SKEW_SECONDS = 30  # iat set a little in the past, as Zoom's samples do, so a slow clock at Zoom accepts it
TOPIC_MAX_LENGTH = 200
# ``user_identity`` is at most 35 characters (Zoom's auth endpoint sample validates exactly that);
# its successor ``user_key`` allows 36. One value within both limits goes into both claims.
USER_IDENTITY_MAX_LENGTH = 35
USER_NAME_MAX_LENGTH = 200  # longer names are cut by Zoom itself
ROLE_HOST = 1
ROLE_PARTICIPANT = 0
# Session names: letters, digits, space and the listed visible symbols.
_TOPIC_RE = re.compile(r"^[A-Za-z0-9 !#$%&()+\-:;<=.>?@\[\]^_{}|~,\\]+$")

API_TOKEN_SECONDS = 300  # Zoom suggests an hour at most; each request signs a fresh one anyway.
SESSION_NAME_EXISTS = 3000  # Zoom's error code when a session of that name was created before

# Where the browser loads the SDK's dependent assets (workers, WebAssembly) from.
ASSETS_DIR = "vendor/zoom-videosdk/lib"


class ZoomError(ProviderUnavailable):
    """Zoom refused a request or could not be reached.

    ``temporary`` errors (no connection, timeouts, rate limits, Zoom's own 5xx) are worth
    retrying later; the others (bad credentials, invalid request) are not."""

    def __init__(self, message: str, temporary: bool = False, *, status: int | None = None,
                 code: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, temporary)
        self.status, self.code = status, code
        self.retry_after = retry_after


# --- credentials and tokens ---------------------------------------------------------------


def sdk_credentials() -> tuple[str, str]:
    """The Video SDK key and secret that sign browsers' JWTs."""
    if settings.ZOOM_EMULATED:
        return EMULATOR_SDK_KEY, EMULATOR_SDK_SECRET
    if not settings.ZOOM_VIDEO_SDK_SECRET:
        raise ZoomError("ZOOM_VIDEO_SDK_SECRET is not set.")
    return settings.ZOOM_VIDEO_SDK_KEY, settings.ZOOM_VIDEO_SDK_SECRET


def api_credentials() -> tuple[str, str]:
    """The API key and secret that sign the REST API's bearer token (not the SDK pair: Zoom
    issues them separately, and an SDK JWT does not authorize API requests)."""
    if settings.ZOOM_EMULATED:
        return EMULATOR_SDK_KEY, EMULATOR_SDK_SECRET
    if not settings.ZOOM_API_KEY or not settings.ZOOM_API_SECRET:
        raise ZoomError("ZOOM_API_KEY and ZOOM_API_SECRET are not set (Zoom issues them apart from the SDK key).")
    return settings.ZOOM_API_KEY, settings.ZOOM_API_SECRET


def _epoch(now: datetime | None) -> int:
    return int((now or datetime.now(tz=UTC)).timestamp())


def video_sdk_token(*, topic: str, role_type: int, user_identity: str, now: datetime | None = None,
                    ttl_seconds: int = SDK_TOKEN_DEFAULT_SECONDS) -> str:
    """A Video SDK JWT that lets one person join the session named ``topic``.

    HS256 with the SDK secret; claims exactly as Zoom documents them: ``app_key``, ``tpc``,
    ``role_type`` (1 host, 0 participant), ``version`` 1, ``iat``, ``exp`` (30 minutes to 48 hours
    after ``iat``) and the person's identifier in ``user_identity`` and in ``user_key``, the name
    Zoom's current documentation gives it (the Web SDK reports it as ``userIdentity`` /
    ``userKey``)."""
    if not 1 <= len(topic) <= TOPIC_MAX_LENGTH or not _TOPIC_RE.match(topic):
        raise ValueError(f"Invalid Zoom session name {topic!r}.")
    if role_type not in (ROLE_HOST, ROLE_PARTICIPANT):
        raise ValueError("role_type must be 1 (host) or 0 (participant).")
    if not 1 <= len(user_identity) <= USER_IDENTITY_MAX_LENGTH:
        raise ValueError(f"user_identity must be 1 to {USER_IDENTITY_MAX_LENGTH} characters.")
    if not SDK_TOKEN_MIN_SECONDS <= ttl_seconds <= SDK_TOKEN_MAX_SECONDS:
        raise ValueError(f"ttl_seconds must be between {SDK_TOKEN_MIN_SECONDS} and {SDK_TOKEN_MAX_SECONDS}.")
    key, secret = sdk_credentials()
    iat = _epoch(now) - CLOCK_SKEW_SECONDS
    claims = {
        "app_key": key, "tpc": topic, "role_type": role_type, "version": SDK_TOKEN_VERSION,
        "iat": iat, "exp": iat + ttl_seconds, "user_identity": user_identity, "user_key": user_identity,
    }
    return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT"})


def api_token(*, now: datetime | None = None, ttl_seconds: int = API_TOKEN_SECONDS) -> str:
    """The REST API's bearer token: HS256 with the API secret, ``iss`` = the API key, ``exp``."""
    key, secret = api_credentials()
    iat = _epoch(now)
    return jwt.encode({"iss": key, "iat": iat, "exp": iat + ttl_seconds}, secret, algorithm="HS256",
                      headers={"typ": "JWT"})


def user_identity_for(key: str) -> str:
    """A person's key as Zoom's ``user_identity``/``user_key`` (at most 35 characters).

    Keys are "host" or a booking's public id, a UUID of 36 characters: one too many, so a UUID
    goes without its dashes (``zoom-media.js`` puts them back to find the person's tile). Any
    other key too long is replaced by a digest, which stays stable across reconnections."""
    if len(key) <= USER_IDENTITY_MAX_LENGTH:
        return key
    try:
        return uuid.UUID(key).hex
    except ValueError:
        return hashlib.sha256(key.encode()).hexdigest()[:32]


def sdk_token_seconds(call: Call, *, now: datetime | None = None) -> int:
    """Long enough to cover the rest of the call (a dropped connection rejoins with the same page),
    never shorter than the default nor longer than Zoom allows."""
    seconds = SDK_TOKEN_DEFAULT_SECONDS
    if call.end_at is not None:
        remaining = int((call.end_at - (now or datetime.now(tz=UTC))).total_seconds()) + 1800
        seconds = max(seconds, remaining)
    return min(seconds, SDK_TOKEN_MAX_SECONDS)


def assets_url() -> str:
    """The vendored SDK's ``lib`` folder. Built from STATIC_URL rather than the storage's ``url()``:
    the SDK asks for the files by their plain names, which a hashing storage would not resolve for
    a folder."""
    return f"{settings.STATIC_URL}{ASSETS_DIR}"


def sdk_installed() -> bool:
    """The SDK is fetched from the npm registry at build time (`make zoom-sdk`), not kept in the
    repository: it is Zoom's proprietary code, and 59 MB."""
    from django.contrib.staticfiles import finders

    return bool(finders.find("vendor/zoom-videosdk/index.esm.js"))


def unavailable_reason() -> str | None:
    """Why this deployment cannot carry calls over Zoom, or None when it can."""
    if not sdk_installed():
        return "The Zoom Video SDK is not installed on this server (`make zoom-sdk` fetches it)."
    if settings.ZOOM_EMULATED and not settings.ZOOM_SANDBOX:
        return "Zoom keys are not configured on this platform."
    return None


# --- REST API -------------------------------------------------------------------------------


def _request(method: str, path: str, *, json: dict | None = None) -> dict:
    """One REST API call, with Zoom's error shape (``{"code", "message"}``) turned into ZoomError."""
    url = settings.ZOOM_API_BASE.rstrip("/") + path
    headers = {"Authorization": f"Bearer {api_token()}", "Accept": "application/json"}
    try:
        response = httpx.request(method, url, json=json, headers=headers, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        logger.warning("Zoom unreachable: %s", exc)
        raise ZoomError("The video provider cannot be reached.", temporary=True) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        if not isinstance(body, dict):
            raise ZoomError("The video provider sent an unreadable answer.", status=response.status_code)
        return body
    status = response.status_code
    code = body.get("code") if isinstance(body, dict) else None
    message = (body.get("message") if isinstance(body, dict) else None) or f"HTTP {status}"
    temporary = status == 429 or status >= 500
    retry_after = response.headers.get("Retry-After")
    logger.log(logging.WARNING if temporary else logging.INFO, "Zoom refused %s %s: %s %s (%s)",
               method, path, status, message, code)
    raise ZoomError(f"Zoom: {message}", temporary, status=status, code=code,
                    retry_after=int(retry_after) if retry_after and retry_after.isdigit() else None)


def session_create(*, session_name: str) -> dict:
    """``POST /videosdk/sessions``; returns Zoom's answer (``session_id``, ``session_number``, ...)."""
    return _request("POST", "/videosdk/sessions", json={"session_name": session_name})


# --- the provider -------------------------------------------------------------------------------


class ZoomProvider:
    name = "zoom"

    def session_start(self, *, call: Call) -> str:
        """Create the Zoom session named after the call's public id (the JWTs' ``tpc``).

        Zoom refuses a second session of the same name (code 3000): that happens only when an
        earlier attempt created it but its result was not kept. People join by name, so the room
        still works; there is just no id to keep."""
        if reason := unavailable_reason():
            raise ZoomError(reason)
        try:
            return str(session_create(session_name=str(call.public_id))["session_id"])
        except ZoomError as exc:
            if exc.code == SESSION_NAME_EXISTS:
                logger.warning("Zoom session for call %s existed already; continuing without its id.",
                               call.public_id)
                return ""
            raise
        except KeyError as exc:
            raise ZoomError("The video provider's answer has no session id.") from exc

    def join_config(self, *, call: Call, person: Person, session_id: str) -> dict:
        if reason := unavailable_reason():
            raise ZoomError(reason)
        topic = str(call.public_id)
        token = video_sdk_token(topic=topic, role_type=ROLE_HOST if person.is_host else ROLE_PARTICIPANT,
                                user_identity=user_identity_for(person.key), ttl_seconds=sdk_token_seconds(call))
        return {
            "provider": self.name,
            "sdk_key": sdk_credentials()[0],
            "signature": token,
            "topic": topic,
            "user_name": person.name[:USER_NAME_MAX_LENGTH],
            "session_id": session_id,
            "assets_path": assets_url(),
            # The emulator covers the server side only: browsers need real keys to join.
            "emulated": settings.ZOOM_EMULATED,
        }
