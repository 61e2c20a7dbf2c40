"""When a call's time is over it completes itself; who came decides the refunds."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.video_support import call_now

pytestmark = pytest.mark.django_db


def _paid(live) -> None:
    from billing.models import Payment

    with schema_context(live.schema):
        for client in live.clients:
            Payment.objects.create(participant_id=client.pk, status="paid",
                                   checkout_session_id=f"cs_{secrets.token_hex(6)}", amount=5000, currency="EUR",
                                   application_fee=250, paid_at=timezone.now())


def _stay(live, *, client_index: int | None, minutes: tuple[int, int]) -> None:
    """Someone was in the room from ``minutes[0]`` to ``minutes[1]`` after the start."""
    from booking.models import Call
    from video.models import Attendance

    with schema_context(live.schema):
        start = Call.objects.get(pk=live.pk).start_at
        Attendance.objects.create(
            call_id=live.pk, participant_id=None if client_index is None else live.clients[client_index].pk,
            peer_id=secrets.token_hex(8), channel_name="gone", name="someone",
            joined_at=start + timedelta(minutes=minutes[0]), left_at=start + timedelta(minutes=minutes[1]),
            seen_at=start + timedelta(minutes=minutes[1]))


def _complete(live) -> tuple[str, list[tuple[str, int]]]:
    from billing.models import Refund
    from booking.models import Call
    from video.completion import calls_complete_due

    with schema_context(live.schema):
        calls_complete_due(now=timezone.now())
        call = Call.objects.get(pk=live.pk)
        refunds = list(Refund.objects.filter(payment__participant__call=call).order_by("id")
                       .values_list("reason", "amount"))
        return call.status, refunds


@pytest.fixture
def ended(tenant_alpha, alpha_host):
    """A paid group call for two that ended 20 minutes ago (past the default 15-minute grace)."""
    live = call_now(tenant_alpha.schema_name, alpha_host, clients=2, starts_in=-timedelta(minutes=80), price=5000)
    _paid(live)
    return live


def test_the_host_never_came_so_everyone_is_refunded(ended):
    _stay(ended, client_index=0, minutes=(0, 30))
    status, refunds = _complete(ended)
    assert status == "completed"
    assert refunds == [("host_no_show", 5000), ("host_no_show", 5000)]


def test_nobody_came_so_everyone_is_refunded_as_such(ended):
    status, refunds = _complete(ended)
    assert status == "completed" and refunds == [("nobody_joined", 5000), ("nobody_joined", 5000)]


def test_the_host_came_so_nobody_is_refunded_even_those_who_missed_it(ended):
    _stay(ended, client_index=None, minutes=(-5, 60))
    _stay(ended, client_index=1, minutes=(2, 58))
    status, refunds = _complete(ended)
    assert status == "completed" and refunds == []


def test_calls_still_in_their_grace_period_are_left_alone(tenant_alpha, alpha_host):
    live = call_now(tenant_alpha.schema_name, alpha_host, starts_in=-timedelta(minutes=70), price=5000)
    _paid(live)
    status, refunds = _complete(live)
    assert status == "confirmed" and refunds == []


def test_completion_closes_the_room_and_is_scheduled_in_the_public_index(ended, tenant_alpha):
    from booking.models import Call
    from core.models import DueWork
    from video.completion import COMPLETION_WORK, completion_schedule
    from video.models import Attendance, Room

    with schema_context(ended.schema):
        call = Call.objects.get(pk=ended.pk)
        Room.objects.create(call=call, provider="webrtc")
        Attendance.objects.create(call=call, participant=None, peer_id="still-here", channel_name="x", name="Host",
                                  joined_at=call.start_at, seen_at=call.start_at + timedelta(minutes=50))
        completion_schedule(call)
    assert DueWork.objects.get(schema_name=tenant_alpha.schema_name, kind=COMPLETION_WORK).due_at == \
        call.end_at + timedelta(minutes=15)
    status, refunds = _complete(ended)
    assert status == "completed" and refunds == []  # the host was there
    with schema_context(ended.schema):
        # Its connection died unseen: it left when last heard from (plus the silence allowed).
        assert Attendance.objects.get(peer_id="still-here").left_at == call.start_at + timedelta(minutes=50, seconds=75)
        assert Room.objects.get(call_id=ended.pk).completed_at is not None
    assert not DueWork.objects.filter(schema_name=tenant_alpha.schema_name, kind=COMPLETION_WORK,
                                      due_at__lte=timezone.now()).exists()


def test_attendance_adds_up_each_persons_time_once(ended):
    from booking.models import Call
    from video.room import attendance_summary

    _stay(ended, client_index=None, minutes=(0, 30))
    _stay(ended, client_index=None, minutes=(35, 60))  # back after a dropped connection
    _stay(ended, client_index=0, minutes=(5, 40))
    _stay(ended, client_index=0, minutes=(10, 20))  # a second tab, inside the first stay
    with schema_context(ended.schema):
        summary = attendance_summary(Call.objects.get(pk=ended.pk), now=timezone.now())
    assert [(p.is_host, p.seconds // 60, p.stays) for p in summary] == [(True, 55, 2), (False, 35, 2)]


def test_completing_at_a_given_time_settles_the_refunds_at_that_time_too(tenant_alpha, alpha_host):
    """``call_complete(now=…)`` judges the whole completion by that clock, refunds included
    (a call still running on the wall clock, completed as of after its end)."""
    from billing.models import Refund
    from booking.models import Call
    from video.completion import call_complete

    live = call_now(tenant_alpha.schema_name, alpha_host, starts_in=-timedelta(minutes=5), minutes=30, price=5000)
    _paid(live)
    with schema_context(live.schema):
        end = Call.objects.get(pk=live.pk).end_at
        assert call_complete(call_id=live.pk, now=end + timedelta(minutes=16))
        assert Call.objects.get(pk=live.pk).status == "completed"
        refunds = Refund.objects.filter(payment__participant__call_id=live.pk).values_list("reason", "amount")
        assert list(refunds) == [("nobody_joined", 5000)]
