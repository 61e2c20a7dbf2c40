"""The room's WebSocket: signalling between browsers, chat, hands and moderation.

Every message a browser sends is checked here (shape, size, who may send it) before anything
is stored or relayed; the work itself is in ``video.room``."""

from __future__ import annotations

import contextlib
import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone
from django_tenants.utils import schema_context

from core.exceptions import ApplicationError, InvalidInput, NotFound, parse_public_id
from video import room
from video.access import call_by_public_id, entry_for_key, room_token_read
from video.live import room_group
from video.room import chat_out, peer_out

logger = logging.getLogger(__name__)

MAX_FRAME = 100_000  # an SDP offer is a few kB; nothing a room sends comes near this
MODERATION = {"mute", "camera_off", "stop_screen", "lower_hands", "remove"}

# Close codes the room page understands.
CLOSE_RETRY = 4401  # token expired or invalid: fetch a fresh one and reconnect
CLOSE_REFUSED = 4403  # not allowed in (removed, canceled, over, full, not yours): say why, stay out
CLOSE_NOT_FOUND = 4404
CLOSE_REPLACED = 4409  # the same person connected again elsewhere


@database_sync_to_async
def in_schema(schema_name: str, fn, /, *args, **kwargs):
    with schema_context(schema_name):
        return fn(*args, **kwargs)


def _join(schema_name: str, call_id: str, token: str, channel_name: str) -> dict:
    now = timezone.now()
    call = call_by_public_id(call_id)
    key = room_token_read(token, schema_name=schema_name, call_id=str(call.public_id))
    entry = entry_for_key(call=call, person_key=key, now=now)
    joined = room.room_join(entry=entry, channel_name=channel_name, now=now)
    me = joined.attendance
    return {
        "call_pk": call.pk, "call_public_id": call.public_id, "peer": me.peer_id, "is_host": entry.is_host,
        "replaced": [(row.channel_name, row.peer_id, row.person_key) for row in joined.replaced],
        "gone": [(row.channel_name, row.peer_id, row.person_key) for row in joined.gone],
        "welcome": {"type": "welcome", "you": peer_out(me), "peers": [peer_out(a) for a in joined.peers],
                    "chat": [chat_out(m) for m in joined.chat],
                    "host_present": any(a.is_host for a in joined.peers)},
    }


def _bool(message: dict, name: str) -> bool:
    value = message.get(name)
    if not isinstance(value, bool):
        raise InvalidInput(f"“{name}” must be true or false.")
    return value


def _signal_data(data) -> dict:
    """An SDP description or an ICE candidate, nothing else."""
    if not isinstance(data, dict) or not (set(data) <= {"description", "candidate"}) or not data:
        raise InvalidInput("A signal carries a description or a candidate.")
    description = data.get("description")
    if description is not None and (not isinstance(description, dict)
                                    or description.get("type") not in ("offer", "answer", "rollback")
                                    or not isinstance(description.get("sdp", ""), str)):
        raise InvalidInput("That description is not an offer or an answer.")
    candidate = data.get("candidate")
    if candidate is not None and not isinstance(candidate, dict):
        raise InvalidInput("That candidate is not valid.")
    return data


class RoomConsumer(AsyncJsonWebsocketConsumer):
    peer: str | None = None
    group: str | None = None

    async def connect(self) -> None:
        self.schema_name = self.scope["schema_name"]
        self.call_id = self.scope["url_route"]["kwargs"]["call_id"]
        token = parse_qs(self.scope.get("query_string", b"").decode()).get("token", [""])[0]
        await self.accept()
        try:
            # In the group before the join is recorded: a join happening at the same moment on
            # another server is then either in our welcome or announced to us, never neither.
            self.group = room_group(self.schema_name, parse_public_id(self.call_id))
            await self.channel_layer.group_add(self.group, self.channel_name)
            joined = await in_schema(self.schema_name, _join, self.schema_name, self.call_id, token,
                                     self.channel_name)
        except ApplicationError as exc:
            if self.group:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            code = CLOSE_NOT_FOUND if isinstance(exc, NotFound) else (
                CLOSE_RETRY if exc.code in ("token_expired", "token_invalid") else CLOSE_REFUSED)
            await self.send_json({"type": "refused", "reason": getattr(exc, "reason", exc.code),
                                  "message": exc.message})
            await self.close(code=code)
            return
        self.peer, self.is_host, self.call_pk = joined["peer"], joined["is_host"], joined["call_pk"]
        kicks = [(joined["replaced"], CLOSE_REPLACED, "replaced", "You joined this call from another window."),
                 (joined["gone"], CLOSE_RETRY, "reconnect", "Your connection went quiet; reconnecting.")]
        for rows, code, kind, text in kicks:
            for channel_name, peer_id, key in rows:
                await self.channel_layer.send(channel_name, {
                    "type": "room.kick", "code": code, "message": {"type": kind, "message": text}})
                await self._broadcast({"type": "peer_left", "peer": peer_id, "key": key})
        await self.send_json(joined["welcome"])
        await self._broadcast({"type": "peer_joined", "peer": joined["welcome"]["you"]}, exclude=self.peer)

    async def disconnect(self, code) -> None:
        await self._left()

    async def _left(self) -> None:
        if self.peer is None:
            return
        peer, self.peer = self.peer, None
        left = await in_schema(self.schema_name, room.room_leave, peer_id=peer, now=timezone.now())
        await self.channel_layer.group_discard(self.group, self.channel_name)
        if left is not None:
            await self._broadcast({"type": "peer_left", "peer": peer, "key": left.person_key})

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if self.peer is None:
            return
        if text_data is None or len(text_data) > MAX_FRAME:
            await self._error("invalid", "Messages are JSON text of at most 100 kB.")
            return
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            await self._error("invalid", "That was not JSON.")
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self._error("invalid", "Each message is an object with a “type”.")
            return
        handler = getattr(self, f"on_{message['type']}", None)
        if handler is None:
            await self._error("invalid", f"Unknown message type “{message['type'][:40]}”.")
            return
        try:
            await handler(message)
        except ApplicationError as exc:
            await self._error(exc.code, exc.message, about=message["type"])
        except Exception:  # noqa: BLE001 - one bad message must not end the person's call
            logger.exception("Room message failed: %s", message.get("type"))
            await self._error("error", "That could not be done; try again.", about=message["type"])

    # --- what browsers send ----------------------------------------------------------

    async def on_ping(self, message: dict) -> None:
        alive = await in_schema(self.schema_name, room.peer_seen, peer_id=self.peer, now=timezone.now())
        if not alive:  # closed as gone meanwhile: come back in with a fresh connection
            self.peer = None
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=CLOSE_RETRY)
            return
        await self.send_json({"type": "pong"})

    async def on_signal(self, message: dict) -> None:
        data = _signal_data(message.get("data"))
        target = await in_schema(self.schema_name, room.peer_in_call, call_id=self.call_pk, peer_id=message.get("to"))
        await self.channel_layer.send(target.channel_name, {
            "type": "room.direct", "message": {"type": "signal", "from": self.peer, "data": data}})

    async def on_media(self, message: dict) -> None:
        state = {name: _bool(message, name) for name in ("mic", "cam", "screen")}
        attendance = await in_schema(self.schema_name, room.media_set, peer_id=self.peer, **state)
        await self._broadcast({"type": "peer_updated", "peer": await self._out(attendance)})

    async def on_hand(self, message: dict) -> None:
        attendance = await in_schema(self.schema_name, room.hand_set, peer_id=self.peer,
                                     raised=_bool(message, "raised"), now=timezone.now())
        await self._broadcast({"type": "peer_updated", "peer": await self._out(attendance)})

    async def on_chat(self, message: dict) -> None:
        posted = await in_schema(self.schema_name, room.chat_post, peer_id=self.peer, text=message.get("text"))
        await self._broadcast({"type": "chat", "message": await in_schema(self.schema_name, chat_out, posted)})

    async def on_moderate(self, message: dict) -> None:
        action, target = message.get("action"), message.get("target")
        if not isinstance(action, str) or action not in MODERATION:
            raise InvalidInput("Unknown moderation action.")
        if action == "lower_hands":
            people = await in_schema(self.schema_name, room.hands_lower, host_peer_id=self.peer)
            await self._broadcast({"type": "peers", "peers": await self._out_all(people)})
            return
        if not isinstance(target, str) or not target:
            raise InvalidInput("Say whom this is for.")
        if action == "remove":
            closing = await in_schema(self.schema_name, room.participant_remove, host_peer_id=self.peer,
                                      target=target, now=timezone.now())
            for attendance in closing:
                await self.channel_layer.send(attendance.channel_name, {
                    "type": "room.kick", "code": CLOSE_REFUSED,
                    "message": {"type": "removed", "message": "The host removed you from this call."}})
                await self._broadcast({"type": "peer_left", "peer": attendance.peer_id})
            return
        targets = await in_schema(self.schema_name, room.moderate_media, host_peer_id=self.peer, action=action,
                                  target=target)
        for attendance in targets:
            await self.channel_layer.send(attendance.channel_name, {
                "type": "room.direct", "message": {"type": "moderation", "action": action}})
            await self._broadcast({"type": "peer_updated", "peer": await self._out(attendance)})

    async def on_leave(self, message: dict) -> None:
        """Leaving on purpose: recorded and told at once, whatever the transport does next."""
        await self._left()
        with contextlib.suppress(OSError):  # the page closes its side right after saying goodbye
            await self.close(code=1000)

    # --- what the channel layer delivers -------------------------------------------------

    async def room_broadcast(self, event: dict) -> None:
        if event.get("exclude") != self.peer:
            await self.send_json(event["message"])

    async def room_direct(self, event: dict) -> None:
        await self.send_json(event["message"])

    async def room_kick(self, event: dict) -> None:
        await self.send_json(event["message"])
        if self.peer is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        self.peer = None  # already closed in the database
        await self.close(code=event["code"])

    # --- helpers --------------------------------------------------------------------------

    async def _broadcast(self, message: dict, *, exclude: str | None = None) -> None:
        await self.channel_layer.group_send(self.group, {"type": "room.broadcast", "message": message,
                                                         "exclude": exclude})

    async def _error(self, code: str, text: str, *, about: str = "") -> None:
        """``about``: the type of the message refused (the page ignores refused signals: they
        race people leaving)."""
        await self.send_json({"type": "error", "code": code, "message": text, "about": about})

    async def _out(self, attendance) -> dict:
        return await in_schema(self.schema_name, peer_out, attendance)

    async def _out_all(self, people) -> list[dict]:
        return await in_schema(self.schema_name, lambda: [peer_out(a) for a in people])
