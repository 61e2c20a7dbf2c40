"""The Zoom Video SDK provider: its JWTs decoded and checked against Zoom's documented rules
(https://developers.zoom.us/docs/video-sdk/auth/), and its REST calls made over real HTTP to the
emulator in sandbox/."""

import base64
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from booking.models import Call
from sandbox import zoom as emulator
from video.providers import provider_get
from video.providers.base import Person
from video.providers.zoom import (
    EMULATOR_SDK_KEY,
    EMULATOR_SDK_SECRET,
    SDK_TOKEN_MAX_SECONDS,
    SDK_TOKEN_MIN_SECONDS,
    ZoomError,
    ZoomProvider,
    api_token,
    user_identity_for,
    video_sdk_token,
)

# Zoom's documented limits, restated here rather than imported so a wrong constant cannot pass.
ZOOM_EXP_MIN_SECONDS = 1800
ZOOM_EXP_MAX_SECONDS = 48 * 3600
ZOOM_TPC_MAX = 200
ZOOM_USER_IDENTITY_MAX = 35  # user_identity; its successor user_key allows 36
ZOOM_SDK_CLAIMS = {"app_key", "tpc", "role_type", "version", "iat", "exp", "user_identity", "user_key"}

CLIENT_KEY = str(uuid.uuid4())



@pytest.fixture
def emulated(settings, zoom_sdk):
    settings.ZOOM_EMULATED = settings.ZOOM_SANDBOX = True
    settings.ZOOM_VIDEO_SDK_KEY = settings.ZOOM_VIDEO_SDK_SECRET = ""
    settings.ZOOM_API_KEY = settings.ZOOM_API_SECRET = ""
    return settings


@pytest.fixture
def zoom_api(emulated, live_server_url, db):
    """The provider's REST calls going to the emulator over real HTTP."""
    emulated.ZOOM_API_BASE = f"{live_server_url}/sandbox/zoom/v2"
    httpx.delete(f"{live_server_url}/sandbox/zoom/faults")
    yield live_server_url
    httpx.delete(f"{live_server_url}/sandbox/zoom/faults")


def _call(**extra) -> Call:
    return Call(public_id=uuid.uuid4(), title="Tax review", **extra)


def _decode(token: str, secret: str = EMULATOR_SDK_SECRET) -> tuple[dict, dict]:
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["iat", "exp"]})
    return header, claims


def _assert_zoom_sdk_rules(header: dict, claims: dict, *, now: datetime) -> None:
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert set(claims) == ZOOM_SDK_CLAIMS
    assert claims["version"] == 1
    assert claims["role_type"] in (0, 1) and isinstance(claims["role_type"], int)
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert claims["iat"] <= now.timestamp()
    assert ZOOM_EXP_MIN_SECONDS <= claims["exp"] - claims["iat"] <= ZOOM_EXP_MAX_SECONDS
    assert 1 <= len(claims["tpc"]) <= ZOOM_TPC_MAX
    assert 1 <= len(claims["user_identity"]) <= ZOOM_USER_IDENTITY_MAX
    assert claims["user_key"] == claims["user_identity"]


# --- Video SDK JWT --------------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "role_type"), [
    (Person(key="host", name="Cora Consultant", is_host=True), 1),
    (Person(key=CLIENT_KEY, name="Kim Client", is_host=False), 0),
])
def test_join_config_carries_a_video_sdk_jwt_by_zooms_rules(emulated, person, role_type):
    call = _call()
    before = datetime.now(tz=UTC)
    config = provider_get("zoom").join_config(call=call, person=person, session_id="sfk/aOFJSJSYhGwk1hnxgw==")

    assert config["provider"] == "zoom"
    assert config["topic"] == str(call.public_id)
    assert config["user_name"] == person.name
    assert config["session_id"] == "sfk/aOFJSJSYhGwk1hnxgw=="
    assert config["sdk_key"] == EMULATOR_SDK_KEY
    assert config["assets_path"] == f"{emulated.STATIC_URL}vendor/zoom-videosdk/lib"
    assert config["emulated"] is True
    json.dumps(config)  # embedded in the page

    header, claims = _decode(config["signature"])
    _assert_zoom_sdk_rules(header, claims, now=datetime.now(tz=UTC))
    assert claims["app_key"] == EMULATOR_SDK_KEY
    assert claims["tpc"] == str(call.public_id)
    assert claims["role_type"] == role_type
    assert claims["iat"] >= before.timestamp() - 60
    # The person's key comes back out of user_identity (a UUID loses only its dashes).
    identity = claims["user_identity"]
    assert (str(uuid.UUID(identity)) if len(identity) == 32 else identity) == person.key


SDK_SECRET = "sdk-secret-0123456789abcdefghijklmnop"
API_SECRET = "api-secret-0123456789abcdefghijklmnop"


def test_real_credentials_sign_with_the_sdk_secret_not_the_api_secret(settings, zoom_sdk):
    settings.ZOOM_EMULATED = False
    settings.ZOOM_VIDEO_SDK_KEY, settings.ZOOM_VIDEO_SDK_SECRET = "sdk-key", SDK_SECRET
    settings.ZOOM_API_KEY, settings.ZOOM_API_SECRET = "api-key", API_SECRET
    config = ZoomProvider().join_config(call=_call(), person=Person(key="host", name="Cora", is_host=True),
                                        session_id="")
    assert config["sdk_key"] == "sdk-key" and config["emulated"] is False
    _, claims = _decode(config["signature"], SDK_SECRET)
    assert claims["app_key"] == "sdk-key"
    with pytest.raises(jwt.InvalidSignatureError):
        _decode(config["signature"], API_SECRET)

    header = jwt.get_unverified_header(api_token())
    claims = jwt.decode(api_token(), API_SECRET, algorithms=["HS256"], options={"require": ["iss", "exp"]})
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims["iss"] == "api-key"


def test_token_lifetime_stays_within_zooms_limits_and_covers_a_long_call(emulated):
    now = datetime.now(tz=UTC)
    short = ZoomProvider().join_config(call=_call(end_at=now + timedelta(minutes=30)),
                                       person=Person(key="host", name="Cora", is_host=True), session_id="")
    _, claims = _decode(short["signature"])
    assert claims["exp"] - claims["iat"] == 2 * 3600  # the default

    long = ZoomProvider().join_config(call=_call(end_at=now + timedelta(hours=5)),
                                      person=Person(key="host", name="Cora", is_host=True), session_id="")
    _, claims = _decode(long["signature"])
    assert claims["exp"] >= (now + timedelta(hours=5)).timestamp()
    _assert_zoom_sdk_rules({"alg": "HS256", "typ": "JWT"}, claims, now=datetime.now(tz=UTC))

    endless = ZoomProvider().join_config(call=_call(end_at=now + timedelta(days=10)),
                                         person=Person(key="host", name="Cora", is_host=True), session_id="")
    _, claims = _decode(endless["signature"])
    assert claims["exp"] - claims["iat"] == ZOOM_EXP_MAX_SECONDS


def test_video_sdk_token_refuses_what_zoom_would_refuse(emulated):
    ok = {"topic": str(uuid.uuid4()), "role_type": 0, "user_identity": "host"}
    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    claims = jwt.decode(video_sdk_token(**ok, now=now, ttl_seconds=SDK_TOKEN_MIN_SECONDS), EMULATOR_SDK_SECRET,
                        algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False})
    assert claims["exp"] - claims["iat"] == ZOOM_EXP_MIN_SECONDS
    assert claims["iat"] <= now.timestamp()
    for bad in ({"ttl_seconds": SDK_TOKEN_MIN_SECONDS - 1}, {"ttl_seconds": SDK_TOKEN_MAX_SECONDS + 1},
                {"topic": ""}, {"topic": "x" * (ZOOM_TPC_MAX + 1)}, {"topic": "café"}, {"role_type": 2},
                {"user_identity": ""}, {"user_identity": "x" * (ZOOM_USER_IDENTITY_MAX + 1)}):
        with pytest.raises(ValueError):
            video_sdk_token(**{**ok, **bad})
    assert len(video_sdk_token(**{**ok, "topic": "x" * ZOOM_TPC_MAX})) > 0


def test_user_identity_fits_zooms_limit_and_stays_stable():
    assert user_identity_for("host") == "host"
    compact = user_identity_for(CLIENT_KEY)
    assert len(compact) == 32 and str(uuid.UUID(compact)) == CLIENT_KEY
    other = "x" * 80
    assert user_identity_for(other) == user_identity_for(other)
    assert len(user_identity_for(other)) <= ZOOM_USER_IDENTITY_MAX


# --- REST API, over HTTP to the emulator -----------------------------------------------------------


def test_session_start_creates_the_session_named_after_the_call(zoom_api):
    call = _call()
    session_id = provider_get("zoom").session_start(call=call)

    assert len(base64.b64decode(session_id)) == 16  # Zoom's ids look like "sfk/aOFJSJSYhGwk1hnxgw=="
    session = emulator.session_get(session_id)
    assert session["session_name"] == str(call.public_id)
    # The name the session was created with is the name every JWT's tpc carries.
    config = ZoomProvider().join_config(call=call, person=Person(key="host", name="Cora", is_host=True),
                                        session_id=session_id)
    assert jwt.decode(config["signature"], EMULATOR_SDK_SECRET, algorithms=["HS256"])["tpc"] == session[
        "session_name"]


def test_the_same_session_name_twice_is_refused_by_zoom_but_the_room_still_opens(zoom_api):
    call = _call()
    assert ZoomProvider().session_start(call=call)
    # Zoom answers 400 / 3000 "Session name already exists"; people join by name anyway.
    assert ZoomProvider().session_start(call=call) == ""


def test_emulator_answers_in_zooms_shapes(zoom_api):
    url = f"{zoom_api}/sandbox/zoom/v2/videosdk/sessions"
    auth = {"Authorization": f"Bearer {api_token()}"}

    name = f"My session {uuid.uuid4()}"
    created = httpx.post(url, json={"session_name": name, "session_password": "123456",
                                    "settings": {"auto_recording": "none"}}, headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) >= {"session_id", "session_number", "session_name", "created_at", "settings"}
    assert body["session_password"] == body["passcode"] == "123456"
    assert datetime.strptime(body["created_at"], "%Y-%m-%dT%H:%M:%SZ")

    again = httpx.post(url, json={"session_name": name.upper()}, headers=auth)  # names are case-insensitive
    assert (again.status_code, again.json()["code"]) == (400, 3000)

    not_json = httpx.post(url, content=b"nope", headers={**auth, "Content-Type": "application/json"})
    assert (not_json.status_code, not_json.json()["code"]) == (400, 300)
    for bad in ({}, {"session_name": ""}, {"session_name": "x" * 201}, {"session_name": 5},
                {"session_name": "ok", "session_password": "12345678901"},
                {"session_name": "ok", "settings": {"auto_recording": "local"}}):
        response = httpx.post(url, json=bad, headers=auth)
        assert response.status_code == 400 and response.json()["code"] == 300, bad


@pytest.mark.parametrize("case", ["missing", "garbage", "other secret", "other issuer", "no exp", "no typ"])
def test_emulator_refuses_a_bad_token(zoom_api, case):
    later = int(datetime.now(tz=UTC).timestamp()) + 600
    token = {
        "missing": None,
        "garbage": "not-a-jwt",
        "other secret": jwt.encode({"iss": EMULATOR_SDK_KEY, "exp": later}, "some-other-secret-0123456789abcdef"),
        "other issuer": jwt.encode({"iss": "someone-else", "exp": later}, EMULATOR_SDK_SECRET),
        "no exp": jwt.encode({"iss": EMULATOR_SDK_KEY}, EMULATOR_SDK_SECRET),
        "no typ": jwt.encode({"iss": EMULATOR_SDK_KEY, "exp": later}, EMULATOR_SDK_SECRET, headers={"typ": None}),
    }[case]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{zoom_api}/sandbox/zoom/v2/videosdk/sessions", json={"session_name": "x"},
                          headers=headers)
    assert response.status_code == 401
    assert response.json() == {"code": 124, "message": "Invalid access token."}


def test_emulator_refuses_an_expired_token(zoom_api):
    expired = api_token(now=datetime.now(tz=UTC) - timedelta(hours=1))
    response = httpx.post(f"{zoom_api}/sandbox/zoom/v2/videosdk/sessions", json={"session_name": "x"},
                          headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json() == {"code": 124, "message": "Access token is expired."}


def test_wrong_credentials_are_a_refusal_not_a_temporary_error(zoom_api, monkeypatch):
    monkeypatch.setattr("video.providers.zoom.api_credentials", lambda: (EMULATOR_SDK_KEY, "wrong-secret"))
    with pytest.raises(ZoomError) as caught:
        ZoomProvider().session_start(call=_call())
    assert (caught.value.temporary, caught.value.status, caught.value.code) == (False, 401, 124)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_zoom_failures_are_temporary(zoom_api, status):
    armed = httpx.post(f"{zoom_api}/sandbox/zoom/faults", json={"status": status, "count": 1, "retry_after": 7})
    assert armed.json() == {"status": status, "count": 1}
    with pytest.raises(ZoomError) as caught:
        ZoomProvider().session_start(call=_call())
    assert caught.value.temporary is True
    assert caught.value.status == status
    if status == 429:
        assert caught.value.retry_after == 7
        assert caught.value.code == 429
    # Only one request was to fail.
    assert ZoomProvider().session_start(call=_call())


def test_an_unreachable_zoom_is_temporary(emulated):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emulated.ZOOM_API_BASE = f"http://127.0.0.1:{port}/v2"  # nothing listens there any more
    with pytest.raises(ZoomError) as caught:
        ZoomProvider().session_start(call=_call())
    assert caught.value.temporary is True and caught.value.status is None


def test_real_keys_without_the_api_pair_are_a_clear_refusal(settings, zoom_sdk):
    settings.ZOOM_EMULATED = False
    settings.ZOOM_VIDEO_SDK_KEY, settings.ZOOM_VIDEO_SDK_SECRET = "sdk-key", SDK_SECRET
    settings.ZOOM_API_KEY = settings.ZOOM_API_SECRET = ""
    with pytest.raises(ZoomError, match="ZOOM_API_KEY") as caught:
        ZoomProvider().session_start(call=_call())
    assert caught.value.temporary is False
