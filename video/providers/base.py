"""What a video provider does for the room. The room itself (access, attendance, chat,
hands, moderation) is ours and works the same whatever carries the audio and video."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from booking.models import Call


class ProviderUnavailable(Exception):
    """The provider could not set the room up (unreachable, refusing, or not installed here).
    ``temporary`` says whether trying again in a moment may help."""

    def __init__(self, message: str, temporary: bool = False) -> None:
        super().__init__(message)
        self.message, self.temporary = message, temporary


@dataclass(frozen=True)
class Person:
    """Someone entering a call's room."""

    key: str  # "host" or the booking's public id; stable across reconnections
    name: str
    is_host: bool


class VideoProvider(Protocol):
    name: str

    def session_start(self, *, call: Call) -> str:
        """Create the provider's session for a call whose room is opening; returns its id
        ("" when the provider needs none). Called once per call, under the room's row lock."""
        ...

    def join_config(self, *, call: Call, person: Person, session_id: str) -> dict:
        """What the browser needs to join (JSON-serialisable; it is embedded in the room page)."""
        ...
