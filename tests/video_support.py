"""Helpers for the room tests: calls that are on now, with a host and clients, and WebSocket
clients that speak to the real ASGI application (tenant routing, Redis channel layer).

Sockets run their database work on connections of their own, so room tests use committed
data on a tenant of their own (see ``room_world``), removed afterwards."""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from channels.testing.websocket import WebsocketCommunicator
from django.utils import timezone
from django_tenants.utils import schema_context

_serial = itertools.count(1)


@dataclass
class Client:
    public_id: str
    name: str
    token: str  # the booking's manage token (what the join link carries)
    pk: int


@dataclass
class LiveCall:
    schema: str
    host: str  # the tenant's host name
    pk: int
    public_id: str
    host_email: str
    host_password: str
    clients: list[Client] = field(default_factory=list)


HOST_PASSWORD = "room-host-password-1"


def call_now(schema: str, host: str, *, clients: int = 1, seats: int = 1, starts_in: timedelta = -timedelta(minutes=1),
             minutes: int = 60, status: str = "confirmed", client_status: str = "confirmed",
             price: int = 0) -> LiveCall:
    """A call (with a consultant of its own, so calls never clash) that starts ``starts_in`` from now."""
    from accounts.models import User
    from booking.models import Call, CallParticipant, Offering
    from booking.services import manage_token_assign
    from consultants.services import profile_create

    n = next(_serial)
    start = timezone.now() + starts_in
    end = start + timedelta(minutes=minutes)
    with schema_context(schema):
        consultant = User.objects.create_user(email=f"host{n}-{secrets.token_hex(3)}@rooms.example",
                                              password=HOST_PASSWORD, full_name=f"Hannah Host {n}",
                                              role="consultant", email_verified_at=timezone.now())
        profile_create(user=consultant, time_zone="Europe/Kyiv")
        kind = "group" if clients > 1 else "individual"
        offering = Offering.objects.create(
            consultant=consultant, kind=kind, title=f"Session {n}", duration_minutes=minutes,
            price_amount=price, currency="EUR", start_at=start if kind == "group" else None,
            end_at=end if kind == "group" else None, capacity=clients * seats if kind == "group" else None)
        call = Call.objects.create(
            consultant=consultant, offering=offering, kind=kind, status=status, start_at=start, end_at=end,
            blocked_start=start, blocked_end=end, title=offering.title, duration_minutes=minutes,
            price_amount=price, currency="EUR", capacity=max(1, clients * seats),
            consultant_time_zone="Europe/Kyiv")
        live = LiveCall(schema=schema, host=host, pk=call.pk, public_id=str(call.public_id),
                        host_email=consultant.email, host_password=HOST_PASSWORD)
        for i in range(clients):
            participant = CallParticipant(
                call=call, status=client_status, name=f"Client {n}.{i + 1}", email=f"client{n}-{i}@rooms.example",
                seats=seats, unit_price_amount=price, price_amount=price * seats, currency="EUR",
                time_zone="America/New_York")
            token = manage_token_assign(participant)
            participant.save()
            live.clients.append(Client(public_id=str(participant.public_id), name=participant.name, token=token,
                                       pk=participant.pk))
    return live


def room_token(live: LiveCall, key: str = "host") -> str:
    """What the room page hands its socket, for the host (``"host"``) or a booking's public id
    (usable inside async scenarios too: the database work then runs in a thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _room_token(live, key)
    from concurrent.futures import ThreadPoolExecutor

    def in_thread() -> str:
        from django.db import connections

        try:
            return _room_token(live, key)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(in_thread).result()


def _room_token(live: LiveCall, key: str) -> str:
    from booking.models import Call, CallParticipant
    from video.access import Entry, room_token_issue

    with schema_context(live.schema):
        call = Call.objects.select_related("consultant").get(pk=live.pk)
        participant = None if key == "host" else CallParticipant.objects.get(public_id=key)
        return room_token_issue(Entry(call=call, participant=participant))


class Socket:
    """A browser's side of the room socket (use inside ``async`` test scenarios)."""

    def __init__(self, live: LiveCall, token: str, *, host: str | None = None, call_id: str | None = None):
        from config.asgi import application

        self.communicator = WebsocketCommunicator(
            application, f"/ws/calls/{call_id or live.public_id}/room/?token={token}",
            headers=[(b"host", (host or live.host).encode())])
        self.welcome: dict | None = None
        self.backlog: list[dict] = []

    async def join(self) -> dict:
        connected, _ = await self.communicator.connect(timeout=5)
        assert connected
        first = await self.next()
        if first["type"] == "welcome":
            self.welcome = first
        return first

    async def send(self, message: dict) -> None:
        await self.communicator.send_to(text_data=json.dumps(message))

    async def next(self, timeout: float = 5) -> dict:
        if self.backlog:
            return self.backlog.pop(0)
        return json.loads(await self.communicator.receive_from(timeout=timeout))

    async def expect(self, kind: str, timeout: float = 5) -> dict:
        """The next message of ``kind``, keeping the others for later."""
        for index, message in enumerate(self.backlog):
            if message["type"] == kind:
                return self.backlog.pop(index)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = json.loads(await self.communicator.receive_from(timeout=max(0.1, deadline - loop.time())))
            if message["type"] == kind:
                return message
            self.backlog.append(message)

    async def closed(self, timeout: float = 5) -> int:
        """Wait for the server to close the socket; its close code."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            output = await self.communicator.receive_output(timeout=max(0.1, deadline - loop.time()))
            if output["type"] == "websocket.close":
                return output.get("code", 1000)
            if output["type"] == "websocket.send":
                self.backlog.append(json.loads(output["text"]))

    async def silent(self, kind: str, wait: float = 0.5) -> bool:
        """True when no message of ``kind`` arrives within ``wait`` seconds. (Reads what is
        queued without waiting on it: a receive that times out would stop the application.)"""
        await asyncio.sleep(wait)
        queue = self.communicator.output_queue
        while not queue.empty():
            output = queue.get_nowait()
            if output["type"] == "websocket.send":
                self.backlog.append(json.loads(output["text"]))
        return not any(message["type"] == kind for message in self.backlog)

    async def leave(self) -> None:
        await self.communicator.disconnect(timeout=5)


def channel_layers_reset() -> None:
    """Forget the process's channel layer: it belongs to the event loop that made it, and a
    module that ran a server in another loop (the browser tests) leaves it bound there."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
