"""The room's pages: who gets in (and the clear page for who does not), room tokens, chat
files, ratings, the links that lead to the room, and the owner's video settings."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.video_support import call_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(tenant_alpha, alpha_host):
    return call_now(tenant_alpha.schema_name, alpha_host)


def _config(response) -> dict:
    match = re.search(r'<script id="room-config" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, "the room page carries its configuration"
    return json.loads(match.group(1))


def _enter(client, live, token: str | None = None):
    token = token or live.clients[0].token
    first = client.get(f"/calls/{live.public_id}/room/?token={token}", HTTP_HOST=live.host)
    assert first.status_code == 302 and first["Location"] == f"/calls/{live.public_id}/room/"
    return client.get(first["Location"], HTTP_HOST=live.host)


def test_a_client_enters_with_the_link_from_their_email(client, live):
    from video.access import room_token_read

    response = _enter(client, live)
    assert response.status_code == 200
    config = _config(response)
    assert config["you"] == {"key": live.clients[0].public_id, "name": live.clients[0].name, "is_host": False}
    assert config["media"]["provider"] == "webrtc" and config["media"]["max_people"] == 6
    assert config["socket_path"] == f"/ws/calls/{live.public_id}/room/"
    with schema_context(live.schema):
        assert room_token_read(config["token"], schema_name=live.schema,
                               call_id=live.public_id) == live.clients[0].public_id
    # The address bar no longer carries the token; a reload still works.
    assert client.get(f"/calls/{live.public_id}/room/", HTTP_HOST=live.host).status_code == 200
    fresh = client.post(f"/calls/{live.public_id}/room/token/", HTTP_HOST=live.host)
    assert fresh.status_code == 200 and fresh.json()["token"]


def test_the_host_enters_signed_in_and_nobody_else_does(client, live, login, tenant_alpha, make_member):
    from conftest import ALPHA_OWNER_PASSWORD

    url = f"/calls/{live.public_id}/room/"
    anonymous = client.get(url, HTTP_HOST=live.host)
    assert anonymous.status_code == 403
    assert "This call is not yours" in anonymous.content.decode() and "Sign in" in anonymous.content.decode()
    assert client.post(f"{url}token/", HTTP_HOST=live.host).status_code == 403

    bad = client.get(f"{url}?token=not-the-token", HTTP_HOST=live.host)
    assert bad.status_code == 403 and "This link is not valid for this call." in bad.content.decode()

    login(client, live.host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)  # the owner, not this call's host
    assert client.get(url, HTTP_HOST=live.host).status_code == 403
    client.logout()
    login(client, live.host, live.host_email, live.host_password)
    response = client.get(url, HTTP_HOST=live.host)
    assert response.status_code == 200 and _config(response)["you"]["is_host"] is True


def test_unknown_and_foreign_calls_are_not_found(client, live, beta_host):
    assert client.get(f"/calls/{live.public_id}/room/?token={live.clients[0].token}",
                      HTTP_HOST=beta_host).status_code == 404
    assert client.get("/calls/not-a-uuid/room/", HTTP_HOST=live.host).status_code == 404
    assert client.get("/calls/7d4f8a51-3c1e-4b8e-9a61-0f1d2e3c4b5a/room/", HTTP_HOST=live.host).status_code == 404


@pytest.mark.parametrize(("setup", "reason", "text"), [
    ({"starts_in": timedelta(hours=2)}, "early", "The room is not open yet."),
    ({"status": "canceled"}, "canceled", "This call was canceled."),
    ({"starts_in": -timedelta(hours=5)}, "over", "This call is over."),
    ({"client_status": "pending_payment"}, "unpaid", "Your booking is not paid yet"),
])
def test_a_clear_page_when_the_room_cannot_be_entered(client, tenant_alpha, alpha_host, setup, reason, text):
    live = call_now(tenant_alpha.schema_name, alpha_host, **setup)
    response = _enter(client, live)
    body = response.content.decode()
    assert response.status_code == 403 and f'data-reason="{reason}"' in body and text in body
    if reason == "early":
        assert "The room opens at" in body


def test_chat_files_are_kept_with_the_call_and_only_for_its_people(client, live, tenant_alpha, alpha_host, settings):
    from video.models import ChatMessage

    _enter(client, live)
    url = f"/calls/{live.public_id}/room/files/"
    sent = client.post(url, {"file": SimpleUploadedFile("notes.pdf", b"%PDF-1.4 agenda", "application/pdf")},
                       HTTP_HOST=live.host)
    assert sent.status_code == 201
    message = sent.json()
    assert message["file"]["name"] == "notes.pdf" and message["author"] == live.clients[0].name
    download = client.get(message["file"]["url"], HTTP_HOST=live.host)
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 agenda"
    assert download["Content-Disposition"].startswith("attachment")

    with schema_context(live.schema):
        stored = ChatMessage.objects.get(call_id=live.pk).file.name
    # Kept under a random name with no extension of its own, and never served as a plain media file.
    assert stored.startswith(f"calls/{live.public_id}/chat/") and stored.endswith(".bin")
    assert client.get(f"/media/{stored}", HTTP_HOST=live.host).status_code == 404

    too_big = SimpleUploadedFile("big.bin", b"0" * (10 * 1024 * 1024 + 1))
    refused = client.post(url, {"file": too_big}, HTTP_HOST=live.host)
    assert refused.status_code == 422 and "limit is 10 MB" in refused.json()["detail"]
    assert client.post(url, {}, HTTP_HOST=live.host).status_code == 422
    with schema_context(live.schema):
        assert ChatMessage.objects.filter(call_id=live.pk).count() == 1

    # Someone of another call (same tenant) can neither read nor send.
    other = call_now(tenant_alpha.schema_name, alpha_host)
    client.logout()
    _enter(client, other)
    assert client.get(message["file"]["url"], HTTP_HOST=live.host).status_code == 403
    assert client.post(url, {"file": SimpleUploadedFile("x.txt", b"x")}, HTTP_HOST=live.host).status_code == 403


def _attended(live, index: int = 0, *, host: bool = False) -> None:
    from video.models import Attendance

    with schema_context(live.schema):
        now = timezone.now()
        participant_id = None if host else live.clients[index].pk
        Attendance.objects.create(call_id=live.pk, participant_id=participant_id, peer_id=f"p{now.timestamp()}{index}",
                                  channel_name="x", name="someone", joined_at=now - timedelta(minutes=20),
                                  left_at=now - timedelta(minutes=1), seen_at=now)


def test_clients_who_came_rate_the_call_and_the_consultant_sees_it(client, live, login):
    url = f"/calls/{live.public_id}/rating/"
    _enter(client, live)
    json_headers = {"HTTP_HOST": live.host, "HTTP_ACCEPT": "application/json"}
    not_yet = client.post(url, {"score": "5"}, **json_headers)
    assert not_yet.status_code == 403 and not_yet.json()["detail"] == "You can rate a call once you have joined it."
    _attended(live)
    for bad in ("0", "6", "great", ""):
        refused = client.post(url, {"score": bad}, **json_headers)
        assert refused.status_code == 422 and refused.json()["detail"] == "Choose 1 to 5 stars."
    assert client.post(url, {"score": "4", "comment": "x" * 2001}, **json_headers).status_code == 422
    assert client.post(url, {"score": "4", "comment": "Clear advice."}, **json_headers).status_code == 200
    assert client.post(url, {"score": "5", "comment": "Very clear advice."}, **json_headers).status_code == 200
    with schema_context(live.schema):
        from video.models import CallRating

        assert list(CallRating.objects.filter(call_id=live.pk).values_list("score", "comment")) == [
            (5, "Very clear advice.")]

    client.logout()
    login(client, live.host, live.host_email, live.host_password)
    assert client.post(url, {"score": "1"}, **json_headers).status_code == 403  # hosts don't rate themselves
    detail = client.get(f"/calls/{live.public_id}/", HTTP_HOST=live.host).content.decode()
    assert "5★" in detail and "Very clear advice." in detail and "Attendance" in detail
    dashboard = client.get("/dashboard/", HTTP_HOST=live.host).content.decode()
    assert "5.0★" in dashboard and "Very clear advice." in dashboard


def test_the_ended_page_offers_the_rating_form_to_those_who_came(client, tenant_alpha, alpha_host):
    live = call_now(tenant_alpha.schema_name, alpha_host, starts_in=-timedelta(hours=5))
    _attended(live)
    page = _enter(client, live).content.decode()
    assert "How was your call?" in page
    sent = client.post(f"/calls/{live.public_id}/rating/", {"score": "3"}, HTTP_HOST=live.host)
    assert sent.status_code == 302
    assert "Your rating: 3★" in client.get(f"/calls/{live.public_id}/room/", HTTP_HOST=live.host).content.decode()


def test_links_lead_to_the_room(client, live, login, alpha_api, tenant_alpha):
    login(client, live.host, live.host_email, live.host_password)
    calls = client.get("/calls/?tab=active", HTTP_HOST=live.host).content.decode()
    assert f"/calls/{live.public_id}/room/" in calls
    manage = client.get(f"/bookings/{live.clients[0].public_id}/?token={live.clients[0].token}",
                        HTTP_HOST=live.host).content.decode()
    assert f"/calls/{live.public_id}/room/?token={live.clients[0].token}" in manage


def test_the_calls_api_gives_the_join_url(client, live, login):
    login(client, live.host, live.host_email, live.host_password)
    token = client.post("/api/v1/auth/token", {"email": live.host_email, "password": live.host_password},
                        content_type="application/json", HTTP_HOST=live.host).json()["access"]
    listed = client.get("/api/v1/me/calls?status=active", HTTP_HOST=live.host,
                        HTTP_AUTHORIZATION=f"Bearer {token}")
    assert listed.status_code == 200, listed.content
    item = next(i for i in listed.json()["items"] if i["id"] == live.public_id)
    from core.urls import host_url

    assert item["join_url"] == f"{host_url(live.host)}/calls/{live.public_id}/room/"


def test_only_the_owner_sets_the_room_rules(client, login, alpha_host, tenant_alpha, make_member):
    from conftest import ALPHA_OWNER_PASSWORD

    make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora Consultant")
    login(client, alpha_host, "cora@alpha.example")
    assert client.get("/settings/video/", HTTP_HOST=alpha_host).status_code == 403
    client.logout()
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    refused = client.post("/settings/video/", {"provider": "", "open_minutes_before": "500", "grace_minutes": "-1"},
                          HTTP_HOST=alpha_host)
    assert refused.status_code == 400
    assert "At most 120 minutes before the start." in refused.content.decode()
    saved = client.post("/settings/video/", {"provider": "", "open_minutes_before": "30", "grace_minutes": "5"},
                        HTTP_HOST=alpha_host)
    assert saved.status_code == 302
    from video.access import video_settings

    with schema_context(tenant_alpha.schema_name):
        rules = video_settings()
        assert (rules.open_minutes_before, rules.grace_minutes) == (30, 5)


def test_zoom_cannot_be_chosen_where_it_cannot_work(client, login, alpha_host, settings, tmp_path):
    from conftest import ALPHA_OWNER_PASSWORD

    settings.STATICFILES_DIRS = [tmp_path]  # no Zoom browser SDK here
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    refused = client.post("/settings/video/", {"provider": "zoom", "open_minutes_before": "10",
                                               "grace_minutes": "15"}, HTTP_HOST=alpha_host)
    assert refused.status_code == 400
    assert "The Zoom Video SDK is not installed on this server" in refused.content.decode()
