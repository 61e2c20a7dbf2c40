"""The call room's pages: the room itself, its token, chat files, ratings, and the owner's rules.

Clients have no accounts: their join link carries the booking's manage token, which is
exchanged once for a note in their browser session (and dropped from the address bar), so a
reconnect or a reload needs no link again."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import owner_required
from booking.models import Call, CallParticipant
from booking.services import booking_by_token
from core.exceptions import ApplicationError, NotFound
from core.uploads import MAX_UPLOAD_BYTES, size_check
from video import room as room_service
from video.access import (
    Entry,
    RoomUnavailable,
    call_by_public_id,
    entry_check,
    person_for,
    room_token_issue,
    video_settings,
)
from video.completion import completion_reschedule
from video.live import room_broadcast
from video.models import Attendance, CallRating, ChatMessage, RoomRemoval, VideoSettings
from video.providers import ProviderUnavailable, provider_get
from video.ratings import rating_save

GRANTS = "video.rooms"  # session: {call public id: booking public id}


def _call(call_id: str) -> Call:
    try:
        return call_by_public_id(call_id)
    except NotFound:
        raise Http404 from None


def _asker(request: HttpRequest, call: Call) -> CallParticipant | None | bool:
    """The host (None), a client's booking, or False for anyone else."""
    grant = request.session.get(GRANTS, {}).get(str(call.public_id))
    return person_for(call=call, user=request.user, participant_id=grant)


def _grant(request: HttpRequest, call: Call, participant: CallParticipant) -> None:
    grants = dict(request.session.get(GRANTS, {}))
    grants[str(call.public_id)] = str(participant.public_id)
    request.session[GRANTS] = grants


def _closed(request: HttpRequest, call: Call, error: RoomUnavailable, participant=None) -> HttpResponse:
    context = {"call": call, "reason": error.reason, "message": error.message, "opens_at": error.opens_at,
               "participant": participant, "tz": participant.time_zone if participant else _host_zone(call)}
    if error.reason == "over" and participant is not None and \
            Attendance.objects.filter(call=call, participant=participant).exists():
        context["rating"] = CallRating.objects.filter(participant=participant).first()
        context["can_rate"] = True
    return render(request, "video/closed.html", context, status=403)


def _host_zone(call: Call) -> str:
    profile = getattr(call.consultant, "profile", None)
    return profile.time_zone if profile else call.consultant_time_zone


def _refused(request: HttpRequest, call: Call, message: str, *, reason: str = "not_yours") -> HttpResponse:
    return _closed(request, call, RoomUnavailable(message, reason=reason))


@never_cache
@ensure_csrf_cookie
def room(request: HttpRequest, call_id: str) -> HttpResponse:
    call = _call(call_id)
    token = request.GET.get("token")
    if token is not None:
        participant = booking_by_token(call=call, token=token)
        if participant is None:
            return _refused(request, call, "This link is not valid for this call.")
        _grant(request, call, participant)
        return redirect(request.path)  # keep the token out of the address bar and referrers
    asker = _asker(request, call)
    if asker is False:
        return _refused(request, call, "This call is not yours. Use the link from your confirmation email, "
                                       "or sign in if you are the host.")
    try:
        entry = entry_check(call=call, participant=asker, now=timezone.now())
    except RoomUnavailable as exc:
        return _closed(request, call, exc, participant=asker)
    rules = video_settings()
    try:
        opened = room_service.room_open(call=call, provider_name=rules.provider)
        join = provider_get(opened.provider).join_config(call=call, person=entry.person,
                                                        session_id=opened.provider_session_id)
    except ProviderUnavailable as exc:
        return render(request, "video/unavailable.html", {"call": call, "message": exc.message,
                                                          "temporary": exc.temporary}, status=503)
    return render(request, "video/room.html", {
        "call": call, "entry": entry, "tz": asker.time_zone if asker else _host_zone(call),
        "people": [p.name for p in call.participants.filter(status=CallParticipant.Status.CONFIRMED)],
        "config": _config(call, entry, join),
    })


def _config(call: Call, entry: Entry, join: dict) -> dict:
    public_id = call.public_id
    return {
        "call": {"id": str(public_id), "title": call.title, "start": call.start_at.isoformat(),
                 "end": call.end_at.isoformat(), "host_name": call.consultant.full_name},
        "you": {"key": entry.person.key, "name": entry.person.name, "is_host": entry.is_host},
        "token": room_token_issue(entry),
        "socket_path": f"/ws/calls/{public_id}/room/",
        "token_url": reverse("video:token", args=[public_id]),
        "files_url": reverse("video:chat_files", args=[public_id]),
        "rating_url": None if entry.is_host else reverse("video:rating", args=[public_id]),
        "max_file_bytes": MAX_UPLOAD_BYTES,
        "media": join,
    }


def _entry_or_json(request: HttpRequest, call: Call) -> Entry | JsonResponse:
    asker = _asker(request, call)
    if asker is False:
        return JsonResponse({"detail": "This call is not yours.", "code": "room_not_yours"}, status=403)
    try:
        return entry_check(call=call, participant=asker, now=timezone.now())
    except RoomUnavailable as exc:
        return JsonResponse({"detail": exc.message, "code": exc.code}, status=403)


@never_cache
@require_POST
def token(request: HttpRequest, call_id: str) -> JsonResponse:
    """A fresh room token for a reconnect (the page's own expires after two minutes)."""
    entry = _entry_or_json(request, _call(call_id))
    if isinstance(entry, JsonResponse):
        return entry
    return JsonResponse({"token": room_token_issue(entry)})


@require_POST
def chat_files(request: HttpRequest, call_id: str) -> JsonResponse:
    """A file sent in the chat (10 MB at most), kept with the call and shown to everyone in it."""
    call = _call(call_id)
    entry = _entry_or_json(request, call)
    if isinstance(entry, JsonResponse):
        return entry
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"detail": "Choose a file to send.", "code": "invalid"}, status=422)
    try:
        size_check(upload)
    except ValidationError as exc:
        return JsonResponse({"detail": exc.messages[0], "code": "too_large" if exc.code == "too_large" else "invalid"},
                            status=422)
    name = (upload.name or "file").replace("\x00", "").rsplit("/", 1)[-1][:200] or "file"
    message = ChatMessage(call=call, participant=entry.participant, author_name=entry.person.name,
                          file_name=name, file_size=upload.size,
                          content_type=(upload.content_type or "application/octet-stream")[:100])
    message.file.save(name, upload, save=False)
    message.save()
    out = room_service.chat_out(message)
    transaction.on_commit(lambda: room_broadcast(call, {"type": "chat", "message": out}), robust=True)
    return JsonResponse(out, status=201)


@never_cache
def chat_file(request: HttpRequest, call_id: str, message_id: str) -> HttpResponse:
    """Download a chat file: only for the host and the call's own clients."""
    call = _call(call_id)
    asker = _asker(request, call)
    if asker is False and _workspace_sees(request, call):
        asker = None  # the owner or an assistant, reading the call in the workspace
    if asker is False or (asker is not None and (asker.status != CallParticipant.Status.CONFIRMED
                                                 or RoomRemoval.objects.filter(participant=asker).exists())):
        return HttpResponse("This file belongs to a call that is not yours.", status=403)
    message = ChatMessage.objects.filter(call=call, public_id=_uuid_or_404(message_id)).exclude(file="").first()
    if message is None:
        raise Http404
    response = FileResponse(message.file.open("rb"), as_attachment=True, filename=message.file_name,
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _workspace_sees(request: HttpRequest, call: Call) -> bool:
    from booking.selectors import calls_visible_to

    return calls_visible_to(user=request.user).filter(pk=call.pk).exists()


def _uuid_or_404(value: str):
    from core.exceptions import parse_public_id

    try:
        return parse_public_id(value)
    except NotFound:
        raise Http404 from None


@require_POST
def rating(request: HttpRequest, call_id: str) -> HttpResponse:
    """A client rates a call they attended (1–5 and an optional comment); again to change it."""
    call = _call(call_id)
    asker = _asker(request, call)
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        if not asker:
            raise RoomUnavailable("Only the call's clients can rate it.", reason="not_yours")
        rating_save(call=call, participant=asker, score=request.POST.get("score", ""),
                    comment=request.POST.get("comment", ""))
    except ApplicationError as exc:
        if wants_json:
            return JsonResponse({"detail": exc.message, "code": exc.code}, status=exc.http_status)
        messages.error(request, exc.message)
        return redirect("video:room", call.public_id)
    if wants_json:
        return JsonResponse({"detail": "Thank you for your rating."}, status=200)
    messages.success(request, "Thank you for your rating.")
    return redirect("video:room", call.public_id)


# --- the owner's room rules ----------------------------------------------------------------


class VideoSettingsForm(forms.ModelForm):
    class Meta:
        model = VideoSettings
        fields = ["provider", "open_minutes_before", "grace_minutes"]
        labels = {"provider": "Video provider", "open_minutes_before": "Room opens (minutes before the start)",
                  "grace_minutes": "People may stay (minutes after the end)"}

    def clean_provider(self) -> str:
        from video.providers.zoom import unavailable_reason

        value = self.cleaned_data["provider"]
        chosen = value or settings.VIDEO_PROVIDER
        if chosen == "zoom" and (reason := unavailable_reason()):
            raise forms.ValidationError(f"{reason} Choose the built-in video.")
        return value

    def clean_open_minutes_before(self) -> int:
        value = self.cleaned_data["open_minutes_before"]
        if value > 120:
            raise forms.ValidationError("At most 120 minutes before the start.")
        return value

    def clean_grace_minutes(self) -> int:
        value = self.cleaned_data["grace_minutes"]
        if value > 240:
            raise forms.ValidationError("At most 240 minutes after the end.")
        return value


@owner_required
@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest) -> HttpResponse:
    form = VideoSettingsForm(request.POST or None, instance=video_settings())
    if request.method == "POST" and form.is_valid():
        form.save()
        completion_reschedule()  # the grace period may have changed when calls complete
        messages.success(request, "Video settings saved.")
        return redirect(request.path)
    return render(request, "video/settings.html", {"form": form, "max_people": settings.VIDEO_MESH_MAX_PEOPLE},
                  status=400 if request.method == "POST" else 200)
