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


def room_put_out(call: Call, message: str, *, participant_id: int | None = None) -> int:
    """Close the open stays of a call (or of one booking on it) and tell those browsers why
    (the page says so and does not reconnect). Returns how many connections were closed."""
    from django.utils import timezone

    from video.models import Attendance

    rows = Attendance.objects.select_related("participant").filter(call=call, left_at__isnull=True)
    if participant_id is not None:
        rows = rows.filter(participant_id=participant_id)
    closing = list(rows)
    if not closing:
        return 0
    Attendance.objects.filter(pk__in=[row.pk for row in closing]).update(left_at=timezone.now())
    layer = get_channel_layer()
    group = room_group(connection.schema_name, call.public_id)
    for row in closing:
        async_to_sync(layer.send)(row.channel_name, {"type": "room.kick", "code": 4403,
                                                     "message": {"type": "removed", "message": message}})
        async_to_sync(layer.group_send)(group, {"type": "room.broadcast", "message": {
            "type": "peer_left", "peer": row.peer_id, "key": row.person_key}})
    return len(closing)
