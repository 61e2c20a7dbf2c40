"""A tenant that chose Zoom: the room opens the Zoom session once, through the REST API (the
emulator, over real HTTP), and hands each person their own Video SDK JWT."""

from __future__ import annotations

import re
import socket

import httpx
import jwt
import pytest
from django_tenants.utils import schema_context

from tests.video_support import call_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def zoom_tenant(settings, live_server_url, tenant_alpha, alpha_host):
    from video.access import video_settings

    settings.ZOOM_EMULATED = settings.ZOOM_SANDBOX = True
    settings.ZOOM_VIDEO_SDK_KEY = settings.ZOOM_VIDEO_SDK_SECRET = settings.ZOOM_API_KEY = ""
    settings.ZOOM_API_BASE = f"{live_server_url}/sandbox/zoom/v2"
    httpx.delete(f"{live_server_url}/sandbox/zoom/faults")
    with schema_context(tenant_alpha.schema_name):
        rules = video_settings()
        rules.provider = "zoom"
        rules.save()
    return call_now(tenant_alpha.schema_name, alpha_host)


def _media(response) -> dict:
    import json

    return json.loads(re.search(r'id="room-config" type="application/json">(.*?)</script>',
                                response.content.decode(), re.S).group(1))["media"]


def test_the_zoom_session_is_created_once_and_each_person_gets_their_token(client, zoom_tenant, zoom_sdk, login):
    from video.models import Room
    from video.providers.zoom import EMULATOR_SDK_SECRET

    live = zoom_tenant
    client.get(f"/calls/{live.public_id}/room/?token={live.clients[0].token}", HTTP_HOST=live.host)
    media = _media(client.get(f"/calls/{live.public_id}/room/", HTTP_HOST=live.host))
    assert media["provider"] == "zoom" and media["topic"] == live.public_id
    claims = jwt.decode(media["signature"], EMULATOR_SDK_SECRET, algorithms=["HS256"])
    assert claims["tpc"] == live.public_id and claims["role_type"] == 0
    with schema_context(live.schema):
        room = Room.objects.get(call_id=live.pk)
        assert room.provider == "zoom" and room.provider_session_id

    host = client.__class__()
    login(host, live.host, live.host_email, live.host_password)
    media = _media(host.get(f"/calls/{live.public_id}/room/", HTTP_HOST=live.host))
    assert jwt.decode(media["signature"], EMULATOR_SDK_SECRET, algorithms=["HS256"])["role_type"] == 1
    assert media["session_id"] == room.provider_session_id
    with schema_context(live.schema):
        assert Room.objects.filter(call_id=live.pk).count() == 1


def test_without_the_browser_sdk_the_room_says_so(client, zoom_tenant, settings, tmp_path):
    settings.STATICFILES_DIRS = [tmp_path]  # static files without the fetched SDK
    live = zoom_tenant
    client.get(f"/calls/{live.public_id}/room/?token={live.clients[0].token}", HTTP_HOST=live.host)
    response = client.get(f"/calls/{live.public_id}/room/", HTTP_HOST=live.host)
    assert response.status_code == 503
    assert "The Zoom Video SDK is not installed on this server" in response.content.decode()


def test_when_zoom_cannot_be_reached_the_room_asks_to_try_again(client, zoom_tenant, zoom_sdk, settings):
    from video.models import Room

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.ZOOM_API_BASE = f"http://127.0.0.1:{port}/v2"  # nothing listens there
    live = zoom_tenant
    client.get(f"/calls/{live.public_id}/room/?token={live.clients[0].token}", HTTP_HOST=live.host)
    response = client.get(f"/calls/{live.public_id}/room/", HTTP_HOST=live.host)
    assert response.status_code == 503
    assert "The video provider cannot be reached." in response.content.decode()
    with schema_context(live.schema):
        assert not Room.objects.filter(call_id=live.pk).exists()
