"""The Microsoft emulator (sandbox/microsoft/) over real HTTP: the identity platform's authorization code
flow with PKCE, Graph's calendars, events, calendarView delta and subscriptions, in Microsoft's shapes.

Rows the live server commits outlive each test, so every test signs in its own account."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

# The emulator signs id_tokens with the client secret (HS256), which is short in development.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

CLIENT_ID = "00000000-0000-0000-0000-00000c0a5017"
CLIENT_SECRET = "emulator-secret"
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback/microsoft"
SCOPE = "offline_access openid email User.Read Calendars.ReadWrite"


@pytest.fixture
def ms(settings, live_server_url, db) -> str:
    settings.CALENDAR_SANDBOX = True
    return f"{live_server_url}/sandbox/microsoft"


@pytest.fixture
def email() -> str:
    return f"kim-{uuid.uuid4().hex[:10]}@outlook.example"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_params(challenge: str, **overrides) -> dict:
    params = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI, "response_mode": "query",
              "scope": SCOPE, "state": "st-123", "code_challenge": challenge, "code_challenge_method": "S256"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def redirect_query(response: httpx.Response) -> dict:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(ms: str, email: str, challenge: str, **overrides) -> str:
    response = httpx.get(f"{ms}/common/oauth2/v2.0/authorize",
                         params=authorize_params(challenge, approve="1", login_hint=email, **overrides))
    query = redirect_query(response)
    assert query["state"] == "st-123"
    return query["code"]


def redeem(ms: str, code: str, verifier: str, **overrides) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "code_verifier": verifier, "scope": SCOPE}
    form.update(overrides)
    return httpx.post(f"{ms}/common/oauth2/v2.0/token", data={k: v for k, v in form.items() if v is not None})


def sign_in(ms: str, email: str) -> dict:
    verifier, challenge = pkce()
    response = redeem(ms, get_code(ms, email, challenge), verifier)
    assert response.status_code == 200, response.text
    return response.json()


class Graph:
    """A Graph client for one signed-in account."""

    def __init__(self, ms: str, email: str) -> None:
        self.ms, self.email = ms, email
        self.tokens = sign_in(ms, email)
        self.base = f"{ms}/graph/v1.0"

    def call(self, method: str, path: str, *, headers: dict | None = None, **kwargs) -> httpx.Response:
        url = path if path.startswith("http") else f"{self.base}{path}"
        return httpx.request(method, url, headers={"Authorization": f"Bearer {self.tokens['access_token']}",
                                                   **(headers or {})}, **kwargs)

    def default_calendar_id(self) -> str:
        return self.call("GET", "/me/calendar").json()["id"]

    def sync(self, url: str, page_size: int | None = None) -> tuple[list[dict], str, int]:
        """Follow nextLinks to the deltaLink: (items, deltaLink, pages)."""
        items, pages = [], 0
        headers = {"Prefer": f"odata.maxpagesize={page_size}"} if page_size else {}
        while True:
            response = self.call("GET", url, headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            pages += 1
            items += body["value"]
            assert not ("@odata.nextLink" in body and "@odata.deltaLink" in body)
            if "@odata.deltaLink" in body:
                return items, body["@odata.deltaLink"], pages
            url = body["@odata.nextLink"]
            assert "$skiptoken=" in url


def dev(ms: str, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{ms}/dev/{path}", **kwargs)


def dev_event(ms: str, email: str, **fields) -> dict:
    body = {"account_email": email, "calendar": "primary", "summary": "Busy", "start": "2026-11-26T10:00:00+00:00",
            "end": "2026-11-26T11:00:00+00:00", **fields}
    response = dev(ms, "POST", "events", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def graph_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    return error


def identity_error(response: httpx.Response, status: int, error: str, aadsts: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [aadsts]
    assert body["error_description"].startswith(f"AADSTS{aadsts}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()
    return body


@pytest.fixture
def receiver():
    """A loopback notification endpoint: answers Graph's validation handshake (``mode`` "echo", "wrong"
    or "refuse") and keeps the change notifications it receives."""
    received: list[dict] = []
    state = {"mode": "echo"}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            query = parse_qs(urlsplit(self.path).query)
            if "validationToken" in query:
                token = query["validationToken"][0]
                received.append({"kind": "validation", "token": token, "body": body, "headers": dict(self.headers)})
                if state["mode"] == "refuse":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer = (token if state["mode"] == "echo" else "something else").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                return
            received.append({"kind": "notification", "json": json.loads(body), "headers": dict(self.headers)})
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    class Receiver:
        url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/microsoft-calendar"
        items = received
        options = state

        def notifications(self) -> list[dict]:
            return [n for item in received if item["kind"] == "notification" for n in item["json"]["value"]]

    yield Receiver()
    server.shutdown()
    server.server_close()


def expiration(minutes: int = 60) -> str:
    return (datetime.now(tz=UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


# --- gating --------------------------------------------------------------------------------------------


def test_emulator_answers_404_unless_the_calendar_sandbox_is_on(ms, settings, email):
    settings.CALENDAR_SANDBOX = False
    assert httpx.get(f"{ms}/common/oauth2/v2.0/authorize").status_code == 404
    assert httpx.post(f"{ms}/common/oauth2/v2.0/token").status_code == 404
    assert httpx.get(f"{ms}/graph/v1.0/me").status_code == 404
    assert dev(ms, "GET", "channels", params={"account_email": email}).status_code == 404


# --- OAuth ---------------------------------------------------------------------------------------------


def test_consent_page_prefills_the_hint_and_redirects_with_a_code_or_a_refusal(ms, email):
    _, challenge = pkce()
    url = f"{ms}/common/oauth2/v2.0/authorize?" + urlencode(authorize_params(challenge, login_hint=email))
    page = httpx.get(url)
    assert page.status_code == 200
    assert f'value="{email}"' in page.text
    assert "Calendars.ReadWrite" in page.text
    assert "<link rel=\"stylesheet\"" not in page.text and "<script src" not in page.text

    allowed = redirect_query(httpx.post(url, data={"email": email, "decision": "allow"}))
    assert allowed["code"] and allowed["state"] == "st-123" and "session_state" in allowed

    denied = redirect_query(httpx.post(url, data={"email": email, "decision": "deny"}))
    assert denied["error"] == "access_denied"
    assert denied["error_description"].startswith("AADSTS65004")
    assert denied["state"] == "st-123"

    invalid = httpx.post(url, data={"email": "not-an-email", "decision": "allow"})
    assert invalid.status_code == 400


def test_untrusted_client_or_redirect_uri_gets_an_error_page_not_a_redirect(ms):
    _, challenge = pkce()
    for params, code in ((authorize_params(challenge, client_id="someone-else"), "AADSTS700016"),
                         (authorize_params(challenge, client_id=None), "AADSTS900144"),
                         (authorize_params(challenge, redirect_uri="javascript:alert(1)"), "AADSTS50011"),
                         (authorize_params(challenge, redirect_uri=None), "AADSTS900144")):
        response = httpx.get(f"{ms}/common/oauth2/v2.0/authorize", params=params)
        assert response.status_code == 400
        assert "location" not in response.headers
        assert code in response.text


@pytest.mark.parametrize(("overrides", "error", "aadsts"), [
    ({"code_challenge": None}, "invalid_request", "AADSTS900144"),
    ({"code_challenge_method": "plain"}, "invalid_request", "AADSTS50149"),
    ({"code_challenge": "short"}, "invalid_request", "AADSTS501491"),
    ({"response_type": "token"}, "unsupported_response_type", "AADSTS700051"),
    ({"scope": "openid User.Read"}, "invalid_scope", "AADSTS70011"),
])
def test_invalid_requests_are_sent_back_to_a_valid_redirect_uri(ms, email, overrides, error, aadsts):
    _, challenge = pkce()
    response = httpx.get(f"{ms}/common/oauth2/v2.0/authorize",
                         params=authorize_params(challenge, approve="1", login_hint=email, **overrides))
    query = redirect_query(response)
    assert query["error"] == error
    assert query["error_description"].startswith(aadsts)
    assert query["state"] == "st-123"


def test_code_flow_issues_tokens_in_the_identity_platforms_shape(ms, email):
    verifier, challenge = pkce()
    code = get_code(ms, email, challenge)
    response = redeem(ms, code, verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"].startswith("no-store")
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600 and body["ext_expires_in"] == 3600
    assert "Calendars.ReadWrite" in body["scope"] and "User.Read" in body["scope"]
    assert body["access_token"] and body["refresh_token"]
    claims = jwt.decode(body["id_token"], CLIENT_SECRET, algorithms=["HS256"], audience=CLIENT_ID)
    assert claims["preferred_username"] == email and claims["email"] == email

    me = httpx.get(f"{ms}/graph/v1.0/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["mail"] == email and me.json()["userPrincipalName"] == email
    assert {"id", "displayName"} <= me.json().keys()


def test_fragment_and_form_post_response_modes(ms, email):
    _, challenge = pkce()
    params = authorize_params(challenge, approve="1", login_hint=email, response_mode="fragment")
    location = httpx.get(f"{ms}/common/oauth2/v2.0/authorize", params=params).headers["location"]
    assert location.startswith(REDIRECT_URI + "#code=")
    page = httpx.get(f"{ms}/common/oauth2/v2.0/authorize", params={**params, "response_mode": "form_post"})
    assert page.status_code == 200
    assert f'action="{REDIRECT_URI}"' in page.text and 'name="code"' in page.text and 'value="st-123"' in page.text


def test_silent_sign_in_needs_an_earlier_consent(ms, email):
    _, challenge = pkce()
    silent = authorize_params(challenge, prompt="none", login_hint=email)
    query = redirect_query(httpx.get(f"{ms}/common/oauth2/v2.0/authorize", params=silent))
    assert query["error"] == "login_required"
    sign_in(ms, email)
    query = redirect_query(httpx.get(f"{ms}/common/oauth2/v2.0/authorize", params=silent))
    assert query["code"]


def test_without_offline_access_there_is_no_refresh_token(ms, email):
    verifier, challenge = pkce()
    code = get_code(ms, email, challenge, scope="openid Calendars.Read User.Read")
    body = redeem(ms, code, verifier, scope=None).json()
    assert "refresh_token" not in body and body["access_token"]


def test_pkce_redirect_uri_client_and_reuse_are_checked_at_redemption(ms, email):
    verifier, challenge = pkce()
    code = get_code(ms, email, challenge)
    identity_error(redeem(ms, code, "wrong-verifier-" + "x" * 40), 400, "invalid_grant", 501481)
    identity_error(redeem(ms, code, None), 400, "invalid_grant", 501481)
    identity_error(redeem(ms, code, verifier, redirect_uri="http://127.0.0.1:9/elsewhere"), 400, "invalid_grant",
                   70000)
    identity_error(redeem(ms, code, verifier, client_secret="wrong"), 401, "invalid_client", 7000215)
    identity_error(redeem(ms, code, verifier, client_secret=None), 401, "invalid_client", 7000218)
    identity_error(redeem(ms, code, verifier, client_id="someone-else"), 400, "unauthorized_client", 700016)
    assert redeem(ms, code, verifier).status_code == 200
    identity_error(redeem(ms, code, verifier), 400, "invalid_grant", 54005)
    identity_error(redeem(ms, "M.C5_BAY.unknown", verifier), 400, "invalid_grant", 70000)


def test_token_endpoint_refuses_get_and_unknown_grant_types(ms):
    identity_error(httpx.get(f"{ms}/common/oauth2/v2.0/token"), 400, "invalid_request", 900561)
    identity_error(httpx.post(f"{ms}/common/oauth2/v2.0/token", data={"grant_type": "password"}), 400,
                   "unsupported_grant_type", 70003)
    identity_error(httpx.post(f"{ms}/common/oauth2/v2.0/token", data={}), 400, "invalid_request", 900144)


def test_refresh_rotates_the_refresh_token_and_the_old_one_keeps_working(ms, email):
    tokens = sign_in(ms, email)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "scope": SCOPE}
    first = httpx.post(f"{ms}/common/oauth2/v2.0/token", data=form)
    assert first.status_code == 200, first.text
    assert first.json()["refresh_token"] != tokens["refresh_token"]
    assert first.json()["access_token"] != tokens["access_token"]
    again = httpx.post(f"{ms}/common/oauth2/v2.0/token", data=form)
    assert again.status_code == 200
    # client_secret_basic works as well as client_secret_post
    basic = httpx.post(f"{ms}/common/oauth2/v2.0/token", auth=(CLIENT_ID, CLIENT_SECRET),
                       data={"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]})
    assert basic.status_code == 200, basic.text
    wider = httpx.post(f"{ms}/common/oauth2/v2.0/token", data={**form, "scope": "Mail.Read"})
    identity_error(wider, 400, "invalid_grant", 65001)


def test_revoked_grants_fail_refresh_and_graph_calls(ms, email):
    graph = Graph(ms, email)
    assert graph.call("GET", "/me").status_code == 200
    assert dev(ms, "POST", "revoke", json={"account_email": email}).status_code == 200
    graph_error(graph.call("GET", "/me"), 401, "InvalidAuthenticationToken")
    response = httpx.post(f"{ms}/common/oauth2/v2.0/token", data={
        "grant_type": "refresh_token", "refresh_token": graph.tokens["refresh_token"], "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
    identity_error(response, 400, "invalid_grant", 50173)


def test_expired_access_token_gets_401_and_a_refresh_recovers(ms, email):
    graph = Graph(ms, email)
    assert dev(ms, "POST", "expire-tokens", json={"account_email": email}).json()["expired"] >= 1
    response = graph.call("GET", "/me/calendars")
    error = graph_error(response, 401, "InvalidAuthenticationToken")
    assert "expired" in error["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    refreshed = httpx.post(f"{ms}/common/oauth2/v2.0/token", data={
        "grant_type": "refresh_token", "refresh_token": graph.tokens["refresh_token"], "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET}).json()
    graph.tokens["access_token"] = refreshed["access_token"]
    assert graph.call("GET", "/me/calendars").status_code == 200


# --- Graph basics ------------------------------------------------------------------------------------


def test_graph_refuses_missing_or_unknown_tokens_and_unknown_segments(ms, email):
    response = httpx.get(f"{ms}/graph/v1.0/me", headers={"client-request-id": "abc-123"})
    error = graph_error(response, 401, "InvalidAuthenticationToken")
    assert error["innerError"]["client-request-id"] == "abc-123"
    assert response.headers["request-id"] == error["innerError"]["request-id"]
    graph_error(httpx.get(f"{ms}/graph/v1.0/me", headers={"Authorization": "Bearer nope"}), 401,
                "InvalidAuthenticationToken")
    graph = Graph(ms, email)
    graph_error(graph.call("GET", "/me/nothing-here"), 400, "BadRequest")


def test_calendars_list_the_default_calendar_first_and_page(ms, email):
    graph = Graph(ms, email)
    body = graph.call("GET", "/me/calendars").json()
    assert "@odata.context" in body
    [default] = body["value"]
    assert default["name"] == "Calendar" and default["isDefaultCalendar"] is True and default["canEdit"] is True
    assert default["owner"] == {"name": default["owner"]["name"], "address": email}
    assert graph.call("GET", "/me/calendar").json()["id"] == default["id"]

    created = dev(ms, "POST", "calendars", json={"account_email": email, "name": "Clients"})
    assert created.status_code == 201
    second = created.json()
    assert second["isDefaultCalendar"] is False and second["name"] == "Clients"
    page = graph.call("GET", "/me/calendars", params={"$top": 1}).json()
    assert [c["id"] for c in page["value"]] == [default["id"]]
    rest = graph.call("GET", page["@odata.nextLink"]).json()
    assert [c["id"] for c in rest["value"]] == [second["id"]] and "@odata.nextLink" not in rest
    assert graph.call("GET", f"/me/calendars/{second['id']}").json()["name"] == "Clients"
    graph_error(graph.call("GET", "/me/calendars/AAMkADnope"), 404, "ErrorItemNotFound")


def test_events_are_created_read_patched_and_deleted_in_graphs_shape(ms, email):
    graph = Graph(ms, email)
    calendar_id = graph.default_calendar_id()
    body = {"subject": "Consultation with Ana", "body": {"contentType": "text", "content": "Booked via Consultio"},
            "start": {"dateTime": "2026-11-26T10:00:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2026-11-26T11:00:00", "timeZone": "Europe/Paris"},
            "showAs": "busy", "location": {"displayName": "Online"}, "transactionId": str(uuid.uuid4()),
            "singleValueExtendedProperties": [{"id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Consultio",
                                               "value": "call-42"}]}
    response = graph.call("POST", f"/me/calendars/{calendar_id}/events", json=body)
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["subject"] == "Consultation with Ana" and event["bodyPreview"] == "Booked via Consultio"
    assert event["start"] == {"dateTime": "2026-11-26T09:00:00.0000000", "timeZone": "UTC"}
    assert event["end"] == {"dateTime": "2026-11-26T10:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "Europe/Paris"
    assert event["type"] == "singleInstance" and event["seriesMasterId"] is None and event["isAllDay"] is False
    assert event["responseStatus"]["response"] == "organizer" and event["isCancelled"] is False
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    assert event["location"]["displayName"] == "Online"
    for name in ("iCalUId", "webLink", "createdDateTime", "lastModifiedDateTime"):
        assert event[name]
    assert "singleValueExtendedProperties" not in event

    again = graph.call("POST", "/me/events", json=body)
    assert again.json()["id"] == event["id"], "the same transactionId does not create a second event"

    paris = graph.call("GET", f"/me/events/{event['id']}", headers={"Prefer": 'outlook.timezone="Europe/Paris"'})
    assert paris.json()["start"] == {"dateTime": "2026-11-26T10:00:00.0000000", "timeZone": "Europe/Paris"}
    assert paris.headers["preference-applied"] == 'outlook.timezone="Europe/Paris"'
    expanded = graph.call("GET", f"/me/calendars/{calendar_id}/events/{event['id']}", params={
        "$expand": "singleValueExtendedProperties($filter=id eq 'String {66f5a359-4659-4830-9070-00047ec6ac6e} "
                   "Name Consultio')"}).json()
    assert expanded["singleValueExtendedProperties"][0]["value"] == "call-42"

    patched = graph.call("PATCH", f"/me/events/{event['id']}", json={
        "subject": "Moved", "start": {"dateTime": "2026-11-27T15:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2026-11-27T16:30:00", "timeZone": "UTC"}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["subject"] == "Moved"
    assert patched.json()["start"]["dateTime"] == "2026-11-27T15:00:00.0000000"
    assert patched.json()["changeKey"] != event["changeKey"]

    assert graph.call("DELETE", f"/me/events/{event['id']}").status_code == 204
    graph_error(graph.call("GET", f"/me/events/{event['id']}"), 404, "ErrorItemNotFound")
    graph_error(graph.call("PATCH", f"/me/events/{event['id']}", json={"subject": "x"}), 404, "ErrorItemNotFound")
    graph_error(graph.call("DELETE", f"/me/events/{event['id']}"), 404, "ErrorItemNotFound")


def test_event_input_is_checked_like_graph(ms, email):
    graph = Graph(ms, email)
    start = {"dateTime": "2026-11-26T10:00:00", "timeZone": "UTC"}
    graph_error(graph.call("POST", "/me/events", content=b"{not json"), 400, "BadRequest")
    graph_error(graph.call("POST", "/me/events", json={"subject": "x"}), 400, "ErrorInvalidRequest")
    graph_error(graph.call("POST", "/me/events", json={"subject": "x", "start": start, "end": start, "colour": 1}),
                400, "RequestBodyRead")
    graph_error(graph.call("POST", "/me/events", json={"start": start, "end": start, "showAs": "maybe"}), 400,
                "RequestBodyRead")
    graph_error(graph.call("POST", "/me/events", json={
        "start": {"dateTime": "2026-11-26T10:00:00", "timeZone": "Mars/Olympus"}, "end": start}), 400,
        "TimeZoneNotSupportedException")
    graph_error(graph.call("POST", "/me/events", json={"isAllDay": True, "start": start, "end": {
        "dateTime": "2026-11-27T10:00:00", "timeZone": "UTC"}}), 400, "ErrorInvalidRequest")
    all_day = graph.call("POST", "/me/events", json={
        "subject": "Off", "isAllDay": True, "showAs": "oof",
        "start": {"dateTime": "2026-12-24", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-12-26T00:00:00", "timeZone": "Europe/Berlin"}})
    assert all_day.status_code == 201, all_day.text
    shown = graph.call("GET", f"/me/events/{all_day.json()['id']}",
                       headers={"Prefer": 'outlook.timezone="America/New_York"'}).json()
    assert shown["isAllDay"] is True and shown["showAs"] == "oof"
    assert shown["start"] == {"dateTime": "2026-12-24T00:00:00.0000000", "timeZone": "America/New_York"}
    assert shown["end"]["dateTime"] == "2026-12-26T00:00:00.0000000"


def test_a_calendars_read_grant_cannot_write(ms, email):
    verifier, challenge = pkce()
    tokens = redeem(ms, get_code(ms, email, challenge, scope="openid User.Read Calendars.Read"), verifier,
                    scope=None).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(f"{ms}/graph/v1.0/me/calendars", headers=headers).status_code == 200
    start = {"dateTime": "2026-11-26T10:00:00", "timeZone": "UTC"}
    response = httpx.post(f"{ms}/graph/v1.0/me/events", headers=headers, json={"start": start, "end": start})
    graph_error(response, 403, "ErrorAccessDenied")


# --- calendarView and delta ------------------------------------------------------------------------------

WINDOW = {"startDateTime": "2026-11-01T00:00:00Z", "endDateTime": "2026-12-31T00:00:00Z"}


def delta_url(graph: Graph, calendar_id: str) -> str:
    return f"{graph.base}/me/calendars/{calendar_id}/calendarView/delta?{urlencode(WINDOW)}"


def test_delta_full_sync_pages_and_expands_series_then_reports_changes(ms, email):
    graph = Graph(ms, email)
    calendar_id = graph.default_calendar_id()
    single = dev_event(ms, email, summary="Dentist")
    series = dev_event(ms, email, summary="Standup", start="2026-11-10T09:00:00+01:00",
                       end="2026-11-10T09:15:00+01:00", recurrence="RRULE:FREQ=DAILY;COUNT=3")
    all_day = dev_event(ms, email, summary="Holiday", start="2026-11-20", end="2026-11-21", all_day=True,
                        transparent=True)
    dev_event(ms, email, summary="Outside the window", start="2027-03-01T10:00:00Z", end="2027-03-01T11:00:00Z")
    assert series["type"] == "seriesMaster" and series["recurrence"]["pattern"]["type"] == "daily"
    assert series["recurrence"]["range"] == {"type": "numbered", "startDate": "2026-11-10", "endDate": "0001-01-01",
                                             "recurrenceTimeZone": "UTC", "numberOfOccurrences": 3}

    items, delta_link, pages = graph.sync(delta_url(graph, calendar_id), page_size=2)
    assert pages == 3
    assert "$deltatoken=" in delta_link
    by_subject: dict[str, list[dict]] = {}
    for item in items:
        assert item["@odata.type"] == "#microsoft.graph.event"
        by_subject.setdefault(item["subject"], []).append(item)
    assert set(by_subject) == {"Dentist", "Standup", "Holiday"}
    occurrences = by_subject["Standup"]
    assert [o["start"]["dateTime"] for o in occurrences] == [
        "2026-11-10T08:00:00.0000000", "2026-11-11T08:00:00.0000000", "2026-11-12T08:00:00.0000000"]
    assert {o["type"] for o in occurrences} == {"occurrence"}
    assert {o["seriesMasterId"] for o in occurrences} == {series["id"]}
    assert len({o["id"] for o in occurrences}) == 3 and series["id"] not in {o["id"] for o in occurrences}
    assert len({o["iCalUId"] for o in occurrences}) == 3
    [holiday] = by_subject["Holiday"]
    assert holiday["isAllDay"] is True and holiday["showAs"] == "free"
    assert holiday["start"]["dateTime"] == "2026-11-20T00:00:00.0000000"
    assert holiday["end"]["dateTime"] == "2026-11-21T00:00:00.0000000"
    occurrence = graph.call("GET", f"/me/events/{occurrences[1]['id']}").json()
    assert occurrence["type"] == "occurrence" and occurrence["start"] == occurrences[1]["start"]

    # Nothing changed: an empty page and a new deltaLink.
    items, delta_link, _ = graph.sync(delta_link)
    assert items == []

    added = dev_event(ms, email, summary="New", start="2026-11-28T14:00:00+00:00", end="2026-11-28T15:00:00+00:00")
    moved = dev(ms, "PATCH", f"events/{single['id']}", json={"start": "2026-11-29T10:00:00+00:00",
                                                                  "end": "2026-11-29T10:30:00+00:00"})
    assert moved.status_code == 200 and moved.json()["start"]["dateTime"] == "2026-11-29T10:00:00.0000000"
    assert graph.call("DELETE", f"/me/events/{all_day['id']}").status_code == 204
    shortened = graph.call("PATCH", f"/me/events/{series['id']}", json={"recurrence": {
        **series["recurrence"], "range": {**series["recurrence"]["range"], "numberOfOccurrences": 2}}})
    assert shortened.status_code == 200, shortened.text

    items, delta_link, _ = graph.sync(delta_link, page_size=2)
    removed = {item["id"] for item in items if "@removed" in item}
    changed = {item["id"]: item for item in items if "@removed" not in item}
    assert removed == {all_day["id"], occurrences[2]["id"]}
    assert all(item["@removed"] == {"reason": "deleted"} for item in items if "@removed" in item)
    assert changed[added["id"]]["subject"] == "New"
    assert changed[single["id"]]["start"]["dateTime"] == "2026-11-29T10:00:00.0000000"
    assert {occurrences[0]["id"], occurrences[1]["id"]} <= changed.keys()

    # Moving an event out of the window and deleting the series: both are @removed.
    dev(ms, "PATCH", f"events/{added['id']}", json={"start": "2027-02-01T10:00:00Z", "end": "2027-02-01T11:00:00Z"})
    assert dev(ms, "DELETE", f"events/{series['id']}").status_code == 204
    items, delta_link, _ = graph.sync(delta_link)
    assert {item["id"] for item in items if "@removed" in item} == {added["id"], occurrences[0]["id"],
                                                                   occurrences[1]["id"]}
    assert [item for item in items if "@removed" not in item] == []
    assert graph.sync(delta_link)[0] == []


def test_delta_of_the_default_calendar_and_a_secondary_calendar_are_separate(ms, email):
    graph = Graph(ms, email)
    second = dev(ms, "POST", "calendars", json={"account_email": email, "name": "Work"}).json()
    dev_event(ms, email, summary="Primary")
    dev_event(ms, email, calendar=second["id"], summary="Secondary")
    items, _, _ = graph.sync(f"{graph.base}/me/calendarview/delta?{urlencode(WINDOW)}")
    assert [i["subject"] for i in items] == ["Primary"]
    items, _, _ = graph.sync(delta_url(graph, second["id"]))
    assert [i["subject"] for i in items] == ["Secondary"]


def test_delta_needs_a_window_and_refuses_bad_or_outdated_tokens(ms, email):
    graph = Graph(ms, email)
    calendar_id = graph.default_calendar_id()
    graph_error(graph.call("GET", f"/me/calendars/{calendar_id}/calendarView/delta"), 400, "ErrorInvalidParameter")
    dev_event(ms, email)
    dev_event(ms, email, start="2026-11-27T10:00:00Z", end="2026-11-27T11:00:00Z")
    first = graph.call("GET", delta_url(graph, calendar_id), headers={"Prefer": "odata.maxpagesize=1"})
    assert first.headers["preference-applied"] == "odata.maxpagesize=1"
    next_link = first.json()["@odata.nextLink"]
    _, delta_link, _ = graph.sync(delta_url(graph, calendar_id))

    tampered = delta_link[:-6] + "AAAAAA"
    graph_error(graph.call("GET", tampered), 410, "SyncStateNotFound")
    graph_error(graph.call("GET", f"/me/calendars/{calendar_id}/calendarView/delta?$skiptoken=garbage"), 410,
                "SyncStateNotFound")
    other = dev(ms, "POST", "calendars", json={"account_email": email, "name": "Other"}).json()
    wrong_calendar = delta_link.replace(calendar_id, other["id"])
    graph_error(graph.call("GET", wrong_calendar), 410, "SyncStateNotFound")

    assert dev(ms, "POST", "invalidate-sync", json={"account_email": email}).status_code == 200
    graph_error(graph.call("GET", delta_link), 410, "SyncStateNotFound")
    graph_error(graph.call("GET", next_link), 410, "SyncStateNotFound")
    items, _, _ = graph.sync(delta_url(graph, calendar_id))
    assert len(items) == 2


def test_calendar_view_lists_occurrences_in_order_and_pages(ms, email):
    graph = Graph(ms, email)
    dev_event(ms, email, summary="Weekly", start="2026-11-02T16:00:00Z", end="2026-11-02T17:00:00Z",
              recurrence="RRULE:FREQ=WEEKLY;BYDAY=MO,WE")
    dev_event(ms, email, summary="Single", start="2026-11-03T08:00:00Z", end="2026-11-03T09:00:00Z")
    params = {"startDateTime": "2026-11-01T00:00:00Z", "endDateTime": "2026-11-08T00:00:00Z", "$top": 2}
    page = graph.call("GET", "/me/calendarView", params=params).json()
    assert [(e["subject"], e["start"]["dateTime"][:10]) for e in page["value"]] == [
        ("Weekly", "2026-11-02"), ("Single", "2026-11-03")]
    rest = graph.call("GET", page["@odata.nextLink"]).json()
    assert [(e["subject"], e["start"]["dateTime"][:10]) for e in rest["value"]] == [("Weekly", "2026-11-04")]
    assert "@odata.nextLink" not in rest
    master = graph.call("GET", "/me/events").json()["value"][0]
    assert master["type"] == "seriesMaster"
    assert master["recurrence"]["pattern"]["daysOfWeek"] == ["monday", "wednesday"]
    assert master["recurrence"]["range"]["type"] == "noEnd"

    # Deleting one occurrence leaves the others.
    occurrence = rest["value"][0]
    assert graph.call("DELETE", f"/me/events/{occurrence['id']}").status_code == 204
    again = graph.call("GET", "/me/calendarView", params={**params, "$top": 10}).json()
    assert len(again["value"]) == 2
    graph_error(graph.call("GET", f"/me/events/{occurrence['id']}"), 404, "ErrorItemNotFound")


# --- faults ---------------------------------------------------------------------------------------------


def test_injected_faults_fail_the_next_calls_in_microsofts_shapes(ms, email):
    graph = Graph(ms, email)
    created = dev(ms, "POST", "faults", json={"account_email": email, "status": 429, "count": 1, "retry_after": 7})
    assert created.status_code == 201
    response = graph.call("GET", "/me/calendars")
    graph_error(response, 429, "TooManyRequests")
    assert response.headers["retry-after"] == "7"
    assert graph.call("GET", "/me/calendars").status_code == 200

    dev(ms, "POST", "faults", json={"account_email": email, "status": 503, "count": 1, "retry_after": 2})
    graph_error(graph.call("GET", "/me"), 503, "ServiceUnavailable")

    dev(ms, "POST", "faults", json={"account_email": email, "status": 429, "count": 1, "retry_after": 3})
    response = httpx.post(f"{ms}/common/oauth2/v2.0/token", data={
        "grant_type": "refresh_token", "refresh_token": graph.tokens["refresh_token"], "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
    identity_error(response, 429, "temporarily_unavailable", 90055)
    assert response.headers["retry-after"] == "3"

    other = Graph(ms, f"other-{email}")
    dev(ms, "POST", "faults", json={"account_email": email, "status": 500, "count": 1})
    assert other.call("GET", "/me").status_code == 200, "a fault of one account does not hit another"
    graph_error(graph.call("GET", "/me"), 500, "InternalServerError")


def test_dev_faults_refuse_bad_input(ms):
    assert dev(ms, "POST", "faults", json={"status": 404}).status_code == 400
    assert dev(ms, "POST", "faults", json={"status": 429, "count": -1}).status_code == 400
    assert dev(ms, "POST", "faults", content=b"[]").status_code == 400


# --- subscriptions and notifications ---------------------------------------------------------------------


def subscribe(graph: Graph, receiver, resource: str, **overrides) -> httpx.Response:
    body = {"changeType": "created,updated,deleted", "notificationUrl": receiver.url, "resource": resource,
            "expirationDateTime": expiration(), "clientState": "secret-state"}
    body.update(overrides)
    return graph.call("POST", "/subscriptions", json=body)


def test_subscription_is_validated_then_notifies_each_change_until_deleted(ms, email, receiver):
    graph = Graph(ms, email)
    calendar_id = graph.default_calendar_id()
    response = subscribe(graph, receiver, f"me/calendars/{calendar_id}/events")
    assert response.status_code == 201, response.text
    subscription = response.json()
    assert subscription["resource"] == f"me/calendars/{calendar_id}/events"
    assert subscription["applicationId"] == CLIENT_ID and subscription["clientState"] == "secret-state"
    assert subscription["changeType"] == "created,updated,deleted"
    assert subscription["notificationUrl"] == receiver.url and subscription["creatorId"]
    assert subscription["latestSupportedTlsVersion"] == "v1_2" and subscription["expirationDateTime"].endswith("Z")
    [validation] = receiver.items
    assert validation["kind"] == "validation" and validation["body"] == ""
    assert validation["headers"]["Content-Type"].startswith("text/plain")
    assert validation["token"].startswith("Validation: Testing client application reachability")

    event = dev_event(ms, email, summary="Booked")
    [created] = receiver.notifications()
    user = graph.call("GET", "/me").json()["id"]
    assert created == {
        "subscriptionId": subscription["id"],
        "subscriptionExpirationDateTime": created["subscriptionExpirationDateTime"], "changeType": "created",
        "resource": f"Users/{user}/Events/{event['id']}",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": f"Users/{user}/Events/{event['id']}",
                         "@odata.etag": event["@odata.etag"], "id": event["id"]},
        "clientState": "secret-state", "tenantId": created["tenantId"]}
    notification = next(i for i in receiver.items if i["kind"] == "notification")
    assert notification["headers"]["Content-Type"].startswith("application/json")

    graph.call("PATCH", f"/me/events/{event['id']}", json={"subject": "Renamed"})
    graph.call("DELETE", f"/me/events/{event['id']}")
    assert [n["changeType"] for n in receiver.notifications()] == ["created", "updated", "deleted"]

    fetched = graph.call("GET", f"/subscriptions/{subscription['id']}")
    assert fetched.status_code == 200 and fetched.json()["id"] == subscription["id"]
    renewed = graph.call("PATCH", f"/subscriptions/{subscription['id']}",
                         json={"expirationDateTime": expiration(4000)})
    assert renewed.status_code == 200 and renewed.json()["expirationDateTime"] != subscription["expirationDateTime"]
    assert [s["id"] for s in graph.call("GET", "/subscriptions").json()["value"]] == [subscription["id"]]

    assert graph.call("DELETE", f"/subscriptions/{subscription['id']}").status_code == 204
    graph_error(graph.call("GET", f"/subscriptions/{subscription['id']}"), 404, "ResourceNotFound")
    dev_event(ms, email, summary="After unsubscribing")
    assert len(receiver.notifications()) == 3
    channels = dev(ms, "GET", "channels", params={"account_email": email}).json()["items"]
    assert channels == [{"id": subscription["id"], "calendar": calendar_id, "address": receiver.url,
                         "expires_at": channels[0]["expires_at"], "stopped": True}]


def test_subscriptions_accept_graphs_resource_forms_and_filter_change_types(ms, email, receiver):
    graph = Graph(ms, email)
    calendar_id = graph.default_calendar_id()
    second = dev(ms, "POST", "calendars", json={"account_email": email, "name": "Side"}).json()
    for resource in ("/me/events", f"me/calendars('{second['id']}')/events"):
        assert subscribe(graph, receiver, resource, changeType="deleted").status_code == 201
    channels = dev(ms, "GET", "channels", params={"account_email": email}).json()["items"]
    assert [c["calendar"] for c in channels] == [calendar_id, second["id"]]
    event = dev_event(ms, email, calendar=second["id"])
    assert receiver.notifications() == []
    dev(ms, "DELETE", f"events/{event['id']}")
    assert [n["changeType"] for n in receiver.notifications()] == ["deleted"]


def test_subscription_creation_is_refused_like_graph(ms, email, receiver):
    graph = Graph(ms, email)
    calendar_id = graph.default_calendar_id()
    resource = f"me/calendars/{calendar_id}/events"
    error = graph_error(subscribe(graph, receiver, resource, expirationDateTime=expiration(4231 + 5)), 400,
                        "ExtensionError")
    assert "4230 minutes" in error["message"]
    graph_error(subscribe(graph, receiver, resource, clientState="x" * 129), 400, "InvalidRequest")
    graph_error(subscribe(graph, receiver, resource, changeType="created,moved"), 400, "InvalidRequest")
    graph_error(subscribe(graph, receiver, "me/messages"), 400, "InvalidRequest")
    graph_error(subscribe(graph, receiver, "me/calendars/AAMkADnope/events"), 404, "ExtensionError")
    assert receiver.items == [], "nothing is validated before the request itself is valid"

    receiver.options["mode"] = "wrong"
    error = graph_error(subscribe(graph, receiver, resource), 400, "ValidationError")
    assert "must exactly match validationToken" in error["message"]
    receiver.options["mode"] = "refuse"
    graph_error(subscribe(graph, receiver, resource), 400, "ValidationError")
    graph_error(subscribe(graph, receiver, resource, notificationUrl="http://127.0.0.1:9/closed"), 400,
                "ValidationError")
    assert dev(ms, "GET", "channels", params={"account_email": email}).json()["items"] == []


# --- dev endpoints -------------------------------------------------------------------------------------


def test_dev_events_list_patch_delete_and_flags(ms, email):
    declined = dev_event(ms, email, summary="Declined meeting", declined=True)
    cancelled = dev_event(ms, email, summary="Cancelled meeting", cancelled=True,
                          start="2026-11-26T12:00:00+00:00", end="2026-11-26T13:00:00+00:00")
    assert declined["responseStatus"]["response"] == "declined" and declined["isOrganizer"] is False
    assert cancelled["isCancelled"] is True

    graph = Graph(ms, email)
    written = graph.call("POST", "/me/events", json={
        "subject": "Written by the product", "start": {"dateTime": "2026-11-30T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-11-30T11:00:00", "timeZone": "UTC"}}).json()
    items = dev(ms, "GET", "events", params={"account_email": email}).json()["items"]
    assert [i["subject"] for i in items] == ["Declined meeting", "Cancelled meeting", "Written by the product"]
    assert items[2]["id"] == written["id"]

    patched = dev(ms, "PATCH", f"events/{declined['id']}", json={"summary": "Renamed", "transparent": True})
    assert patched.status_code == 200
    assert patched.json()["subject"] == "Renamed" and patched.json()["showAs"] == "free"
    assert patched.json()["start"] == declined["start"]
    all_day = dev(ms, "PATCH", f"events/{declined['id']}", json={"all_day": True, "start": "2026-11-26",
                                                                  "end": "2026-11-27"})
    assert all_day.json()["isAllDay"] is True

    assert dev(ms, "DELETE", f"events/{cancelled['id']}").status_code == 204
    assert dev(ms, "DELETE", f"events/{cancelled['id']}").status_code == 404
    assert dev(ms, "PATCH", "events/AAMkADnope", json={"summary": "x"}).status_code == 404
    assert len(dev(ms, "GET", "events", params={"account_email": email}).json()["items"]) == 2
    assert dev(ms, "GET", "events", params={"account_email": "nobody@example.com"}).json() == {"items": []}


@pytest.mark.parametrize("fields", [
    {"start": "2026-11-26T10:00:00"},  # no offset
    {"start": "tomorrow"},
    {"end": "2026-11-26T09:00:00+00:00"},  # before the start
    {"all_day": True},  # date-times for an all-day event
    {"recurrence": "RRULE:FREQ=HOURLY"},
    {"calendar": "AAMkADnope"},
    {"colour": "red"},
    {"account_email": "not-an-email"},
])
def test_dev_events_refuse_bad_input_with_a_clear_message(ms, email, fields):
    body = {"account_email": email, "summary": "x", "start": "2026-11-26T10:00:00+00:00",
            "end": "2026-11-26T11:00:00+00:00", **fields}
    response = dev(ms, "POST", "events", json=body)
    assert response.status_code in (400, 404)
    assert response.json()["error"]


def test_dev_account_helpers_need_a_known_account(ms):
    for path in ("expire-tokens", "revoke", "invalidate-sync"):
        assert dev(ms, "POST", path, json={"account_email": f"{uuid.uuid4().hex}@example.com"}).status_code == 404
    assert dev(ms, "GET", "faults").status_code == 405
