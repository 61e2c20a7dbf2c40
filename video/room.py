"""What happens in a room: people join and leave, raise hands, chat, and the host moderates.

Plain functions on the tenant's rows (the caller has selected the schema). The WebSocket
consumer calls them and relays what they return; nothing here knows about sockets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from booking.models import Call, CallParticipant
from core.exceptions import InvalidInput, NotFound, PermissionDenied
from video.access import Entry, RoomUnavailable
from video.models import Attendance, ChatMessage, Room, RoomRemoval
from video.providers import provider_get

# The browser pings every 25 s; a connection silent for longer than this died unnoticed.
STALE_AFTER = timedelta(seconds=75)
CHAT_HISTORY = 200
MAX_CHAT_TEXT = 2000


def peer_out(attendance: Attendance) -> dict:
    return {
        "peer": attendance.peer_id, "key": attendance.person_key, "name": attendance.name,
        "is_host": attendance.is_host, "mic": attendance.mic_on, "cam": attendance.cam_on,
        "screen": attendance.screen_on,
        "hand_raised_at": attendance.hand_raised_at.isoformat() if attendance.hand_raised_at else None,
    }


def chat_out(message: ChatMessage) -> dict:
    out = {"id": str(message.public_id), "author": message.author_name,
           "key": "host" if message.participant_id is None else str(message.participant.public_id),
           "text": message.text, "sent_at": message.sent_at.isoformat(), "file": None}
    if message.file:
        out["file"] = {"name": message.file_name, "size": message.file_size,
                       "url": reverse("video:chat_file", args=[message.call.public_id, message.public_id])}
    return out


def present(call: Call) -> list[Attendance]:
    """Who is in the room: raised hands first (earliest first), then everyone by arrival."""
    rows = list(Attendance.objects.select_related("participant").filter(call=call, left_at__isnull=True))
    return sorted(rows, key=lambda a: (a.hand_raised_at is None, a.hand_raised_at or a.joined_at, a.id))


def room_open(*, call: Call, provider_name: str) -> Room:
    """The call's room, created once with the provider's session (the first person to arrive
    opens it, like Zoom's session starting with the call). The provider is asked before any
    lock is taken; if two people open the room at once, the first room stored is kept."""
    room = Room.objects.filter(call=call).first()
    if room is not None:
        return room
    provider = provider_get(provider_name)
    session_id = provider.session_start(call=call)
    with transaction.atomic():
        Call.objects.select_for_update().filter(pk=call.pk).first()
        room = Room.objects.filter(call=call).first() or Room.objects.create(
            call=call, provider=provider.name, provider_session_id=session_id)
    return room


@dataclass
class Joined:
    attendance: Attendance
    replaced: list[Attendance] = field(default_factory=list)  # the same person's older connections
    gone: list[Attendance] = field(default_factory=list)  # connections silent for too long
    peers: list[Attendance] = field(default_factory=list)  # everyone present, the newcomer included
    chat: list[ChatMessage] = field(default_factory=list)


@transaction.atomic
def room_join(*, entry: Entry, channel_name: str, now: datetime) -> Joined:
    """Admit a connection. The call's row lock makes joins one at a time, so the size cap holds,
    and the entry rules are checked again under it: a removal, a cancellation or the call's
    completion that committed meanwhile is seen.

    A person connecting again (a second tab, or back after a network drop the server has not
    noticed yet) replaces their oldest connection beyond their seats; rows not seen for a while
    are closed as gone (at their last sign of life)."""
    from video.access import entry_check

    call = Call.objects.select_for_update().select_related("consultant").get(pk=entry.call.pk)
    participant = None
    if entry.participant is not None:
        participant = CallParticipant.objects.get(pk=entry.participant.pk)
    entry = entry_check(call=call, participant=participant, now=now)
    open_rows = list(Attendance.objects.select_related("participant").filter(call=call, left_at__isnull=True))
    gone = [row for row in open_rows if row.seen_at < now - STALE_AFTER]
    mine = [r for r in open_rows if r not in gone and r.participant_id == (participant.pk if participant else None)]
    allowed = participant.seats if participant else 1
    replaced = sorted(mine, key=lambda r: r.joined_at)[:max(0, len(mine) - allowed + 1)]
    for row in gone:
        row.left_at = max(row.seen_at, row.joined_at)
        row.save(update_fields=["left_at"])
    for row in replaced:
        row.left_at = max(now, row.joined_at)
        row.save(update_fields=["left_at"])
    staying = [r for r in open_rows if r not in gone and r not in replaced]
    room = Room.objects.filter(call=call).first()
    if not entry.is_host and (room is None or room.provider == "webrtc"):
        limit = settings.VIDEO_MESH_MAX_PEOPLE
        # A place is always kept for the host: the call cannot happen without them.
        if len([r for r in staying if not r.is_host]) >= limit - 1:
            raise RoomUnavailable(f"This room is full: built-in video holds {limit} people at most.",
                                  reason="full")
    person = entry.person
    attendance = Attendance.objects.create(
        call=call, participant=participant, peer_id=secrets.token_hex(8), channel_name=channel_name,
        name=person.name, joined_at=now, seen_at=now)
    chat = list(ChatMessage.objects.select_related("participant", "call").filter(call=call)
                .order_by("-sent_at", "-id")[:CHAT_HISTORY])
    return Joined(attendance=attendance, replaced=replaced, gone=gone, peers=present(call), chat=chat[::-1])


def room_leave(*, peer_id: str, now: datetime) -> Attendance | None:
    """Close a connection's stay (once); None when it was already closed (replaced or removed)."""
    attendance = Attendance.objects.select_related("participant").filter(peer_id=peer_id).first()
    if attendance is None or attendance.left_at is not None:
        return None
    updated = Attendance.objects.filter(pk=attendance.pk, left_at__isnull=True).update(left_at=now)
    return attendance if updated else None


def peer_seen(*, peer_id: str, now: datetime) -> bool:
    """A ping: False when this connection has been closed meanwhile (replaced, removed, stale)."""
    return Attendance.objects.filter(peer_id=peer_id, left_at__isnull=True).update(seen_at=now) == 1


def _open(peer_id: str) -> Attendance:
    attendance = Attendance.objects.select_related("participant", "call").filter(
        peer_id=peer_id, left_at__isnull=True).first()
    if attendance is None:
        raise PermissionDenied("You are no longer in this call.", code="left")
    return attendance


def peer_in_call(*, call_id: int, peer_id: str) -> Attendance:
    """Someone present in the same call (whom a signal or a command may address)."""
    if not isinstance(peer_id, str) or not peer_id:
        raise InvalidInput("Say whom this is for.")
    attendance = Attendance.objects.select_related("participant").filter(
        call_id=call_id, peer_id=peer_id, left_at__isnull=True).first()
    if attendance is None:
        raise NotFound("That person is not in the call.")
    return attendance


def media_set(*, peer_id: str, mic: bool, cam: bool, screen: bool) -> Attendance:
    attendance = _open(peer_id)
    attendance.mic_on, attendance.cam_on, attendance.screen_on = mic, cam, screen
    attendance.save(update_fields=["mic_on", "cam_on", "screen_on"])
    return attendance


def hand_set(*, peer_id: str, raised: bool, now: datetime) -> Attendance:
    attendance = _open(peer_id)
    if raised and attendance.hand_raised_at is None:
        attendance.hand_raised_at = now
    elif not raised:
        attendance.hand_raised_at = None
    attendance.save(update_fields=["hand_raised_at"])
    return attendance


def chat_post(*, peer_id: str, text: str) -> ChatMessage:
    attendance = _open(peer_id)
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("Write a message first.")
    if "\x00" in text:
        raise InvalidInput("The message contains a character that cannot be sent.")
    if len(text) > MAX_CHAT_TEXT:
        raise InvalidInput(f"Messages are at most {MAX_CHAT_TEXT} characters.")
    return ChatMessage.objects.create(call=attendance.call, participant=attendance.participant,
                                      author_name=attendance.name, text=text.strip())


# --- the host's moderation ------------------------------------------------------------

MEDIA_COMMANDS = {"mute": "mic_on", "camera_off": "cam_on", "stop_screen": "screen_on"}


def _host(peer_id: str) -> Attendance:
    attendance = _open(peer_id)
    if not attendance.is_host:
        raise PermissionDenied("Only the host can do that.", code="forbidden")
    return attendance


def moderate_media(*, host_peer_id: str, action: str, target: str) -> list[Attendance]:
    """Mute, stop the camera or stop the screen share of one participant (``target`` = their
    peer id) or of everyone but the host (``"all"``). Returns whom the command is for: their
    browsers apply it; the state is recorded now so everyone's list is right at once."""
    host = _host(host_peer_id)
    column = MEDIA_COMMANDS[action]
    if target == "all":
        targets = [a for a in present(host.call) if not a.is_host]
    else:
        targets = [peer_in_call(call_id=host.call_id, peer_id=target)]
        if targets[0].is_host:
            raise InvalidInput("Use your own controls for yourself.")
    for attendance in targets:
        setattr(attendance, column, False)
    Attendance.objects.filter(pk__in=[a.pk for a in targets]).update(**{column: False})
    return targets


def hands_lower(*, host_peer_id: str) -> list[Attendance]:
    host = _host(host_peer_id)
    Attendance.objects.filter(call_id=host.call_id, left_at__isnull=True).update(hand_raised_at=None)
    return present(host.call)


@transaction.atomic
def participant_remove(*, host_peer_id: str, target: str, now: datetime) -> list[Attendance]:
    """Remove the person behind ``target`` from the call for good: all their connections close
    and their link no longer opens the room."""
    host = _host(host_peer_id)
    Call.objects.select_for_update().filter(pk=host.call_id).first()  # no join slips in meanwhile
    attendance = peer_in_call(call_id=host.call_id, peer_id=target)
    if attendance.is_host:
        raise InvalidInput("The host cannot be removed.")
    RoomRemoval.objects.get_or_create(call_id=host.call_id, participant=attendance.participant)
    closing = list(Attendance.objects.filter(call_id=host.call_id, participant=attendance.participant,
                                             left_at__isnull=True))
    Attendance.objects.filter(pk__in=[a.pk for a in closing]).update(left_at=now)
    return closing


# --- attendance -----------------------------------------------------------------------


@dataclass(frozen=True)
class Presence:
    key: str
    name: str
    is_host: bool
    first_joined_at: datetime
    last_left_at: datetime | None
    seconds: int
    stays: int


def attendance_summary(call: Call, *, now: datetime) -> list[Presence]:
    """Per person: when they first came, when they last left, and the total time present
    (overlapping stays — two tabs, or seats shared by two people — counted once)."""
    people: dict[str, list[Attendance]] = {}
    for row in Attendance.objects.select_related("participant").filter(call=call).order_by("joined_at"):
        people.setdefault(row.person_key, []).append(row)
    out = []
    for key, rows in people.items():
        total, cursor = timedelta(), None
        for row in rows:
            start, end = row.joined_at, row.left_at or now
            if cursor is not None and start < cursor:
                start = cursor
            if end > start:
                total += end - start
            cursor = max(cursor or end, end)
        lefts = [r.left_at for r in rows]
        out.append(Presence(key=key, name=rows[0].name, is_host=rows[0].is_host,
                            first_joined_at=rows[0].joined_at,
                            last_left_at=None if None in lefts else max(lefts),
                            seconds=int(total.total_seconds()), stays=len(rows)))
    return sorted(out, key=lambda p: (not p.is_host, p.first_joined_at))


def removed_participant_ids(call: Call) -> set[int]:
    return set(RoomRemoval.objects.filter(call=call).values_list("participant_id", flat=True))
