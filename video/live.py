"""Reaching the browsers in a room from anywhere (views, tasks) through the channel layer."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

from booking.models import Call


def room_group(schema_name: str, call_public_id) -> str:
    """The channel-layer group of a call's room (tenant-qualified: ids never meet across tenants)."""
    return f"room.{schema_name}.{call_public_id.hex}"


def room_broadcast(call: Call, message: dict) -> None:
    """Send ``message`` to every browser in the call's room (from synchronous code)."""
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(room_group(connection.schema_name, call.public_id),
                                    {"type": "room.broadcast", "message": message})
