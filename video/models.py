"""The call room's records: who was there and when, what was said, who was removed, how it went."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q

from booking.models import Call, CallParticipant

MAX_CHAT_FILE_BYTES = 10 * 1024 * 1024


class VideoSettings(models.Model):
    """The tenant's room rules (one row)."""

    provider = models.CharField(
        max_length=16, blank=True, choices=[("", "Platform default"), ("webrtc", "Built-in (browser to browser)"),
                                            ("zoom", "Zoom Video SDK")])
    open_minutes_before = models.PositiveIntegerField(
        default=10, help_text="The room opens this many minutes before the call starts.")
    grace_minutes = models.PositiveIntegerField(
        default=15, help_text="People may stay this many minutes after the scheduled end.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(open_minutes_before__lte=120), name="video_open_at_most_2h_before"),
            models.CheckConstraint(condition=Q(grace_minutes__lte=240), name="video_grace_at_most_4h"),
        ]

    def __str__(self) -> str:
        return "Video settings"


class Room(models.Model):
    """A call's room, created when the first person enters; the provider's session lives here."""

    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="room")
    provider = models.CharField(max_length=16)
    provider_session_id = models.CharField(max_length=128, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Room of {self.call_id}"


class Attendance(models.Model):
    """One stay in the room, from joining to leaving (one per browser connection).

    Open rows (``left_at`` empty) are who is in the room now, with their hand and media state."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="attendances")
    participant = models.ForeignKey(CallParticipant, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="attendances", help_text="Empty for the host.")
    peer_id = models.CharField(max_length=32, unique=True)
    channel_name = models.CharField(max_length=200)
    name = models.CharField(max_length=150)
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    # The browser pings every 25 s: a row not seen for a while is a connection that died unnoticed.
    seen_at = models.DateTimeField()
    hand_raised_at = models.DateTimeField(null=True, blank=True)
    mic_on = models.BooleanField(default=False)
    cam_on = models.BooleanField(default=False)
    screen_on = models.BooleanField(default=False)

    class Meta:
        ordering = ["joined_at", "id"]
        indexes = [models.Index(fields=["call", "left_at"], name="attendance_call_present")]
        constraints = [
            models.CheckConstraint(condition=Q(left_at__isnull=True) | Q(left_at__gte=F("joined_at")),
                                   name="attendance_leaves_after_joining"),
        ]

    def __str__(self) -> str:
        return f"{self.name} in {self.call_id}"

    @property
    def is_host(self) -> bool:
        return self.participant_id is None

    @property
    def person_key(self) -> str:
        return "host" if self.participant_id is None else str(self.participant.public_id)


def _chat_file_path(instance: ChatMessage, filename: str) -> str:
    """A random name with no meaningful extension: the file is only ever sent as a download
    (``video.views.chat_file``), never served as what its name claims to be."""
    return f"calls/{instance.call.public_id}/chat/{uuid.uuid4().hex}.bin"


class ChatMessage(models.Model):
    """Text or a file sent in the room's chat; kept with the call."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="chat_messages")
    participant = models.ForeignKey(CallParticipant, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="chat_messages", help_text="Empty for the host.")
    author_name = models.CharField(max_length=150)
    text = models.TextField(blank=True, max_length=2000)
    file = models.FileField(upload_to=_chat_file_path, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.PositiveIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(file_size__lte=MAX_CHAT_FILE_BYTES), name="chat_file_at_most_10mb"),
            models.CheckConstraint(condition=~Q(text="") | ~Q(file=""), name="chat_message_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.text[:40] or self.file_name}"


class RoomRemoval(models.Model):
    """The host removed this booking's people from the call; they cannot come back."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="room_removals")
    participant = models.ForeignKey(CallParticipant, on_delete=models.CASCADE, related_name="room_removals")
    removed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call", "participant"], name="room_removal_once")]

    def __str__(self) -> str:
        return f"{self.participant_id} removed from {self.call_id}"


class CallRating(models.Model):
    """A client's rating of a call they attended."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="ratings")
    participant = models.OneToOneField(CallParticipant, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="rating_score_1_5")]

    def __str__(self) -> str:
        return f"{self.score}/5 for {self.call_id}"
