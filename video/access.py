"""Who may enter a call's room, and when; the short-lived tokens the room's socket accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import connection

from booking.models import Call, CallParticipant
from core.exceptions import NotFound, PermissionDenied, parse_public_id
from core.models import settings_row
from video.models import RoomRemoval, VideoSettings
from video.providers import Person

ROOM_TOKEN_SALT = "video.room-token"
HOST_KEY = "host"


class RoomUnavailable(PermissionDenied):
    """Entry refused, with why (``reason``) so the page can say the right thing."""

    def __init__(self, message: str, *, reason: str, opens_at: datetime | None = None) -> None:
        super().__init__(message, code=f"room_{reason}")
        self.reason = reason
        self.opens_at = opens_at


@dataclass(frozen=True)
class Entry:
    """A person allowed into a call's room."""

    call: Call
    participant: CallParticipant | None  # None: the host

    @property
    def is_host(self) -> bool:
        return self.participant is None

    @property
    def person(self) -> Person:
        if self.participant is None:
            return Person(key=HOST_KEY, name=self.call.consultant.full_name, is_host=True)
        return Person(key=str(self.participant.public_id), name=self.participant.name, is_host=False)


def video_settings() -> VideoSettings:
    return settings_row(VideoSettings)


def room_window(call: Call, rules: VideoSettings) -> tuple[datetime, datetime]:
    """From ``open_minutes_before`` the start until the end plus the grace period."""
    return (call.start_at - timedelta(minutes=rules.open_minutes_before),
            call.end_at + timedelta(minutes=rules.grace_minutes))


def call_by_public_id(call_id: str) -> Call:
    """This tenant's call, or ``NotFound`` (a malformed or foreign id is simply unknown here)."""
    call = Call.objects.select_related("consultant", "offering").filter(public_id=parse_public_id(call_id)).first()
    if call is None:
        raise NotFound("No such call.")
    return call


def entry_check(*, call: Call, participant: CallParticipant | None, now: datetime,
                rules: VideoSettings | None = None) -> Entry:
    """Whether this person may be in the room now; ``RoomUnavailable`` says why not."""
    if call.status == Call.Status.CANCELED:
        raise RoomUnavailable("This call was canceled.", reason="canceled")
    if participant is not None:
        if participant.call_id != call.pk:
            raise RoomUnavailable("This call is not yours.", reason="not_yours")
        if participant.status == CallParticipant.Status.CANCELED:
            raise RoomUnavailable("Your booking for this call was canceled.", reason="canceled")
        if participant.status != CallParticipant.Status.CONFIRMED:
            raise RoomUnavailable("Your booking is not paid yet: pay for it to join the call.", reason="unpaid")
        if RoomRemoval.objects.filter(call=call, participant=participant).exists():
            raise RoomUnavailable("The host removed you from this call.", reason="removed")
    if call.status == Call.Status.COMPLETED:
        raise RoomUnavailable("This call is over.", reason="over")
    opens_at, closes_at = room_window(call, rules or video_settings())
    if now < opens_at:
        raise RoomUnavailable("The room is not open yet.", reason="early", opens_at=opens_at)
    if now > closes_at:
        raise RoomUnavailable("This call is over.", reason="over")
    return Entry(call=call, participant=participant)


def person_for(*, call: Call, user, participant_id: str | None) -> CallParticipant | None | bool:
    """Who is asking: ``None`` for the call's host (signed in), the booking for a client who
    came with their link, ``False`` for anyone else."""
    if user is not None and user.is_authenticated and user.pk == call.consultant_id:
        return None
    if participant_id:
        participant = CallParticipant.objects.filter(call=call, public_id=participant_id).first()
        if participant is not None:
            return participant
    return False


# --- room tokens ------------------------------------------------------------------------


def room_token_issue(entry: Entry) -> str:
    """Bound to the tenant, the call and the person; valid ``VIDEO_ROOM_TOKEN_SECONDS``."""
    return signing.dumps({"s": connection.schema_name, "c": str(entry.call.public_id),
                          "p": entry.person.key}, salt=ROOM_TOKEN_SALT, compress=True)


def room_token_read(token: str, *, schema_name: str, call_id: str) -> str:
    """The person key a room token was issued to, if it is genuine, fresh, and for this
    tenant and call; ``PermissionDenied`` otherwise."""
    try:
        data = signing.loads(token, salt=ROOM_TOKEN_SALT, max_age=settings.VIDEO_ROOM_TOKEN_SECONDS)
    except signing.SignatureExpired:
        raise PermissionDenied("This room link has expired; reload the page.", code="token_expired") from None
    except signing.BadSignature:
        raise PermissionDenied("This room link is not valid.", code="token_invalid") from None
    if data.get("s") != schema_name or data.get("c") != call_id:
        raise PermissionDenied("This room link is not valid here.", code="token_invalid")
    return str(data["p"])


def entry_for_key(*, call: Call, person_key: str, now: datetime) -> Entry:
    """The entry a room token names, checked again now (the booking may have been canceled or
    the person removed since the page was loaded)."""
    participant = None
    if person_key != HOST_KEY:
        participant = CallParticipant.objects.filter(call=call, public_id=person_key).first()
        if participant is None:
            raise RoomUnavailable("This call is not yours.", reason="not_yours")
    return entry_check(call=call, participant=participant, now=now)
