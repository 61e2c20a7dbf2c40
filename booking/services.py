"""Booking, holds, reschedule and cancel.

No double booking is enforced by PostgreSQL (``call_no_double_booking``): a
race that Python's check misses ends in an IntegrityError, turned into 409.
Group seats are counted under a row lock on the call, so they never oversell.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from booking import signals
from booking.models import BookingSettings, Call, CallParticipant, Offering
from booking.selectors import busy_for, rules_for, schedule_for, seats_taken
from booking.slots import candidate_slots, free_slots, window_for_days
from core.choices import time_zones
from core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied, parse_public_id
from core.models import settings_row


def booking_settings() -> BookingSettings:
    return settings_row(BookingSettings)


def _blocked(offering_or_call, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    return (start - timedelta(minutes=offering_or_call.buffer_before_minutes),
            end + timedelta(minutes=offering_or_call.buffer_after_minutes))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _derive_token(public_id, manage_key: str) -> str:
    import base64
    import hmac

    from django.conf import settings

    digest = hmac.new(settings.SECRET_KEY.encode(), f"manage:{public_id}:{manage_key}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def manage_token_for(participant: CallParticipant) -> str | None:
    """The booking's manage token (what its links carry); only the hash is stored."""
    if not participant.manage_key:
        return None
    return _derive_token(participant.public_id, participant.manage_key)


@transaction.atomic
def group_call_create(*, offering: Offering) -> Call:
    """A group offering has exactly one call, created with it; it blocks the consultant's time."""
    profile = offering.consultant.profile
    try:
        with transaction.atomic():
            return Call.objects.create(
                consultant=offering.consultant, offering=offering, kind=Offering.Kind.GROUP,
                status=Call.Status.CONFIRMED, start_at=offering.start_at, end_at=offering.end_at,
                blocked_start=offering.start_at, blocked_end=offering.end_at, title=offering.title,
                duration_minutes=offering.duration_minutes, price_amount=offering.price_amount,
                currency=offering.currency, capacity=offering.capacity, consultant_time_zone=profile.time_zone,
            )
    except IntegrityError:
        raise Conflict("You already have a call at that time.") from None


@transaction.atomic
def group_call_reschedule(*, offering: Offering, start_at: datetime, end_at: datetime, capacity: int) -> Call:
    call = Call.objects.select_for_update().get(offering=offering, kind=Offering.Kind.GROUP)
    if call.status == Call.Status.CANCELED:
        raise Conflict("This group call is canceled; create a new offering for a new date.")
    taken = seats_taken(call=call)
    if capacity < taken:
        raise Conflict(f"{taken} seats are already sold; the capacity cannot go below that.")
    old = (call.start_at, call.end_at)
    call.start_at, call.end_at, call.capacity = start_at, end_at, capacity
    call.blocked_start, call.blocked_end = start_at, end_at
    call.duration_minutes = int((end_at - start_at).total_seconds() // 60)
    moved = old != (start_at, end_at)
    call.sequence += 1 if moved else 0
    try:
        with transaction.atomic():
            call.save()
    except IntegrityError:
        raise Conflict("You already have a call at that time.") from None
    if moved:
        signals.call_rescheduled.send(Call, call=call, old_start=old[0], old_end=old[1])
    return call


@dataclass(frozen=True)
class BookingRequest:
    offering_id: str
    start: datetime | None
    name: str
    email: str
    message: str = ""
    seats: int = 1
    time_zone: str = "UTC"
    time_format: str = "24h"
    # The booking form's one-time key: the same form sent again gets the booking it made.
    idempotency_key: str = ""


@dataclass(frozen=True)
class Booked:
    participant: CallParticipant
    manage_token: str
    replayed: bool = False  # the same request was made before: this is the booking it made


def _validate_client(request: BookingRequest) -> None:
    if not request.name.strip():
        raise InvalidInput("Enter your name.")
    if any(ord(ch) < 32 for ch in request.name + request.email):
        raise InvalidInput("The name and email cannot contain line breaks or control characters.")
    if len(request.name) > 150:
        raise InvalidInput("Keep the name under 150 characters.")
    try:
        validate_email(request.email)
    except ValidationError:
        raise InvalidInput(f"“{request.email}” is not a valid email address.") from None
    if request.time_zone not in time_zones():
        raise InvalidInput(f"“{request.time_zone}” is not a known time zone.")
    if request.time_format not in ("12h", "24h"):
        raise InvalidInput("The time format is “12h” or “24h”.")
    if not isinstance(request.seats, int) or isinstance(request.seats, bool) or request.seats < 1:
        raise InvalidInput("Book at least one seat.")
    if len(request.message) > 2000:
        raise InvalidInput("Keep the message under 2,000 characters.")


def _idempotency_hash(request: BookingRequest) -> str | None:
    if not request.idempotency_key:
        return None
    key = f"{request.idempotency_key}\n{request.email.strip().lower()}"
    return hashlib.sha256(key.encode()).hexdigest()


def _booked_before(request: BookingRequest) -> Booked | None:
    """The booking this very request made before (a form sent twice), if it did."""
    key = _idempotency_hash(request)
    participant = CallParticipant.objects.select_related("call").filter(idempotency_key=key).first() \
        if key else None
    if participant is None:
        return None
    return Booked(participant=participant, manage_token=manage_token_for(participant) or "", replayed=True)


def _check_is_slot(offering: Offering, start: datetime, now: datetime, exclude_call_id: int | None = None) -> None:
    """422 when ``start`` is not a slot of this offering at all; 409 when it is but it is taken."""
    if start <= now:
        raise InvalidInput("The start is in the past.")
    consultant = offering.consultant
    tz = consultant.profile.time_zone
    day = start.astimezone(ZoneInfo(tz)).date()
    window = window_for_days(day, day, tz)
    rules = rules_for(offering)
    schedule = schedule_for(consultant=consultant, time_zone=tz)
    wanted = (start, start + timedelta(minutes=offering.duration_minutes))
    earliest = now + timedelta(minutes=rules.min_notice_minutes)
    latest = now + timedelta(days=rules.horizon_days)
    if wanted not in candidate_slots(schedule, rules, window) or not earliest <= start <= latest:
        raise InvalidInput("This time is not one of the offered slots.")
    busy = busy_for(consultant=consultant, window=window, exclude_call_id=exclude_call_id)
    if wanted not in free_slots(schedule=schedule, rules=rules, busy=busy, window=window, now=now):
        raise Conflict("This time has just been taken. Please choose another slot.")


def _require_payments(offering: Offering) -> None:
    """A paid offering stays listed, but is bookable only once the tenant can take payments."""
    if offering.price_amount == 0:
        return
    from billing.onboarding import payments_ready

    if not payments_ready():
        raise Conflict("This offering cannot be booked yet: online payments are not set up. "
                       "Please try again later or contact the consultant.", code="payments_not_ready")


def _participant(call: Call, request: BookingRequest, unit_price: int, now: datetime,
                 hold_minutes: int) -> tuple[CallParticipant, str]:
    public_id, manage_key = uuid.uuid4(), secrets.token_urlsafe(24)
    token = _derive_token(public_id, manage_key)
    paid = unit_price > 0
    participant = CallParticipant.objects.create(
        public_id=public_id, manage_key=manage_key,
        call=call, status=CallParticipant.Status.PENDING_PAYMENT if paid else CallParticipant.Status.CONFIRMED,
        name=request.name.strip(), email=request.email.strip().lower(), message=request.message.strip(),
        seats=request.seats, unit_price_amount=unit_price, price_amount=unit_price * request.seats,
        currency=call.currency, time_zone=request.time_zone, time_format=request.time_format,
        manage_token_hash=_token_hash(token), idempotency_key=_idempotency_hash(request),
        hold_expires_at=now + timedelta(minutes=hold_minutes) if paid else None,
    )
    if paid:
        _holds_schedule(participant.hold_expires_at)
    return participant, token


@transaction.atomic
def booking_create(*, request: BookingRequest, now: datetime | None = None) -> Booked:
    now = now or timezone.now()
    _validate_client(request)
    offering = Offering.objects.select_related("consultant", "consultant__profile").filter(
        public_id=parse_public_id(request.offering_id), active=True, archived_at__isnull=True,
        consultant__is_active=True).first()
    if offering is None:
        raise NotFound("No such offering.")
    earlier = _booked_before(request)
    if earlier is not None:
        return earlier
    hold_minutes = booking_settings().hold_minutes
    if offering.kind == Offering.Kind.GROUP:
        booked = _book_group(offering, request, now, hold_minutes)
    else:
        booked = _book_individual(offering, request, now, hold_minutes)
    if not booked.replayed and booked.participant.status == CallParticipant.Status.CONFIRMED:
        call, participant = booked.participant.call, booked.participant
        signals.booking_confirmed.send(Call, call=call, participant=participant)
    return booked


def _book_individual(offering: Offering, request: BookingRequest, now: datetime, hold_minutes: int) -> Booked:
    if request.start is None:
        raise InvalidInput("Choose a start time.")
    if request.seats != 1:
        raise InvalidInput("An individual call has one seat.")
    start = request.start.astimezone(UTC)
    try:
        _check_is_slot(offering, start, now)
    except Conflict:
        # Taken — maybe by this same request sent a moment earlier, committed since we looked.
        earlier = _booked_before(request)
        if earlier is not None:
            return earlier
        raise
    _require_payments(offering)
    end = start + timedelta(minutes=offering.duration_minutes)
    blocked_start, blocked_end = _blocked(offering, start, end)
    paid = offering.price_amount > 0
    try:
        with transaction.atomic():
            call = Call.objects.create(
                consultant=offering.consultant, offering=offering, kind=Offering.Kind.INDIVIDUAL,
                status=Call.Status.PENDING_PAYMENT if paid else Call.Status.CONFIRMED,
                start_at=start, end_at=end, blocked_start=blocked_start, blocked_end=blocked_end,
                title=offering.title, duration_minutes=offering.duration_minutes,
                price_amount=offering.price_amount, currency=offering.currency,
                consultant_time_zone=offering.consultant.profile.time_zone,
                hold_expires_at=now + timedelta(minutes=hold_minutes) if paid else None,
            )
    except IntegrityError:
        # Taken — by this same request sent a moment earlier (a double click), or by someone else.
        earlier = _booked_before(request)
        if earlier is not None:
            return earlier
        raise Conflict("This time has just been taken. Please choose another slot.") from None
    participant, token = _participant(call, request, offering.price_amount, now, hold_minutes)
    return Booked(participant=participant, manage_token=token)


def _book_group(offering: Offering, request: BookingRequest, now: datetime, hold_minutes: int) -> Booked:
    call = Call.objects.select_for_update().filter(offering=offering, kind=Offering.Kind.GROUP).first()
    if call is None or call.status not in (Call.Status.CONFIRMED,):
        raise Conflict("This group call is not taking bookings.")
    earlier = _booked_before(request)  # under the call's lock: a double submit waits for the first
    if earlier is not None:
        return earlier
    if request.start is not None and request.start != call.start_at:
        raise InvalidInput("A group call starts at its own time; leave the start out or use it.")
    if call.start_at <= now:
        raise Conflict("This group call has already started.")
    _require_payments(offering)
    left = call.capacity - seats_taken(call=call)
    if request.seats > left:
        raise Conflict("This group call is full." if left == 0 else
                       f"Only {left} seat{'s' if left != 1 else ''} left.")
    participant, token = _participant(call, request, call.price_amount, now, hold_minutes)
    return Booked(participant=participant, manage_token=token)


def access_booking(*, booking_id: str, token: str, for_update: bool = False) -> CallParticipant:
    """A booking, by its public id and the manage token that came with it (locked with its call
    when ``for_update``, in the order ``booking_lock`` uses)."""
    participants = CallParticipant.objects.select_related("call", "call__offering", "call__consultant__profile")
    participant = participants.filter(public_id=parse_public_id(booking_id)).first()
    if participant is None:
        raise NotFound("No such booking.")
    if not token or not secrets.compare_digest(participant.manage_token_hash, _token_hash(token)):
        raise PermissionDenied("This link is not valid for this booking.")
    if for_update:
        _, participant = booking_lock(participant_id=participant.pk)
    return participant


def manage_token_assign(participant: CallParticipant) -> str:
    """Give a booking that is being created its manage token (only the hash and the key are stored)."""
    participant.manage_key = secrets.token_urlsafe(24)
    token = _derive_token(participant.public_id, participant.manage_key)
    participant.manage_token_hash = _token_hash(token)
    return token


def booking_by_token(*, call: Call, token: str) -> CallParticipant | None:
    """The booking on ``call`` whose manage token this is (join links carry it), or None."""
    if not token:
        return None
    return CallParticipant.objects.filter(call=call, manage_token_hash=_token_hash(token)).first()


def booking_lock(*, participant_id: int) -> tuple[Call, CallParticipant]:
    """Lock a booking's call, then the booking: every path that changes both (host and client
    changes, hold release, payment) takes the locks in this order, so none waits on another
    in a cycle. Billing then locks the booking's payment."""
    call_id = CallParticipant.objects.filter(pk=participant_id).values_list("call_id", flat=True).get()
    call = Call.objects.select_for_update(of=("self",)).select_related(
        "offering", "consultant__profile").get(pk=call_id)
    participant = CallParticipant.objects.select_for_update().get(pk=participant_id)
    participant.call = call
    return call, participant


def _check_client_cutoff(call: Call, now: datetime) -> None:
    hours = booking_settings().client_change_cutoff_hours
    if call.start_at - timedelta(hours=hours) <= now:
        raise Conflict(f"Changes are possible until {hours} hours before the call; please contact the consultant.")


@transaction.atomic
def booking_cancel_by_client(*, booking_id: str, token: str, reason: str = "",
                             now: datetime | None = None) -> CallParticipant:
    now = now or timezone.now()
    participant = access_booking(booking_id=booking_id, token=token, for_update=True)
    if participant.status == CallParticipant.Status.CANCELED:
        raise Conflict("This booking is already canceled.")
    if participant.call.start_at <= now:
        raise Conflict("This call has already started; it can no longer be canceled.")
    return _cancel_participant(participant, by=Call.CanceledBy.CLIENT, reason=reason, now=now)


def client_cutoff_passed(call: Call, now: datetime) -> bool:
    """Past the tenant's cut-off, a client may still cancel, under the tenant's refund policy."""
    return call.start_at - timedelta(hours=booking_settings().client_change_cutoff_hours) <= now


def _cancel_participant(participant: CallParticipant, *, by: str, reason: str, now: datetime) -> CallParticipant:
    participant.status = CallParticipant.Status.CANCELED
    participant.canceled_at, participant.canceled_by, participant.cancel_reason = now, by, reason.strip()[:500]
    participant.save(update_fields=["status", "canceled_at", "canceled_by", "cancel_reason"])
    call = participant.call
    if call.kind == Offering.Kind.INDIVIDUAL:
        call = Call.objects.select_for_update().get(pk=call.pk)
        call.status = Call.Status.CANCELED
        call.canceled_at, call.canceled_by, call.cancel_reason = now, by, participant.cancel_reason
        call.sequence += 1
        call.save(update_fields=["status", "canceled_at", "canceled_by", "cancel_reason", "sequence",
                                 "updated_at"])
        participant.call = call
    signals.booking_canceled.send(Call, call=call, participant=participant, by=by,
                                  reason=participant.cancel_reason, now=now)
    return participant


def _move_call(call: Call, start: datetime, now: datetime) -> Call:
    offering = call.offering
    _check_is_slot(offering, start, now, exclude_call_id=call.pk)
    old = (call.start_at, call.end_at)
    call.start_at = start.astimezone(UTC)
    call.end_at = start + timedelta(minutes=call.duration_minutes)
    call.blocked_start, call.blocked_end = _blocked(offering, call.start_at, call.end_at)
    try:
        with transaction.atomic():
            call.sequence += 1
            call.save(update_fields=["start_at", "end_at", "blocked_start", "blocked_end", "sequence",
                                     "updated_at"])
    except IntegrityError:
        raise Conflict("This time has just been taken. Please choose another slot.") from None
    signals.call_rescheduled.send(Call, call=call, old_start=old[0], old_end=old[1])
    return call


@transaction.atomic
def booking_reschedule_by_client(*, booking_id: str, token: str, start: datetime,
                                 now: datetime | None = None) -> CallParticipant:
    now = now or timezone.now()
    participant = access_booking(booking_id=booking_id, token=token, for_update=True)
    call = participant.call
    if participant.status == CallParticipant.Status.CANCELED or call.status == Call.Status.CANCELED:
        raise Conflict("This booking is canceled.")
    if call.kind == Offering.Kind.GROUP:
        raise Conflict("A group call takes place at its own time and cannot be moved.")
    _check_client_cutoff(call, now)
    participant.call = _move_call(call, start, now)
    return participant


def access_own_call(*, consultant, call_id: str, for_update: bool = False) -> Call:
    calls = Call.objects.select_related("offering", "consultant__profile")
    if for_update:
        calls = calls.select_for_update(of=("self",))
    call = calls.filter(consultant=consultant, public_id=parse_public_id(call_id)).first()
    if call is None:
        raise NotFound("No such call.")
    return call


@transaction.atomic
def call_reschedule_by_host(*, consultant, call_id: str, start: datetime, now: datetime | None = None) -> Call:
    now = now or timezone.now()
    call = access_own_call(consultant=consultant, call_id=call_id, for_update=True)
    if call.status not in (Call.Status.PENDING_PAYMENT, Call.Status.CONFIRMED):
        raise Conflict("Only upcoming calls can be moved.")
    if call.kind == Offering.Kind.GROUP:
        raise Conflict("Change a group call's time on its offering.")
    return _move_call(call, start, now)


@transaction.atomic
def call_cancel_by_host(*, consultant, call_id: str, reason: str, now: datetime | None = None) -> Call:
    now = now or timezone.now()
    call = access_own_call(consultant=consultant, call_id=call_id, for_update=True)
    if call.status == Call.Status.CANCELED:
        raise Conflict("This call is already canceled.")
    if call.status == Call.Status.COMPLETED:
        raise Conflict("This call has already taken place.")
    for participant in call.participants.select_for_update().exclude(status=CallParticipant.Status.CANCELED):
        participant.call = call
        _cancel_participant(participant, by=Call.CanceledBy.HOST, reason=reason, now=now)
    call.refresh_from_db()
    if call.status != Call.Status.CANCELED:  # a group call, or a call without participants
        call.status = Call.Status.CANCELED
        call.canceled_at, call.canceled_by, call.cancel_reason = now, Call.CanceledBy.HOST, reason.strip()[:500]
        call.sequence += 1
        call.save(update_fields=["status", "canceled_at", "canceled_by", "cancel_reason", "sequence",
                                 "updated_at"])
        # The whole call (group, or nobody booked yet): no participant, the host is told once.
        signals.booking_canceled.send(Call, call=call, participant=None, by=Call.CanceledBy.HOST,
                                      reason=call.cancel_reason, now=now)
    return call


HOLDS_WORK = "booking.holds"


def _next_hold_expiry() -> datetime | None:
    return CallParticipant.objects.filter(status=CallParticipant.Status.PENDING_PAYMENT) \
        .order_by("hold_expires_at").values_list("hold_expires_at", flat=True).first()


def _holds_schedule(due_at: datetime) -> None:
    from core.scheduling import due_work_schedule

    due_work_schedule(kind=HOLDS_WORK, due_at=due_at)


@transaction.atomic
def holds_release_and_reschedule(*, now: datetime | None = None) -> int:
    """Release what expired, then tell the public index when the next hold runs out."""
    from core.scheduling import due_work_recompute

    now = now or timezone.now()
    released = holds_release_expired(now=now)
    due_work_recompute(kind=HOLDS_WORK, next_due=_next_hold_expiry)
    return released


@transaction.atomic
def holds_release_expired(*, now: datetime | None = None) -> int:
    """Cancel unpaid bookings whose hold ran out (by ``system``); their slots are free again."""
    now = now or timezone.now()
    expired = list(CallParticipant.objects.filter(
        status=CallParticipant.Status.PENDING_PAYMENT, hold_expires_at__lte=now).values_list("pk", flat=True))
    released = 0
    for participant_id in expired:
        released += booking_release_unpaid(participant_id=participant_id, reason="Payment not completed",
                                           now=now, expired_only=True)
    return released


@transaction.atomic
def booking_release_unpaid(*, participant_id: int, reason: str, now: datetime | None = None,
                           expired_only: bool = False) -> bool:
    """Give an unpaid booking's slot back (checkout left, expired or impossible); False if it was not
    unpaid (or, with ``expired_only``, if its hold was extended meanwhile)."""
    now = now or timezone.now()
    _, participant = booking_lock(participant_id=participant_id)
    if participant.status != CallParticipant.Status.PENDING_PAYMENT:
        return False
    if expired_only and participant.hold_expires_at and participant.hold_expires_at > now:
        return False
    _cancel_participant(participant, by=Call.CanceledBy.SYSTEM, reason=reason, now=now)
    return True


def hold_extend(*, participant: CallParticipant, until: datetime | None) -> None:
    """Keep the slot at least as long as the payment page can still be paid."""
    if until is None or participant.hold_expires_at is None or until <= participant.hold_expires_at:
        return
    from core.scheduling import due_work_recompute

    CallParticipant.objects.filter(pk=participant.pk).update(hold_expires_at=until)
    Call.objects.filter(pk=participant.call_id, status=Call.Status.PENDING_PAYMENT).update(hold_expires_at=until)
    participant.hold_expires_at = until
    due_work_recompute(kind=HOLDS_WORK, next_due=_next_hold_expiry)


@transaction.atomic
def booking_payment_received(*, participant_id: int, now: datetime | None = None) -> bool:
    """The booking was paid: confirm it. False when it cannot be kept (canceled by a person, or
    released and its time or seats taken since) — then the caller refunds."""
    now = now or timezone.now()
    call, participant = booking_lock(participant_id=participant_id)
    if participant.status == CallParticipant.Status.CONFIRMED:
        return True
    if participant.status == CallParticipant.Status.PENDING_PAYMENT and call.start_at <= now:
        _cancel_participant(participant, by=Call.CanceledBy.SYSTEM, reason="Paid after the call had started",
                            now=now)
        return False
    if participant.status == CallParticipant.Status.CANCELED:
        if participant.canceled_by != Call.CanceledBy.SYSTEM or call.start_at <= now:
            return False
        if not _reinstate(call, participant):
            return False
    participant.status, participant.hold_expires_at = CallParticipant.Status.CONFIRMED, None
    participant.canceled_at, participant.canceled_by, participant.cancel_reason = None, "", ""
    participant.save(update_fields=["status", "hold_expires_at", "canceled_at", "canceled_by", "cancel_reason"])
    if call.kind == Offering.Kind.INDIVIDUAL and call.status != Call.Status.CONFIRMED:
        call.status, call.hold_expires_at = Call.Status.CONFIRMED, None
        call.save(update_fields=["status", "hold_expires_at", "updated_at"])
    signals.booking_confirmed.send(Call, call=call, participant=participant)
    return True


def _reinstate(call: Call, participant: CallParticipant) -> bool:
    """A released booking paid late: back on the call if its time (or seats) are still free."""
    if call.kind == Offering.Kind.GROUP:
        return call.status == Call.Status.CONFIRMED and \
            participant.seats <= call.capacity - seats_taken(call=call)
    if call.canceled_by != Call.CanceledBy.SYSTEM:
        return False
    call.status, call.hold_expires_at = Call.Status.CONFIRMED, None
    call.canceled_at, call.canceled_by, call.cancel_reason = None, "", ""
    try:
        with transaction.atomic():
            call.save(update_fields=["status", "hold_expires_at", "canceled_at", "canceled_by", "cancel_reason",
                                     "updated_at"])
    except IntegrityError:  # someone else booked that time meanwhile
        call.refresh_from_db()
        return False
    return True
