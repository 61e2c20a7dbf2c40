"""Clients rate the calls they attended; consultants read the ratings in their workspace."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Avg, Count, QuerySet

from booking.models import Call, CallParticipant
from core.exceptions import InvalidInput, PermissionDenied
from video.models import Attendance, CallRating

MAX_COMMENT = 2000


def rating_save(*, call: Call, participant: CallParticipant, score: object, comment: str = "") -> CallRating:
    """One rating per booking; sending again changes it. Only for people who were in the call."""
    if participant.call_id != call.pk or participant.status != CallParticipant.Status.CONFIRMED:
        raise PermissionDenied("Only the call's clients can rate it.")
    if not Attendance.objects.filter(call=call, participant=participant).exists():
        raise PermissionDenied("You can rate a call once you have joined it.")
    try:
        value = int(str(score).strip())
    except ValueError:
        raise InvalidInput("Choose 1 to 5 stars.", field="score") from None
    if not 1 <= value <= 5:
        raise InvalidInput("Choose 1 to 5 stars.", field="score")
    comment = (comment or "").replace("\x00", "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"The comment is at most {MAX_COMMENT} characters.", field="comment")
    rating, _ = CallRating.objects.update_or_create(participant=participant,
                                                    defaults={"call": call, "score": value, "comment": comment})
    return rating


@dataclass(frozen=True)
class RatingSummary:
    average: float | None
    count: int
    recent: list[CallRating]


def ratings_of(calls: QuerySet[Call], *, recent: int = 5) -> RatingSummary:
    """Average, count and the latest ratings over these calls (two queries)."""
    ratings = CallRating.objects.filter(call__in=calls)
    totals = ratings.aggregate(average=Avg("score"), count=Count("id"))
    latest = list(ratings.select_related("call", "participant").order_by("-created_at")[:recent])
    average = round(totals["average"], 1) if totals["average"] is not None else None
    return RatingSummary(average=average, count=totals["count"], recent=latest)
