"""The room's WebSocket through the real ASGI application and Redis channel layer: signalling
relay, chat, hands, each moderation command, and who is kept out."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from django.db import connections
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.test_booking_concurrency import own_tenant_remove
from tests.video_support import Socket, call_now, channel_layers_reset, room_token

SLUG = "rooms"
HOST = f"{SLUG}.localhost"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """A tenant of these tests' own, committed (sockets use connections of their own)."""
    from tenants.services import tenant_provision

    channel_layers_reset()
    with django_db_blocker.unblock():
        tenant = tenant_provision(slug=SLUG, name="Rooms", owner_name="Olga Owner", owner_email="olga@rooms.example",
                                  owner_password="rooms-owner-pass-1", source="tests").tenant
        try:
            yield tenant.schema_name
        finally:
            connections.close_all()
            own_tenant_remove(tenant.pk)
            channel_layers_reset()


@pytest.fixture
def committed(world, django_db_blocker):
    with django_db_blocker.unblock():
        yield world


def run(scenario):
    """Each scenario runs in an event loop of its own, with a channel layer of its own (a Redis
    layer belongs to the loop that first used it)."""
    channel_layers_reset()
    try:
        async_to_sync(scenario)()
    finally:
        channel_layers_reset()


def test_signals_are_relayed_between_the_two_browsers(committed):
    live = call_now(committed, HOST)
    client = live.clients[0]

    async def scenario():
        host = Socket(live, room_token(live))
        guest = Socket(live, room_token(live, client.public_id))
        welcome = await host.join()
        assert welcome["type"] == "welcome" and welcome["you"]["is_host"]
        seen = await guest.join()
        assert seen["host_present"] is True
        assert [p["name"] for p in seen["peers"]] == [welcome["you"]["name"], client.name]
        joined = await host.expect("peer_joined")
        assert joined["peer"]["key"] == client.public_id and joined["peer"]["is_host"] is False

        offer = {"description": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}}
        await guest.send({"type": "signal", "to": welcome["you"]["peer"], "data": offer})
        relayed = await host.expect("signal")
        assert relayed == {"type": "signal", "from": seen["you"]["peer"], "data": offer}

        # Only offers, answers and candidates pass; nothing else reaches the other side.
        await guest.send({"type": "signal", "to": welcome["you"]["peer"], "data": {"description": {"type": "evil"}}})
        assert (await guest.expect("error"))["code"] == "invalid"
        await guest.send({"type": "signal", "to": "not-a-peer", "data": {"candidate": None}})
        assert (await guest.expect("error"))["code"] == "not_found"
        assert await host.silent("signal")

        await guest.leave()
        left = await host.expect("peer_left")
        assert left["peer"] == seen["you"]["peer"]
        await host.leave()

    run(scenario)
    from video.models import Attendance

    with schema_context(committed):
        stays = Attendance.objects.filter(call_id=live.pk)
        assert stays.count() == 2 and all(s.left_at is not None for s in stays)


def test_chat_reaches_everyone_and_is_kept_with_the_call(committed):
    live = call_now(committed, HOST)
    client = live.clients[0]

    async def scenario():
        host = Socket(live, room_token(live))
        guest = Socket(live, room_token(live, client.public_id))
        await host.join()
        await guest.join()
        await guest.send({"type": "chat", "text": "  Hello, can you hear me?  "})
        for socket in (host, guest):
            message = (await socket.expect("chat"))["message"]
            assert message["text"] == "Hello, can you hear me?" and message["author"] == client.name
        await guest.send({"type": "chat", "text": "   "})
        assert (await guest.expect("error"))["message"] == "Write a message first."
        await guest.send({"type": "chat", "text": "x" * 2001})
        assert "2000" in (await guest.expect("error"))["message"]
        await guest.send({"type": "nonsense"})
        assert (await guest.expect("error"))["code"] == "invalid"
        await guest.communicator.send_to(text_data="{not json")
        assert (await guest.expect("error"))["message"] == "That was not JSON."
        await host.leave()
        await guest.leave()
        # Someone arriving later sees the conversation.
        late = Socket(live, room_token(live))
        welcome = await late.join()
        assert [m["text"] for m in welcome["chat"]] == ["Hello, can you hear me?"]
        await late.leave()

    run(scenario)


def test_raised_hands_come_first_and_the_host_sees_them(committed):
    live = call_now(committed, HOST, clients=2)
    first, second = live.clients

    again_token = room_token(live)

    async def scenario():
        host = Socket(live, room_token(live))
        a = Socket(live, room_token(live, first.public_id))
        b = Socket(live, room_token(live, second.public_id))
        await host.join()
        await a.join()
        await b.join()
        await b.send({"type": "hand", "raised": True})
        update = await host.expect("peer_updated")
        assert update["peer"]["key"] == second.public_id and update["peer"]["hand_raised_at"]
        await b.send({"type": "hand", "raised": "yes"})
        assert (await b.expect("error"))["message"] == "“raised” must be true or false."
        # The list anyone gets puts raised hands first.
        again = Socket(live, again_token)
        welcome = await again.join()
        assert welcome["peers"][0]["key"] == second.public_id
        assert await host.expect("replaced") == {"type": "replaced",
                                                 "message": "You joined this call from another window."}
        assert await host.closed() == 4409
        await again.send({"type": "moderate", "action": "lower_hands"})
        peers = (await a.expect("peers"))["peers"]
        assert all(p["hand_raised_at"] is None for p in peers)
        for socket in (a, b, again):
            await socket.leave()

    run(scenario)


def test_host_mutes_stops_cameras_and_screens_of_one_or_everyone(committed):
    live = call_now(committed, HOST, clients=2)
    first, second = live.clients

    async def scenario():
        host = Socket(live, room_token(live))
        a = Socket(live, room_token(live, first.public_id))
        b = Socket(live, room_token(live, second.public_id))
        await host.join()
        a_peer = (await a.join())["you"]["peer"]
        await b.join()
        for socket in (a, b):
            await socket.send({"type": "media", "mic": True, "cam": True, "screen": True})
        await host.send({"type": "moderate", "action": "mute", "target": a_peer})
        assert await a.expect("moderation") == {"type": "moderation", "action": "mute"}
        assert await b.silent("moderation")
        muted = [m for m in [await host.expect("peer_updated") for _ in range(3)] if m["peer"]["peer"] == a_peer]
        assert muted[-1]["peer"]["mic"] is False

        await host.send({"type": "moderate", "action": "camera_off", "target": "all"})
        assert (await a.expect("moderation"))["action"] == "camera_off"
        assert (await b.expect("moderation"))["action"] == "camera_off"
        await host.send({"type": "moderate", "action": "stop_screen", "target": a_peer})
        assert (await a.expect("moderation"))["action"] == "stop_screen"
        await host.send({"type": "moderate", "action": "explode", "target": a_peer})
        assert (await host.expect("error"))["message"] == "Unknown moderation action."
        for socket in (host, a, b):
            await socket.leave()

    run(scenario)
    from video.models import Attendance

    with schema_context(committed):
        a_row = Attendance.objects.get(call_id=live.pk, participant_id=first.pk)
        b_row = Attendance.objects.get(call_id=live.pk, participant_id=second.pk)
        assert (a_row.mic_on, a_row.cam_on, a_row.screen_on) == (False, False, False)
        assert (b_row.mic_on, b_row.cam_on, b_row.screen_on) == (True, False, True)


def test_participants_cannot_moderate(committed):
    live = call_now(committed, HOST, clients=2)
    first, second = live.clients

    async def scenario():
        host = Socket(live, room_token(live))
        a = Socket(live, room_token(live, first.public_id))
        b = Socket(live, room_token(live, second.public_id))
        await host.join()
        await a.join()
        b_peer = (await b.join())["you"]["peer"]
        for action in ("mute", "remove", "lower_hands", "camera_off"):
            await a.send({"type": "moderate", "action": action, "target": b_peer})
            error = await a.expect("error")
            assert error == {"type": "error", "code": "forbidden", "message": "Only the host can do that.",
                             "about": "moderate"}
        assert await b.silent("moderation") and await b.silent("removed")
        for socket in (host, a, b):
            await socket.leave()

    run(scenario)
    from video.models import RoomRemoval

    with schema_context(committed):
        assert not RoomRemoval.objects.filter(call_id=live.pk).exists()


def test_a_removed_participant_is_put_out_and_kept_out(committed, client):
    live = call_now(committed, HOST, clients=2)
    first, _ = live.clients

    back_token = room_token(live, first.public_id)

    async def scenario():
        host = Socket(live, room_token(live))
        a = Socket(live, room_token(live, first.public_id))
        await host.join()
        a_peer = (await a.join())["you"]["peer"]
        await host.send({"type": "moderate", "action": "remove", "target": a_peer})
        assert await a.expect("removed") == {"type": "removed", "message": "The host removed you from this call."}
        assert await a.closed() == 4403
        assert (await host.expect("peer_left"))["peer"] == a_peer
        # Coming back with a fresh token does not work either.
        back = Socket(live, back_token)
        refusal = await back.join()
        assert refusal == {"type": "refused", "reason": "removed", "message": "The host removed you from this call."}
        assert await back.closed() == 4403
        await host.leave()

    run(scenario)
    # Nor does the join link.
    response = client.get(f"/calls/{live.public_id}/room/?token={first.token}", HTTP_HOST=HOST, follow=True)
    assert response.status_code == 403
    assert "The host removed you from this call." in response.content.decode()


@pytest.mark.parametrize(("setup", "reason"), [
    ({"starts_in": timedelta(hours=1)}, "early"),
    ({"status": "canceled"}, "canceled"),
    ({"client_status": "pending_payment"}, "unpaid"),
    ({"client_status": "canceled"}, "canceled"),
    ({"starts_in": -timedelta(hours=3)}, "over"),
])
def test_people_are_refused_outside_the_rules(committed, setup, reason):
    live = call_now(committed, HOST, **setup)

    async def scenario():
        guest = Socket(live, room_token(live, live.clients[0].public_id))
        refusal = await guest.join()
        assert refusal["type"] == "refused" and refusal["reason"] == reason
        assert await guest.closed() == 4403

    run(scenario)


def test_tokens_are_bound_to_the_call_the_tenant_and_time(committed, tenant_alpha):
    live = call_now(committed, HOST)
    other = call_now(committed, HOST)

    others, mine = room_token(other, other.clients[0].public_id), room_token(live)

    async def scenario():
        # Another call's token, for this call.
        socket = Socket(live, others)
        assert (await socket.join())["type"] == "refused"
        assert await socket.closed() == 4401
        # This tenant's call, reached through another tenant's host: no such call there.
        socket = Socket(live, mine, host="alpha.localhost")
        assert (await socket.join())["type"] == "refused"
        assert await socket.closed() == 4404
        # A forged token.
        socket = Socket(live, mine[:-3] + "abc")
        assert (await socket.join())["reason"] == "token_invalid"
        assert await socket.closed() == 4401

    run(scenario)
    # An old token (issued three minutes ago; they last two).
    with mock.patch("django.core.signing.time.time", return_value=timezone.now().timestamp() - 180):
        stale = room_token(live)

    async def expired():
        socket = Socket(live, stale)
        assert (await socket.join())["reason"] == "token_expired"
        assert await socket.closed() == 4401

    run(expired)


def test_unknown_hosts_get_no_socket(committed):
    live = call_now(committed, HOST)

    token = room_token(live)

    async def scenario():
        socket = Socket(live, token, host="nowhere.localhost")
        connected, _ = await socket.communicator.connect(timeout=5)
        assert connected is False

    run(scenario)


@pytest.mark.parametrize("host_first", [True, False])
def test_the_built_in_room_holds_a_limited_number_of_people(committed, settings, host_first):
    settings.VIDEO_MESH_MAX_PEOPLE = 3
    live = call_now(committed, HOST, clients=3)
    one, two, three = live.clients

    async def scenario():
        host = Socket(live, room_token(live))
        if host_first:
            assert (await host.join())["type"] == "welcome"
        sockets = [Socket(live, room_token(live, c.public_id)) for c in (one, two)]
        for socket in sockets:
            assert (await socket.join())["type"] == "welcome"
        # Three people with the host: the third client is one too many, whoever came first.
        third = Socket(live, room_token(live, three.public_id))
        refusal = await third.join()
        assert refusal["reason"] == "full" and "3 people" in refusal["message"]
        if not host_first:  # the place kept for the host
            assert (await host.join())["type"] == "welcome"
        for socket in [*sockets, host]:
            await socket.leave()

    run(scenario)


def test_bad_messages_are_refused_and_the_call_goes_on(committed):
    live = call_now(committed, HOST)

    async def scenario():
        host = Socket(live, room_token(live))
        await host.join()
        for bad in ({"type": "moderate", "action": [], "target": "x"}, {"type": "chat", "text": "a\u0000b"},
                    {"type": "media", "mic": 1, "cam": True, "screen": False}, {"type": ["chat"]}, [1, 2]):
            await host.send(bad)
            assert (await host.expect("error"))["type"] == "error"
        await host.communicator.send_to(text_data="[" * 50_000 + "]" * 50_000)
        assert (await host.expect("error"))["message"] in ("That was not JSON.",
                                                           "Messages are JSON text of at most 100 kB.")
        await host.send({"type": "chat", "text": "still here"})
        assert (await host.expect("chat"))["message"]["text"] == "still here"
        await host.leave()

    run(scenario)


def test_canceling_the_call_puts_everyone_out(committed):
    from asgiref.sync import sync_to_async

    from booking.services import call_cancel_by_host

    live = call_now(committed, HOST)

    def cancel():
        from accounts.models import User

        with schema_context(committed):
            call_cancel_by_host(consultant=User.objects.get(email=live.host_email), call_id=live.public_id,
                                reason="Ill today")

    async def scenario():
        host = Socket(live, room_token(live))
        guest = Socket(live, room_token(live, live.clients[0].public_id))
        await host.join()
        await guest.join()
        await sync_to_async(cancel)()
        for socket in (host, guest):
            assert await socket.expect("removed") == {"type": "removed", "message": "This call was canceled."}
            assert await socket.closed() == 4403

    run(scenario)


def test_a_connection_that_went_quiet_is_asked_to_reconnect(committed):
    from asgiref.sync import sync_to_async

    from video.models import Attendance

    live = call_now(committed, HOST)

    def go_quiet(peer: str) -> None:
        with schema_context(committed):
            Attendance.objects.filter(peer_id=peer).update(seen_at=timezone.now() - timedelta(minutes=5))

    async def scenario():
        host = Socket(live, room_token(live))
        quiet = (await host.join())["you"]["peer"]
        await sync_to_async(go_quiet)(quiet)
        guest = Socket(live, room_token(live, live.clients[0].public_id))
        welcome = await guest.join()
        assert [p["peer"] for p in welcome["peers"]] == [welcome["you"]["peer"]]
        assert (await host.expect("reconnect"))["type"] == "reconnect"
        assert await host.closed() == 4401  # the page fetches a new token and comes back
        await guest.leave()

    run(scenario)


def test_a_booking_with_two_seats_may_be_in_twice(committed):
    live = call_now(committed, HOST, clients=1, seats=2)
    booking = live.clients[0]

    async def scenario():
        first = Socket(live, room_token(live, booking.public_id))
        second = Socket(live, room_token(live, booking.public_id))
        third = Socket(live, room_token(live, booking.public_id))
        await first.join()
        await second.join()
        assert await first.silent("replaced")
        await third.join()
        assert (await first.expect("replaced"))["type"] == "replaced"
        assert await first.closed() == 4409
        await second.leave()
        await third.leave()

    run(scenario)


def test_leaving_tells_the_others(committed):
    live = call_now(committed, HOST)
    client = live.clients[0]

    async def scenario():
        host = Socket(live, room_token(live))
        guest = Socket(live, room_token(live, client.public_id))
        await host.join()
        guest_peer = (await guest.join())["you"]["peer"]
        await guest.send({"type": "leave"})
        assert await guest.closed() == 1000
        await guest.leave()
        assert (await host.expect("peer_left"))["peer"] == guest_peer
        await host.leave()

    run(scenario)


def test_leaving_when_the_page_has_already_closed_its_side_is_no_error(caplog):
    """The page says "leave" and closes its socket at once, so closing ours finds the browser
    gone (uvicorn raises an ``OSError``): the leave is recorded all the same, nothing is logged."""
    from video.consumers import RoomConsumer

    async def browser_gone(message):
        raise OSError("the client disconnected")

    consumer = RoomConsumer()
    consumer.peer = "peer-1"
    consumer.base_send = browser_gone
    with mock.patch.object(RoomConsumer, "_left", mock.AsyncMock()) as left, \
            caplog.at_level("ERROR", logger="video.consumers"):
        async_to_sync(consumer.receive)(text_data='{"type": "leave"}')
    left.assert_awaited_once()
    assert not caplog.records
