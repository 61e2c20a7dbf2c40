"""What the workspace shows of a call's room: who came and for how long, the chat, the ratings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from booking.models import Call
from video.models import CallRating, ChatMessage
from video.room import Presence, attendance_summary


@dataclass(frozen=True)
class CallRoomSummary:
    attendance: list[Presence]
    ratings: list[CallRating]
    chat: list[ChatMessage]


def call_room_summary(call: Call, *, now: datetime) -> CallRoomSummary:
    return CallRoomSummary(
        attendance=attendance_summary(call, now=now),
        ratings=list(CallRating.objects.filter(call=call).select_related("participant")),
        chat=list(ChatMessage.objects.filter(call=call).select_related("participant", "call")),
    )
