"""The Google emulator (sandbox/google/) over real HTTP: OAuth with PKCE, the Calendar API's events, sync
tokens and push channels, and the dev helpers scripts use. Every test has an account of its own: what the
live server commits stays between tests."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest

REDIRECT_URI = "http://localhost:8000/oauth/callback/google"
SCOPE = "openid email https://www.googleapis.com/auth/calendar"


@pytest.fixture
def google(settings, live_server_url, db) -> str:
    settings.CALENDAR_SANDBOX = True
    return f"{live_server_url}/sandbox/google"


@pytest.fixture
def email() -> str:
    return f"owner-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def receiver():
    """A loopback endpoint keeping every notification posted to it (headers and body)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "body": body, "headers": dict(self.headers)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/google-calendar"
    yield server
    server.shutdown()
    server.server_close()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def _auth_params(settings, challenge: str, **extra) -> dict:
    return {"client_id": settings.GOOGLE_CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
            "scope": SCOPE, "state": "st-123", "code_challenge": challenge, "code_challenge_method": "S256",
            "access_type": "offline", "prompt": "consent", "include_granted_scopes": "true", **extra}


def _code(google: str, settings, email: str, challenge: str, **extra) -> str:
    response = httpx.get(f"{google}/o/oauth2/v2/auth",
                         params=_auth_params(settings, challenge, approve="1", login_hint=email, **extra))
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["st-123"]
    return query["code"][0]


def _exchange(google: str, settings, code: str, verifier: str, **extra) -> httpx.Response:
    return httpx.post(f"{google}/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": settings.GOOGLE_CLIENT_ID, "client_secret": settings.GOOGLE_CLIENT_SECRET,
        "code_verifier": verifier, **extra})


def _refresh(google: str, settings, refresh_token: str) -> httpx.Response:
    return httpx.post(f"{google}/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": settings.GOOGLE_CLIENT_ID,
        "client_secret": settings.GOOGLE_CLIENT_SECRET})


def _connect(google: str, settings, email: str) -> dict:
    verifier, challenge = _pkce()
    response = _exchange(google, settings, _code(google, settings, email, challenge), verifier)
    assert response.status_code == 200, response.text
    return response.json()


def _api(google: str, tokens: dict) -> httpx.Client:
    return httpx.Client(base_url=f"{google}/calendar/v3",
                        headers={"Authorization": f"Bearer {tokens['access_token']}"})


def _dev_event(google: str, email: str, **fields) -> dict:
    response = httpx.post(f"{google}/dev/events", json={"account_email": email, **fields})
    assert response.status_code == 201, response.text
    return response.json()


# Times are relative to today (series are expanded up to a year ahead), fixed once so that a run
# crossing midnight computes the same times twice.
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _at(days: int, hour: int) -> datetime:
    """A time ``days`` after today, at ``hour`` UTC."""
    return TODAY + timedelta(days=days, hours=hour)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _sync(client: httpx.Client, calendar: str = "primary", **params) -> tuple[list[dict], str, int]:
    """Every page of a list: its items, the closing sync token and the number of pages."""
    items, pages, token = [], 0, None
    while True:
        response = client.get(f"/calendars/{calendar}/events", params={**params, **({"pageToken": token} if token
                                                                                    else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        items += body["items"]
        token = body.get("nextPageToken")
        if token is None:
            assert "nextSyncToken" in body
            return items, body["nextSyncToken"], pages
        assert "nextSyncToken" not in body


def _error(response: httpx.Response) -> tuple[int, str]:
    error = response.json()["error"]
    assert error["code"] == response.status_code and error["errors"][0]["message"]
    return error["code"], error["errors"][0]["reason"]


# --- availability ---------------------------------------------------------------------------------


def test_the_emulator_answers_only_with_calendar_sandbox_on(google, settings, email):
    settings.CALENDAR_SANDBOX = False
    assert httpx.get(f"{google}/calendar/v3/users/me/calendarList").status_code == 404
    assert httpx.post(f"{google}/token", data={}).status_code == 404
    assert httpx.get(f"{google}/dev/events", params={"account_email": email}).status_code == 404


# --- OAuth ----------------------------------------------------------------------------------------


def test_consent_page_allows_and_denies_through_its_form(google, settings, email):
    _, challenge = _pkce()
    with httpx.Client() as browser:
        page = browser.get(f"{google}/o/oauth2/v2/auth", params=_auth_params(settings, challenge, login_hint=email))
        assert page.status_code == 200
        html = page.text
        assert f'value="{email}"' in html and "See, edit, share, and permanently delete all the calendars" in html
        assert not re.search(r'(src|href)="https?://', html), "the page is self-contained"
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
        assert hidden["code_challenge"] == challenge and hidden["state"] == "st-123"
        form = {**hidden, "csrfmiddlewaretoken": csrf, "email": email}

        allowed = browser.post(page.url, data={**form, "action": "allow"})
        assert allowed.status_code == 302
        location = allowed.headers["Location"]
        assert location.startswith(REDIRECT_URI + "?")
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == ["st-123"] and query["code"][0].startswith("4/")
        assert "https://www.googleapis.com/auth/calendar" in query["scope"][0].split()

        denied = browser.post(page.url, data={**form, "action": "deny"})
        assert parse_qs(urlsplit(denied.headers["Location"]).query) == {"error": ["access_denied"],
                                                                         "state": ["st-123"]}
        no_email = browser.post(page.url, data={**form, "email": "not-an-email", "action": "allow"})
        assert no_email.status_code == 400 and "Enter a valid email address." in no_email.text

    refused = httpx.get(f"{google}/o/oauth2/v2/auth", params=_auth_params(settings, challenge, approve="0"))
    assert parse_qs(urlsplit(refused.headers["Location"]).query)["error"] == ["access_denied"]


@pytest.mark.parametrize(("change", "status", "error"), [
    ({"client_id": "someone-else.apps.googleusercontent.com"}, 401, "invalid_client"),
    ({"redirect_uri": "javascript:alert(1)"}, 400, "invalid_request"),
    ({"redirect_uri": ""}, 400, "invalid_request"),
    ({"response_type": "token"}, 400, "unsupported_response_type"),
    ({"code_challenge": ""}, 400, "invalid_request"),
    ({"code_challenge_method": "plain"}, 400, "invalid_request"),
    ({"scope": "openid email"}, 400, "invalid_scope"),
    ({"scope": "openid https://evil.example/scope https://www.googleapis.com/auth/calendar"}, 400, "invalid_scope"),
])
def test_invalid_authorization_requests_get_an_error_page_and_no_redirect(google, settings, email, change, status,
                                                                          error):
    _, challenge = _pkce()
    params = {**_auth_params(settings, challenge, approve="1", login_hint=email), **change}
    response = httpx.get(f"{google}/o/oauth2/v2/auth", params=params)
    assert response.status_code == status
    assert "Location" not in response.headers
    assert f"Error {status}: {error}" in response.text


def test_code_exchange_checks_pkce_redirect_uri_client_and_single_use(google, settings, email):
    verifier, challenge = _pkce()
    code = _code(google, settings, email, challenge)

    wrong_verifier = _exchange(google, settings, code, _pkce()[0])
    assert (wrong_verifier.status_code, wrong_verifier.json()["error"]) == (400, "invalid_grant")
    missing_verifier = _exchange(google, settings, code, "")
    assert missing_verifier.json() == {"error": "invalid_grant", "error_description": "Missing code verifier."}
    wrong_redirect = _exchange(google, settings, code, verifier, redirect_uri="http://localhost:8000/elsewhere")
    assert (wrong_redirect.status_code, wrong_redirect.json()["error"]) == (400, "redirect_uri_mismatch")
    wrong_secret = _exchange(google, settings, code, verifier, client_secret="nope")
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
    unknown_client = _exchange(google, settings, code, verifier, client_id="other.apps.googleusercontent.com")
    assert (unknown_client.status_code, unknown_client.json()["error"]) == (401, "invalid_client")

    tokens = _exchange(google, settings, code, verifier)
    assert tokens.status_code == 200, tokens.text
    assert "no-store" in tokens.headers["Cache-Control"]
    body = tokens.json()
    assert body["token_type"] == "Bearer" and 3500 < body["expires_in"] <= 3600
    assert body["access_token"].startswith("ya29.") and body["refresh_token"].startswith("1//")
    assert set(body["scope"].split()) == {"openid", "https://www.googleapis.com/auth/userinfo.email",
                                          "https://www.googleapis.com/auth/calendar"}
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["email"] == email and claims["aud"] == settings.GOOGLE_CLIENT_ID

    reused = _exchange(google, settings, code, verifier)
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    unknown = _exchange(google, settings, "4/0Anope", verifier)
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_grant")

    info = httpx.get(f"{google}/v1/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json()["email"] == email and info.json()["email_verified"] is True and info.json()["sub"]
    assert httpx.get(f"{google}/v1/userinfo", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_refresh_gives_new_access_tokens_and_no_new_refresh_token(google, settings, email):
    tokens = _connect(google, settings, email)
    refreshed = _refresh(google, settings, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert "refresh_token" not in refreshed.json()
    assert refreshed.json()["access_token"] != tokens["access_token"]
    assert _api(google, refreshed.json()).get("/users/me/calendarList").status_code == 200

    # Signing in again without prompt=consent: Google hands out no second refresh token.
    verifier, challenge = _pkce()
    again = _exchange(google, settings, _code(google, settings, email, challenge, prompt=""), verifier).json()
    assert "refresh_token" not in again and again["access_token"]
    verifier, challenge = _pkce()
    online = _exchange(google, settings, _code(google, settings, email, challenge, access_type="online"), verifier)
    assert "refresh_token" not in online.json() and online.json()["access_token"]

    bad = _refresh(google, settings, "1//0unknown")
    assert bad.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    unsupported = httpx.post(f"{google}/token", data={"grant_type": "password", "client_id": settings.GOOGLE_CLIENT_ID,
                                                      "client_secret": settings.GOOGLE_CLIENT_SECRET})
    assert unsupported.json()["error"] == "unsupported_grant_type"


def test_revoking_a_token_ends_the_grant(google, settings, email):
    tokens = _connect(google, settings, email)
    assert httpx.post(f"{google}/revoke", data={"token": tokens["refresh_token"]}).status_code == 200
    assert _refresh(google, settings, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert _error(_api(google, tokens).get("/users/me/calendarList")) == (401, "authError")
    again = httpx.post(f"{google}/revoke", data={"token": tokens["refresh_token"]})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_token")


def test_dev_revoke_and_expire_tokens(google, settings, email):
    tokens = _connect(google, settings, email)
    client = _api(google, tokens)
    assert httpx.post(f"{google}/dev/expire-tokens", json={"account_email": email}).json() == {"expired": 1}
    expired = client.get("/users/me/calendarList")
    assert _error(expired) == (401, "authError")
    assert expired.json()["error"]["status"] == "UNAUTHENTICATED" and "WWW-Authenticate" in expired.headers
    assert _error(httpx.get(f"{google}/calendar/v3/users/me/calendarList")) == (401, "required")

    fresh = _refresh(google, settings, tokens["refresh_token"]).json()
    assert _api(google, fresh).get("/users/me/calendarList").status_code == 200
    assert httpx.post(f"{google}/dev/revoke", json={"account_email": email}).status_code == 200
    assert _refresh(google, settings, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert _api(google, fresh).get("/users/me/calendarList").status_code == 401


def test_a_read_only_grant_cannot_write_events(google, settings, email):
    verifier, challenge = _pkce()
    code = _code(google, settings, email, challenge, scope="openid https://www.googleapis.com/auth/calendar.readonly")
    client = _api(google, _exchange(google, settings, code, verifier).json())
    assert client.get("/calendars/primary/events").status_code == 200
    refused = client.post("/calendars/primary/events", json={"start": {"dateTime": _iso(_at(1, 9))},
                                                              "end": {"dateTime": _iso(_at(1, 10))}})
    assert _error(refused) == (403, "insufficientPermissions")
    assert refused.json()["error"]["message"] == "Request had insufficient authentication scopes."


# --- calendars ------------------------------------------------------------------------------------


def test_calendar_list_has_the_primary_calendar_then_secondary_ones(google, settings, email):
    client = _api(google, _connect(google, settings, email))
    created = httpx.post(f"{google}/dev/calendars", json={"account_email": email, "name": "Work"})
    assert created.status_code == 201
    work = created.json()["id"]
    assert work.endswith("@group.calendar.google.com")

    listed = client.get("/users/me/calendarList").json()
    assert listed["kind"] == "calendar#calendarList"
    primary, secondary = listed["items"]
    assert primary["id"] == email and primary["primary"] is True and primary["accessRole"] == "owner"
    assert primary["kind"] == "calendar#calendarListEntry" and primary["timeZone"] == "UTC" and primary["etag"]
    assert (secondary["id"], secondary["summary"], "primary" in secondary) == (work, "Work", False)

    first = client.get("/users/me/calendarList", params={"maxResults": 1}).json()
    assert [c["id"] for c in first["items"]] == [email]
    second = client.get("/users/me/calendarList", params={"maxResults": 1, "pageToken": first["nextPageToken"]})
    assert [c["id"] for c in second.json()["items"]] == [work] and "nextPageToken" not in second.json()
    assert client.get("/calendars/primary").json()["id"] == email
    assert _error(client.get("/calendars/nobody@example.com/events")) == (404, "notFound")


# --- events ---------------------------------------------------------------------------------------


def test_events_are_created_read_patched_replaced_and_deleted(google, settings, email):
    client = _api(google, _connect(google, settings, email))
    start, end = _at(3, 9), _at(3, 10)
    inserted = client.post("/calendars/primary/events", json={
        "summary": "Consultation", "description": "Booked through Consultio", "transparency": "transparent",
        "start": {"dateTime": _iso(start), "timeZone": "Europe/Berlin"}, "end": {"dateTime": _iso(end),
                                                                                 "timeZone": "Europe/Berlin"},
        "attendees": [{"email": "client@example.com"}],
        "extendedProperties": {"private": {"consultioCallId": "call-1", "tenant": "alpha"}}})
    assert inserted.status_code == 200, inserted.text
    event = inserted.json()
    assert event["kind"] == "calendar#event" and event["status"] == "confirmed" and event["etag"]
    assert event["start"]["timeZone"] == "Europe/Berlin"
    assert datetime.fromisoformat(event["start"]["dateTime"]) == start
    assert event["start"]["dateTime"][-6:] in ("+01:00", "+02:00")
    assert event["organizer"] == {"email": email, "self": True} and event["creator"]["email"] == email
    assert event["transparency"] == "transparent" and event["iCalUID"] == f"{event['id']}@google.com"
    assert event["attendees"] == [{"email": "client@example.com", "responseStatus": "needsAction"}]
    assert event["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")
    event_id = event["id"]
    assert re.fullmatch(r"[a-v0-9]{5,1024}", event_id)
    assert client.get(f"/calendars/{email}/events/{event_id}").json() == event

    patched = client.patch(f"/calendars/primary/events/{event_id}", json={
        "summary": "Consultation (moved)", "start": {"dateTime": _iso(_at(4, 9))},
        "end": {"dateTime": _iso(_at(4, 10))}, "extendedProperties": {"private": {"tenant": "beta"}}}).json()
    assert patched["summary"] == "Consultation (moved)" and patched["description"] == "Booked through Consultio"
    assert patched["extendedProperties"]["private"] == {"consultioCallId": "call-1", "tenant": "beta"}
    assert patched["start"] == {"dateTime": _at(4, 9).strftime("%Y-%m-%dT%H:%M:%SZ"), "timeZone": "UTC"}
    assert patched["sequence"] == 1 and patched["etag"] != event["etag"] and patched["updated"] >= event["updated"]

    replaced = client.put(f"/calendars/primary/events/{event_id}", json={
        "summary": "Replaced", "start": {"date": _at(5, 0).date().isoformat()},
        "end": {"date": _at(6, 0).date().isoformat()}}).json()
    assert "description" not in replaced and "extendedProperties" not in replaced and "transparency" not in replaced
    assert replaced["start"] == {"date": _at(5, 0).date().isoformat()}

    assert client.delete(f"/calendars/primary/events/{event_id}").status_code == 204
    assert client.get(f"/calendars/primary/events/{event_id}").json()["status"] == "cancelled"
    gone = client.delete(f"/calendars/primary/events/{event_id}")
    assert _error(gone) == (410, "deleted") and gone.json()["error"]["message"] == "Resource has been deleted"
    assert _error(client.get("/calendars/primary/events/unknown0000")) == (404, "notFound")
    assert _error(client.delete("/calendars/primary/events/unknown0000")) == (404, "notFound")


def test_event_input_is_checked_as_google_does(google, settings, email):
    client = _api(google, _connect(google, settings, email))
    start, end = _iso(_at(2, 10)), _iso(_at(2, 11))
    custom = client.post("/calendars/primary/events", json={
        "id": "consultio0call0123", "start": {"dateTime": start}, "end": {"dateTime": end}})
    assert custom.status_code == 200 and custom.json()["id"] == "consultio0call0123"
    duplicate = client.post("/calendars/primary/events", json={
        "id": "consultio0call0123", "start": {"dateTime": start}, "end": {"dateTime": end}})
    assert _error(duplicate) == (409, "duplicate")
    assert _error(client.post("/calendars/primary/events", json={
        "id": "Not-Base32hex!", "start": {"dateTime": start}, "end": {"dateTime": end}}))[0] == 400
    assert _error(client.post("/calendars/primary/events", json={
        "start": {"dateTime": end}, "end": {"dateTime": start}})) == (400, "timeRangeEmpty")
    assert _error(client.post("/calendars/primary/events", json={"start": {"dateTime": start}})) == (400, "required")
    assert _error(client.post("/calendars/primary/events", json={
        "start": {"date": "2030-01-01"}, "end": {"dateTime": end}}))[0] == 400
    assert _error(client.post("/calendars/primary/events", json={
        "start": {"dateTime": "2030-01-01T10:00:00"}, "end": {"dateTime": "2030-01-01T11:00:00"}})) == (400, "required")
    assert _error(client.post("/calendars/primary/events", json={
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end, "timeZone": "Europe/Berlin"},
        "recurrence": ["RRULE:FREQ=SOMETIMES"]})) == (400, "invalid")
    assert _error(client.post("/calendars/primary/events", content=b"{nope",
                              headers={"Content-Type": "application/json"})) == (400, "parseError")


def test_full_sync_pages_then_incremental_sync_reports_changes(google, settings, email):
    client = _api(google, _connect(google, settings, email))
    singles = [_dev_event(google, email, summary=f"Busy {n}", start=_iso(_at(n + 1, 9)), end=_iso(_at(n + 1, 10)))
               for n in range(3)]
    day = _at(10, 0).date()
    all_day = _dev_event(google, email, summary="Offsite", all_day=True, start=day.isoformat(),
                         end=(day + timedelta(days=2)).isoformat())
    series = _dev_event(google, email, summary="Standup", start=_iso(_at(20, 8)), end=_iso(_at(20, 8) + timedelta(
        minutes=15)), recurrence="RRULE:FREQ=DAILY;COUNT=3")
    assert series["recurrence"] == ["RRULE:FREQ=DAILY;COUNT=3"]

    items, token, pages = _sync(client, singleEvents="true", maxResults=2)
    assert pages == 4  # 3 single events, 1 all-day event, 3 instances; 2 per page
    by_id = {item["id"]: item for item in items}
    assert len(by_id) == 7
    instance_ids = [f"{series['id']}_{(_at(20 + n, 8)).strftime('%Y%m%dT%H%M%SZ')}" for n in range(3)]
    assert set(by_id) == {e["id"] for e in singles} | {all_day["id"]} | set(instance_ids)
    first = by_id[instance_ids[0]]
    assert first["recurringEventId"] == series["id"] and "recurrence" not in first
    assert first["originalStartTime"] == first["start"] and first["summary"] == "Standup"
    assert by_id[all_day["id"]]["start"] == {"date": day.isoformat()}
    assert by_id[all_day["id"]]["end"] == {"date": (day + timedelta(days=2)).isoformat()}

    nothing = client.get("/calendars/primary/events", params={"syncToken": token, "singleEvents": "true"}).json()
    assert nothing["items"] == [] and nothing["nextSyncToken"]

    added = _dev_event(google, email, summary="New", start=_iso(_at(30, 9)), end=_iso(_at(30, 10)))
    moved = httpx.patch(f"{google}/dev/events/{singles[0]['id']}", json={
        "start": _iso(_at(31, 9)), "end": _iso(_at(31, 10))})
    assert moved.status_code == 200 and moved.json()["start"]["dateTime"] == _at(31, 9).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert httpx.delete(f"{google}/dev/events/{singles[1]['id']}").status_code == 204
    next_day = day + timedelta(days=1)
    assert httpx.patch(f"{google}/dev/events/{all_day['id']}", json={
        "start": next_day.isoformat(), "end": (next_day + timedelta(days=1)).isoformat()}).status_code == 200
    shortened = client.patch(f"/calendars/primary/events/{series['id']}",
                             json={"recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]})
    assert shortened.status_code == 200

    changes, next_token, _ = _sync(client, syncToken=token, singleEvents="true", maxResults=2)
    by_id = {item["id"]: item for item in changes}
    assert set(by_id) == {added["id"], singles[0]["id"], singles[1]["id"], all_day["id"], *instance_ids}
    assert (by_id[all_day["id"]]["start"], by_id[all_day["id"]]["end"]) == (
        {"date": next_day.isoformat()}, {"date": (next_day + timedelta(days=1)).isoformat()})
    assert by_id[singles[1]["id"]]["status"] == "cancelled"
    assert by_id[singles[0]["id"]]["start"]["dateTime"] == _at(31, 9).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [by_id[i]["status"] for i in instance_ids] == ["confirmed", "confirmed", "cancelled"]
    assert by_id[instance_ids[2]]["recurringEventId"] == series["id"]
    assert by_id[instance_ids[2]]["originalStartTime"]["dateTime"]

    # Deleting the series reports each of its instances cancelled.
    assert client.delete(f"/calendars/primary/events/{series['id']}").status_code == 204
    last, _, _ = _sync(client, syncToken=next_token, singleEvents="true")
    assert {(item["id"], item["status"]) for item in last} == {(i, "cancelled") for i in instance_ids}

    # Without singleEvents the series is one master with its recurrence; deleted events only with showDeleted.
    masters, _, _ = _sync(client)
    assert series["id"] not in {m["id"] for m in masters} and singles[1]["id"] not in {m["id"] for m in masters}
    with_deleted, _, _ = _sync(client, showDeleted="true")
    assert {m["id"]: m["status"] for m in with_deleted}[series["id"]] == "cancelled"


def test_series_without_single_events_and_time_windows(google, settings, email):
    client = _api(google, _connect(google, settings, email))
    series = _dev_event(google, email, summary="Weekly", start=_iso(_at(7, 14)), end=_iso(_at(7, 15)),
                        recurrence="RRULE:FREQ=WEEKLY;COUNT=4")
    single = _dev_event(google, email, summary="Late", start=_iso(_at(60, 9)), end=_iso(_at(60, 10)))

    masters, _, _ = _sync(client)
    master = {m["id"]: m for m in masters}[series["id"]]
    assert master["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"] and "recurringEventId" not in master

    window = {"timeMin": _iso(_at(13, 0)), "timeMax": _iso(_at(22, 0)), "singleEvents": "true",
              "orderBy": "startTime"}
    items, _, _ = _sync(client, **window)
    assert [i["start"]["dateTime"] for i in items] == [_at(d, 14).strftime("%Y-%m-%dT%H:%M:%SZ") for d in (14, 21)]
    later, _, _ = _sync(client, timeMin=_iso(_at(50, 0)), singleEvents="true", orderBy="startTime")
    assert [i["id"] for i in later] == [single["id"]]

    assert _error(client.get("/calendars/primary/events", params={"orderBy": "startTime"}))[0] == 400
    assert _error(client.get("/calendars/primary/events", params={
        "timeMin": _iso(_at(5, 0)), "timeMax": _iso(_at(4, 0))})) == (400, "timeRangeEmpty")
    assert _error(client.get("/calendars/primary/events", params={"timeMin": "2030-01-01"}))[0] == 400
    assert _error(client.get("/calendars/primary/events", params={"maxResults": "0"}))[0] == 400

    found = client.get(f"/calendars/primary/events/{series['id']}_{_at(14, 14).strftime('%Y%m%dT%H%M%SZ')}")
    assert found.status_code == 200 and found.json()["recurringEventId"] == series["id"]


def test_series_keep_their_wall_clock_time_across_dst(google, settings, email):
    client = _api(google, _connect(google, settings, email))
    berlin = ZoneInfo("Europe/Berlin")
    start = _at(1, 0).astimezone(berlin).replace(hour=9)
    series = client.post("/calendars/primary/events", json={
        "summary": "Weekly review", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=30"],
        "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "Europe/Berlin"}}).json()
    items, _, _ = _sync(client, singleEvents="true", orderBy="startTime")
    starts = [datetime.fromisoformat(i["start"]["dateTime"]) for i in items]
    assert len(starts) == 30 and {moment.astimezone(berlin).hour for moment in starts} == {9}
    assert len({moment.utcoffset() for moment in starts}) == 2, "thirty weeks cross a DST change"
    assert [i["id"] for i in items] == [
        f"{series['id']}_{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}" for moment in starts]


def test_private_extended_property_filter(google, settings, email):
    client = _api(google, _connect(google, settings, email))
    times = {"start": {"dateTime": _iso(_at(2, 9))}, "end": {"dateTime": _iso(_at(2, 10))}}
    ours = client.post("/calendars/primary/events", json={
        **times, "extendedProperties": {"private": {"consultioCallId": "c-1"}}}).json()
    client.post("/calendars/primary/events", json=times)
    found = client.get("/calendars/primary/events", params={"privateExtendedProperty": "consultioCallId=c-1"})
    assert [e["id"] for e in found.json()["items"]] == [ours["id"]]


def test_sync_tokens_that_cannot_be_used(google, settings, email):
    client = _api(google, _connect(google, settings, email))
    _dev_event(google, email, summary="One", start=_iso(_at(1, 9)), end=_iso(_at(1, 10)))
    _, token, _ = _sync(client, singleEvents="true")

    restricted = client.get("/calendars/primary/events", params={"syncToken": token, "timeMin": _iso(_at(0, 0))})
    assert restricted.status_code == 400
    assert restricted.json()["error"]["message"] == "Sync token cannot be used with other request restrictions."
    assert client.get("/calendars/primary/events", params={"syncToken": token, "orderBy": "updated"}).status_code == 400

    garbage = client.get("/calendars/primary/events", params={"syncToken": "CPDAlvWDx70CEPDAlvWDx70CGAU="})
    assert _error(garbage) == (410, "fullSyncRequired")
    assert garbage.json()["error"]["errors"][0]["domain"] == "calendar"

    other = httpx.post(f"{google}/dev/calendars", json={"account_email": email, "name": "Other"}).json()["id"]
    assert _error(client.get(f"/calendars/{other}/events", params={"syncToken": token})) == (410, "fullSyncRequired")

    assert client.get("/calendars/primary/events", params={"syncToken": token}).status_code == 200
    assert httpx.post(f"{google}/dev/invalidate-sync", json={"account_email": email}).status_code == 200
    assert _error(client.get("/calendars/primary/events", params={"syncToken": token})) == (410, "fullSyncRequired")
    _, fresh, _ = _sync(client, singleEvents="true")
    assert client.get("/calendars/primary/events", params={"syncToken": fresh}).status_code == 200


# --- faults ---------------------------------------------------------------------------------------


def test_injected_faults_fail_the_next_calls_with_googles_errors(google, settings, email):
    tokens = _connect(google, settings, email)
    client = _api(google, tokens)
    assert httpx.post(f"{google}/dev/faults", json={"account_email": email, "status": 429, "count": 2,
                                                   "retry_after": 7}).status_code == 201
    for _ in range(2):
        limited = client.get("/users/me/calendarList")
        assert _error(limited) == (429, "rateLimitExceeded") and limited.headers["Retry-After"] == "7"
    assert client.get("/users/me/calendarList").status_code == 200

    httpx.post(f"{google}/dev/faults", json={"account_email": email, "status": 503, "retry_after": 2})
    unavailable = _refresh(google, settings, tokens["refresh_token"])
    assert unavailable.status_code == 503 and unavailable.json()["error"] == "temporarily_unavailable"
    assert _refresh(google, settings, tokens["refresh_token"]).status_code == 200

    httpx.post(f"{google}/dev/faults", json={"account_email": email, "status": 500})
    assert _error(client.get("/calendars/primary/events")) == (500, "backendError")

    # Another account's fault leaves this one alone.
    httpx.post(f"{google}/dev/faults", json={"account_email": f"x-{email}", "status": 500})
    assert client.get("/calendars/primary/events").status_code == 200
    assert httpx.post(f"{google}/dev/faults", json={"status": 418}).status_code == 400
    assert httpx.delete(f"{google}/dev/faults", params={"account_email": f"x-{email}"}).json() == {"cleared": 1}


# --- push notifications ---------------------------------------------------------------------------


def test_watch_sends_sync_then_a_notification_per_change_until_stopped(google, settings, email, receiver):
    client = _api(google, _connect(google, settings, email))
    channel_id = str(uuid.uuid4())
    watched = client.post("/calendars/primary/events/watch", json={
        "id": channel_id, "type": "web_hook", "address": receiver.url, "token": "tenant=alpha",
        "params": {"ttl": "3600"}})
    assert watched.status_code == 200, watched.text
    channel = watched.json()
    assert channel["kind"] == "api#channel" and channel["id"] == channel_id and channel["resourceId"]
    assert channel["token"] == "tenant=alpha" and channel["resourceUri"].endswith("/calendars/primary/events?alt=json")
    expires_ms = int(channel["expiration"])
    assert abs(expires_ms / 1000 - (datetime.now(UTC) + timedelta(hours=1)).timestamp()) < 60

    assert len(receiver.received) == 1
    sync = receiver.received[0]
    assert sync["path"] == "/webhooks/google-calendar" and sync["body"] == b""
    headers = {k.lower(): v for k, v in sync["headers"].items()}
    assert headers["x-goog-channel-id"] == channel_id and headers["x-goog-channel-token"] == "tenant=alpha"
    assert headers["x-goog-resource-id"] == channel["resourceId"]
    assert headers["x-goog-resource-uri"] == channel["resourceUri"]
    assert (headers["x-goog-resource-state"], headers["x-goog-message-number"]) == ("sync", "1")
    assert headers["x-goog-channel-expiration"].endswith(" GMT")

    _dev_event(google, email, summary="Dentist", start=_iso(_at(2, 9)), end=_iso(_at(2, 10)))
    client.post("/calendars/primary/events", json={"start": {"dateTime": _iso(_at(3, 9))},
                                                   "end": {"dateTime": _iso(_at(3, 10))}})
    states = [({k.lower(): v for k, v in r["headers"].items()}) for r in receiver.received[1:]]
    assert [(h["x-goog-resource-state"], h["x-goog-message-number"]) for h in states] == [("exists", "2"),
                                                                                           ("exists", "3")]

    duplicate = client.post("/calendars/primary/events/watch", json={
        "id": channel_id, "type": "web_hook", "address": receiver.url})
    assert _error(duplicate) == (400, "channelIdNotUnique")

    wrong = client.post("/channels/stop", json={"id": channel_id, "resourceId": "not-it"})
    assert _error(wrong) == (404, "notFound")
    assert client.post("/channels/stop", json={"id": channel_id, "resourceId": channel["resourceId"]}
                       ).status_code == 204
    _dev_event(google, email, summary="After stop", start=_iso(_at(4, 9)), end=_iso(_at(4, 10)))
    assert len(receiver.received) == 3
    assert _error(client.post("/channels/stop", json={"id": channel_id, "resourceId": channel["resourceId"]})) == (
        404, "notFound")

    listed = httpx.get(f"{google}/dev/channels", params={"account_email": email}).json()["items"]
    assert [(c["id"], c["calendar"], c["address"], c["stopped"]) for c in listed] == [
        (channel_id, email, receiver.url, True)]
    assert datetime.fromisoformat(listed[0]["expires_at"]).timestamp() == pytest.approx(expires_ms / 1000, abs=1)


def test_channel_lifetime_defaults_to_a_week_and_is_capped(google, settings, email, receiver):
    client = _api(google, _connect(google, settings, email))
    week = client.post("/calendars/primary/events/watch", json={
        "id": str(uuid.uuid4()), "type": "web_hook", "address": receiver.url}).json()
    assert int(week["expiration"]) / 1000 == pytest.approx((datetime.now(UTC) + timedelta(days=7)).timestamp(),
                                                           abs=60)
    capped = client.post("/calendars/primary/events/watch", json={
        "id": str(uuid.uuid4()), "type": "web_hook", "address": receiver.url,
        "params": {"ttl": str(90 * 86400)}}).json()
    assert int(capped["expiration"]) / 1000 == pytest.approx((datetime.now(UTC) + timedelta(days=30)).timestamp(),
                                                             abs=60)
    assert "token" not in week
    assert _error(client.post("/calendars/primary/events/watch", json={
        "id": str(uuid.uuid4()), "type": "carrier_pigeon", "address": receiver.url}))[0] == 400


# --- dev helpers ----------------------------------------------------------------------------------


def test_dev_events_act_as_the_owner(google, settings, email):
    client = _api(google, _connect(google, settings, email))
    work = httpx.post(f"{google}/dev/calendars", json={"account_email": email, "name": "Work"}).json()["id"]
    declined = _dev_event(google, email, summary="Invite", start=_iso(_at(2, 9)), end=_iso(_at(2, 10)),
                          declined=True)
    me = [a for a in declined["attendees"] if a.get("self")]
    assert me == [{"email": email, "responseStatus": "declined", "self": True}]
    assert declined["organizer"]["email"] != email
    free = _dev_event(google, email, calendar=work, summary="Focus", start=_iso(_at(2, 11)), end=_iso(_at(2, 12)),
                      transparent=True)
    assert free["transparency"] == "transparent" and free["organizer"]["email"] == work
    cancelled = _dev_event(google, email, summary="Called off", start=_iso(_at(2, 13)), end=_iso(_at(2, 14)),
                           cancelled=True)
    assert cancelled["status"] == "cancelled"
    via_api = client.post("/calendars/primary/events", json={"summary": "From the product",
                                                             "start": {"dateTime": _iso(_at(1, 9))},
                                                             "end": {"dateTime": _iso(_at(1, 10))}}).json()

    listed = httpx.get(f"{google}/dev/events", params={"account_email": email}).json()["items"]
    assert [e["id"] for e in listed] == [via_api["id"], declined["id"], free["id"]]
    work_items, _, _ = _sync(client, calendar=work)
    assert [e["id"] for e in work_items] == [free["id"]]

    moved = httpx.patch(f"{google}/dev/events/{free['id']}", json={"transparent": False, "summary": "Focus!",
                                                                    "all_day": True, "start": "2031-02-03",
                                                                    "end": "2031-02-04"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"] == {"date": "2031-02-03"} and "transparency" not in moved.json()
    assert moved.json()["summary"] == "Focus!"

    assert httpx.delete(f"{google}/dev/events/{via_api['id']}").status_code == 204
    assert httpx.delete(f"{google}/dev/events/{via_api['id']}").status_code == 404
    assert httpx.patch(f"{google}/dev/events/nothing00000", json={"summary": "x"}).status_code == 404
    assert httpx.get(f"{google}/dev/events", params={"account_email": "nobody-" + email}).json() == {"items": []}


@pytest.mark.parametrize("body", [
    {"summary": "No times"},
    {"start": "2031-01-01T10:00:00", "end": "2031-01-01T11:00:00"},
    {"start": "2031-01-01", "end": "2031-01-02"},
    {"all_day": True, "start": "2031-01-01T10:00:00+00:00", "end": "2031-01-02"},
    {"start": "2031-01-01T11:00:00+00:00", "end": "2031-01-01T10:00:00+00:00"},
    {"start": "2031-01-01T10:00:00+00:00", "end": "2031-01-01T11:00:00+00:00", "recurrence": "FREQ=DAILY"},
    {"start": "2031-01-01T10:00:00+00:00", "end": "2031-01-01T11:00:00+00:00", "calendar": "unknown@example.com"},
    {"start": "2031-01-01T10:00:00+00:00", "end": "2031-01-01T11:00:00+00:00", "transparent": "yes"},
    {"start": "2031-01-01T10:00:00+00:00", "end": "2031-01-01T11:00:00+00:00", "colour": "red"},
])
def test_dev_events_refuse_bad_input_with_a_message(google, email, body):
    response = httpx.post(f"{google}/dev/events", json={"account_email": email, **body})
    assert response.status_code == 400 and response.json()["error"]


def test_dev_helpers_refuse_bad_input(google, email):
    assert httpx.post(f"{google}/dev/events", json={"start": "x"}).status_code == 400
    assert httpx.post(f"{google}/dev/events", content=b"[1]").status_code == 400
    assert httpx.post(f"{google}/dev/calendars", json={"account_email": email}).status_code == 400
    assert httpx.post(f"{google}/dev/expire-tokens", json={}).status_code == 400
    assert httpx.get(f"{google}/dev/channels").status_code == 400
    assert httpx.put(f"{google}/dev/events", json={}).status_code == 405
    start = TODAY.date() + timedelta(days=3)
    all_day = httpx.post(f"{google}/dev/events", json={"account_email": email, "all_day": True,
                                                        "start": start.isoformat(),
                                                        "end": (start + timedelta(days=1)).isoformat(),
                                                        "recurrence": "RRULE:FREQ=WEEKLY;COUNT=2"})
    assert all_day.status_code == 201 and all_day.json()["start"] == {"date": start.isoformat()}
