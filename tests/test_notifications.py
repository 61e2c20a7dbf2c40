"""Emails about calls: who gets what, in which zone, with which invite; delivered through
the outbox over real SMTP."""

from __future__ import annotations

import email
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from email import policy
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from icalendar import Calendar

from booking.models import Call, CallParticipant
from notifications.models import OutboxMessage, Reminder
from tests.billing_support import book, manage_token, offering, open_every_day, slot


@pytest.fixture
def api(alpha_api):
    open_every_day(alpha_api)
    return alpha_api


@pytest.fixture
def sent(smtp_server):
    """The messages the SMTP server received, parsed with the modern email API."""

    def messages(to: str | None = None):
        parsed = [email.message_from_bytes(raw, policy=policy.default) for raw in smtp_server.received]
        return [m for m in parsed if to is None or to in m["To"]]

    return messages


def _invite(message) -> Calendar:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, "one calendar invite per email"
    return Calendar.from_ical(parts[0].get_content())


def _event(calendar: Calendar):
    return next(iter(calendar.walk("VEVENT")))


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _book_free(api, capture, **changes):
    created = offering(api, amount=0, title="Intro call", duration_minutes=30)
    start = slot(api, created["id"], days_ahead=3)
    with capture(execute=True):
        response = book(api, created["id"], start, **changes)
    assert response.status_code == 201, response.content
    return response.json(), start


def test_a_booking_tells_client_and_host_in_their_own_zones(api, sent, tenant_alpha,
                                                           django_capture_on_commit_callbacks):
    booking, start = _book_free(api, django_capture_on_commit_callbacks, email="kim@client.example",
                                name="Kim Client", timezone="America/New_York", time_format="12h")
    client_mail, = sent("kim@client.example")
    host_mail, = sent("alice@alpha.example")
    assert client_mail["Subject"] == "Booking confirmed: Intro call"
    assert client_mail["From"] == "Alpha Advisory <no-reply@alpha.localhost>"
    assert client_mail["Reply-To"] == "alice@alpha.example"
    starts = datetime.fromisoformat(start)
    ny = starts.astimezone(ZoneInfo("America/New_York"))
    expected_client_time = ny.strftime("%I:%M %p").lstrip("0")
    assert expected_client_time in _text(client_mail) and "(America/New_York)" in _text(client_mail)
    kyiv = starts.astimezone(ZoneInfo("Europe/Kyiv"))
    assert kyiv.strftime("%H:%M") in _text(host_mail) and "(Europe/Kyiv)" in _text(host_mail)
    # The client's links: the manage page works with the token the email carries.
    assert f"/bookings/{booking['id']}/?token={manage_token(booking)}" in _text(client_mail)
    html = client_mail.get_body(preferencelist=("html",)).get_content()
    assert "calendar.google.com/calendar/render" in html and "outlook.live.com/calendar" in html
    invite = _invite(client_mail)
    event = _event(invite)
    assert str(invite["METHOD"]) == "REQUEST"
    assert event["DTSTART"].dt == starts.astimezone(UTC)
    assert f"DTSTART:{starts.astimezone(UTC):%Y%m%dT%H%M%SZ}" in invite.to_ical().decode()  # in UTC
    assert event["DTEND"].dt == starts.astimezone(UTC) + timedelta(minutes=30)
    assert int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]) == "mailto:alice@alpha.example"
    assert str(event["ATTENDEE"]) == "mailto:kim@client.example"
    # The invite and the email lead into the call's room with the same token; the host's, without.
    with tenant_context(tenant_alpha):
        from booking.models import CallParticipant

        call_id = CallParticipant.objects.get(public_id=booking["id"]).call.public_id
    room = f"/calls/{call_id}/room/"
    assert str(event["LOCATION"]) == str(event["URL"]) and str(event["URL"]).endswith(
        f"{room}?token={manage_token(booking)}")
    assert f"{room}?token={manage_token(booking)}" in _text(client_mail)
    assert f"/bookings/{booking['id']}/" in str(event["DESCRIPTION"])
    assert str(_event(_invite(host_mail))["URL"]).endswith(room)
    assert str(_event(_invite(host_mail))["UID"]) != str(event["UID"])  # the host's copy is its own event
    with tenant_context(tenant_alpha):
        assert set(OutboxMessage.objects.filter(kind="booking_confirmed").values_list("status", flat=True)) \
            == {"sent"}


def test_reschedule_and_cancel_update_the_same_calendar_event(api, sent, django_capture_on_commit_callbacks):
    booking, start = _book_free(api, django_capture_on_commit_callbacks)
    first = _event(_invite(sent("carla@client.example")[0]))
    new_start = slot(api, booking_offering_id(api), days_ahead=4)
    with django_capture_on_commit_callbacks(execute=True):
        moved = api.call("post", f"/bookings/{booking['id']}/reschedule?token={manage_token(booking)}",
                         {"start": new_start}, auth=False)
    assert moved.status_code == 200
    moved_mail = sent("carla@client.example")[-1]
    assert moved_mail["Subject"] == "New time: Intro call"
    second = _event(_invite(moved_mail))
    assert second["UID"] == first["UID"] and int(second["SEQUENCE"]) > int(first["SEQUENCE"])
    assert second["DTSTART"].dt == datetime.fromisoformat(new_start).astimezone(UTC)
    assert "Was" in _text(moved_mail) and "New time" in _text(moved_mail)
    assert sent("alice@alpha.example")[-1]["Subject"] == "New time: Intro call"
    with django_capture_on_commit_callbacks(execute=True):
        api.call("post", f"/bookings/{booking['id']}/cancel?token={manage_token(booking)}",
                 {"reason": "Plans changed"}, auth=False)
    cancel_mail = sent("carla@client.example")[-1]
    invite = _invite(cancel_mail)
    third = _event(invite)
    assert str(invite["METHOD"]) == "CANCEL" and str(third["STATUS"]) == "CANCELLED"
    assert third["UID"] == first["UID"] and int(third["SEQUENCE"]) > int(second["SEQUENCE"])
    host_cancel = sent("alice@alpha.example")[-1]
    assert "canceled by the client" in _text(host_cancel) and "Plans changed" in _text(host_cancel)


def booking_offering_id(api) -> str:
    return api.call("get", "/me/offerings").json()[0]["id"]


def test_a_paid_booking_is_announced_only_once_paid_with_a_receipt(api, sent, payments_ready, stripe_webhooks,
                                                                   django_capture_on_commit_callbacks):
    from tests.billing_support import paid_booking, pay

    with django_capture_on_commit_callbacks(execute=True):
        booking = paid_booking(api, amount=5000, currency="EUR")
    assert sent("carla@client.example") == []
    pay(booking["checkout_url"])
    stripe_webhooks.forward()
    mail, = sent("carla@client.example")
    assert "€50.00" in _text(mail) and "Payment reference: pi_" in _text(mail)
    with django_capture_on_commit_callbacks(execute=True):
        api.call("post", f"/bookings/{booking['id']}/cancel?token={manage_token(booking)}", {}, auth=False)
    canceled = sent("carla@client.example")[-1]
    assert "Refund: €50.00 — Client canceled the call" in _text(canceled)


def test_a_released_hold_tells_the_client(api, sent, payments_ready, tenant_alpha,
                                          django_capture_on_commit_callbacks):
    from booking.services import holds_release_expired
    from tests.billing_support import paid_booking

    booking = paid_booking(api)
    with tenant_context(tenant_alpha), django_capture_on_commit_callbacks(execute=True):
        expires = CallParticipant.objects.get(public_id=booking["id"]).hold_expires_at
        assert holds_release_expired(now=expires + timedelta(seconds=1)) == 1
    mail, = sent("carla@client.example")
    assert mail["Subject"].startswith("Your booking was not completed") and "Nothing was charged" in _text(mail)
    assert not [p for p in mail.walk() if p.get_content_type() == "text/calendar"]


def test_group_seats_tell_the_buyer_and_the_host(api, sent, django_capture_on_commit_callbacks):
    start = (timezone.now() + timedelta(days=5)).replace(microsecond=0)
    group = offering(api, amount=0, kind="group", title="Workshop", start=start.isoformat(),
                     end=(start + timedelta(hours=2)).isoformat(), capacity=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert book(api, group["id"], seats=2, email="gil@client.example", name="Gil").status_code == 201
    assert sent("gil@client.example")[0]["Subject"] == "Your seat is booked: Workshop"
    notice = sent("alice@alpha.example")[-1]
    assert notice["Subject"] == "New participant: Gil — Workshop" and "2 of 5 seats are taken" in _text(notice)


def test_smtp_down_then_up_sends_each_message_once(api, sent, settings, tenant_alpha,
                                                   django_capture_on_commit_callbacks):
    from core.models import DueWork
    from notifications.outbox import outbox_sweep

    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # nothing listens there
    _book_free(api, django_capture_on_commit_callbacks)
    assert sent() == []
    with tenant_context(tenant_alpha):
        waiting = list(OutboxMessage.objects.filter(kind="booking_confirmed"))
        assert len(waiting) == 2
        assert {m.status for m in waiting} == {"queued"} and all(m.attempts == 1 for m in waiting)
        assert all(m.last_error for m in waiting)
        retry_at = max(m.next_attempt_at for m in waiting)
    assert retry_at > timezone.now()  # backing off
    # The periodic dispatcher will look at this tenant's outbox no later than the retry time.
    assert DueWork.objects.get(schema_name="t_alpha", kind="notifications.outbox").due_at <= retry_at
    settings.EMAIL_PORT = port
    with tenant_context(tenant_alpha):
        assert outbox_sweep(now=retry_at - timedelta(seconds=1)) == 0  # not yet
        assert outbox_sweep(now=retry_at + timedelta(seconds=1)) == 2
        assert outbox_sweep(now=retry_at + timedelta(hours=1)) == 0
        assert set(OutboxMessage.objects.filter(kind="booking_confirmed").values_list("status", flat=True)) \
            == {"sent"}
    assert len(sent()) == 2


def test_a_worker_dying_mid_send_leaves_the_message_to_the_sweep(api, sent, tenant_alpha, settings,
                                                                 django_capture_on_commit_callbacks):
    from notifications.outbox import _claim, outbox_send, outbox_sweep

    with tenant_context(tenant_alpha):
        # Book without running on-commit work: the send task is never queued, as if Redis had lost it.
        booking, _ = _book_free(api, lambda execute: nullcontext())
        message = OutboxMessage.objects.filter(to_email="carla@client.example").get()
        now = timezone.now()
        assert _claim(message.pk, now) is not None  # a worker claims it… and dies before sending
        assert outbox_send(message_pk=message.pk, now=now + timedelta(seconds=30)) == "skipped"  # lease holds
        assert outbox_sweep(now=now + timedelta(minutes=3)) == 2  # the lease ran out: sent (with the host's)
        message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2
    mail, = sent("carla@client.example")
    assert mail["Message-ID"] == message.message_id


def test_reminders_follow_the_call(api, sent, tenant_alpha, django_capture_on_commit_callbacks):
    from core.models import DueWork
    from notifications.reminders import reminders_send_due

    booking, start = _book_free(api, django_capture_on_commit_callbacks)
    starts = datetime.fromisoformat(start)
    with tenant_context(tenant_alpha):
        call = Call.objects.get()
        reminders = {r.offset_minutes: r.due_at for r in Reminder.objects.filter(call=call)}
    assert reminders == {1440: starts - timedelta(hours=24), 60: starts - timedelta(hours=1)}
    assert DueWork.objects.get(schema_name="t_alpha", kind="notifications.reminders").due_at == \
        starts - timedelta(hours=24)
    new_start = slot(api, booking_offering_id(api), days_ahead=4)
    with django_capture_on_commit_callbacks(execute=True):
        api.call("post", f"/bookings/{booking['id']}/reschedule?token={manage_token(booking)}",
                 {"start": new_start}, auth=False)
    moved = datetime.fromisoformat(new_start)
    with tenant_context(tenant_alpha):
        assert sorted(Reminder.objects.values_list("due_at", flat=True)) == [
            moved - timedelta(hours=24), moved - timedelta(hours=1)]
        before = len(sent())
        with django_capture_on_commit_callbacks(execute=True):
            assert reminders_send_due(now=moved - timedelta(hours=24) + timedelta(seconds=1)) == 1
            assert reminders_send_due(now=moved - timedelta(hours=24) + timedelta(minutes=2)) == 0  # once
    reminder_mails = sent()[before:]
    assert sorted(m["To"] for m in reminder_mails) == ["alice@alpha.example", "carla@client.example"]
    assert reminder_mails[0]["Subject"] == "Reminder: Intro call in 24 hours"
    with django_capture_on_commit_callbacks(execute=True):
        api.call("post", f"/bookings/{booking['id']}/cancel?token={manage_token(booking)}", {}, auth=False)
    with tenant_context(tenant_alpha):
        assert not Reminder.objects.filter(sent_at__isnull=True).exists()
        # The index entry is left to the reminders task, which wakes once, finds nothing and clears it.
        assert reminders_send_due(now=moved - timedelta(hours=1)) == 0
    assert not DueWork.objects.filter(schema_name="t_alpha", kind="notifications.reminders").exists()


def test_overdue_reminders_send_only_the_nearest_worded_from_the_time_left(api, sent, tenant_alpha,
                                                                          django_capture_on_commit_callbacks):
    from notifications.reminders import reminders_send_due

    _, start = _book_free(api, django_capture_on_commit_callbacks)
    starts = datetime.fromisoformat(start)
    before = len(sent())
    with tenant_context(tenant_alpha), django_capture_on_commit_callbacks(execute=True):
        # The dispatcher was down for a day: both the 24-hour and the 1-hour reminders are due.
        assert reminders_send_due(now=starts - timedelta(minutes=45)) == 1
    subjects = sorted(m["Subject"] for m in sent()[before:])
    assert subjects == ["Reminder: Intro call in 45 minutes"] * 2  # client and host, once each


def test_a_moved_call_keeps_its_own_reminder_offsets(api, client, alpha_host, login, tenant_alpha,
                                                     django_capture_on_commit_callbacks):
    from conftest import ALPHA_OWNER_PASSWORD

    booking, _ = _book_free(api, django_capture_on_commit_callbacks)
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    client.post("/settings/notifications/", {"hours_before": "2"}, HTTP_HOST=alpha_host)
    new_start = slot(api, booking_offering_id(api), days_ahead=4)
    api.call("post", f"/bookings/{booking['id']}/reschedule?token={manage_token(booking)}", {"start": new_start},
             auth=False)
    moved = datetime.fromisoformat(new_start)
    with tenant_context(tenant_alpha):
        assert sorted(Reminder.objects.values_list("offset_minutes", "due_at")) == [
            (60, moved - timedelta(hours=1)), (1440, moved - timedelta(hours=24))]


def test_names_cannot_smuggle_mail_headers(api):
    created = offering(api, amount=0)
    response = book(api, created["id"], slot(api, created["id"]), name="Bob\nBcc: everyone@example.com")
    assert response.status_code == 422 and "line breaks" in response.json()["detail"]


def test_a_message_smtp_will_never_take_fails_without_blocking_the_rest(api, sent, tenant_alpha,
                                                                        django_capture_on_commit_callbacks):
    from notifications.outbox import outbox_sweep

    with tenant_context(tenant_alpha):
        now = timezone.now()
        bad = OutboxMessage.objects.create(kind="test", to_email="x@client.example", from_email="a@b.example",
                                           subject="Broken\nsubject", text="-", message_id="<bad@x>",
                                           next_attempt_at=now - timedelta(minutes=5))
        good = OutboxMessage.objects.create(kind="test", to_email="y@client.example", from_email="a@b.example",
                                            subject="Fine", text="-", message_id="<good@x>",
                                            next_attempt_at=now - timedelta(minutes=1))
        assert outbox_sweep(now=now) == 1
        bad.refresh_from_db()
        good.refresh_from_db()
    assert (bad.status, good.status) == ("failed", "sent") and "BadHeaderError" in bad.last_error
    assert [m["To"] for m in sent()] == ["y@client.example"]


@pytest.mark.parametrize("tenants", [2, 40])
def test_the_dispatcher_costs_one_query_whatever_the_number_of_tenants(tenants, django_assert_num_queries,
                                                                         db):
    from config.celery import app
    from core.models import DueWork
    from core.scheduling import due_work_list
    from core.tasks import due_work_queue
    from tenants.models import Tenant

    past = timezone.now() - timedelta(minutes=1)
    Tenant.objects.bulk_create([Tenant(schema_name=f"t_many_{i}", slug=f"many-{i}", name=f"Many {i}")
                                for i in range(tenants)])
    DueWork.objects.bulk_create([DueWork(schema_name=f"t_many_{i}", kind="notifications.reminders", due_at=past)
                                 for i in range(tenants)])
    DueWork.objects.create(schema_name="t_gone", kind="notifications.reminders", due_at=past)  # tenant deleted
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:  # the tasks are really published, to an in-memory broker nobody consumes
        with app.connection_for_write("memory://") as connection:
            producer = app.amqp.Producer(connection)
            with django_assert_num_queries(1):
                queued = due_work_queue(producer=producer)
            assert queued >= tenants
            assert "t_gone" not in {w.schema_name for w in due_work_list(now=timezone.now())}
            assert connection.default_channel.queue_declare("celery", passive=True).message_count >= tenants
    finally:
        app.conf.task_always_eager = eager


def test_what_one_change_queues_goes_over_one_smtp_connection(api, sent, smtp_server,
                                                               django_capture_on_commit_callbacks):
    _book_free(api, django_capture_on_commit_callbacks)
    assert len(sent()) == 2 and len(set(smtp_server.peers)) == 1  # client's and host's emails, one session


def test_a_reminder_backlog_is_worked_through_in_chunks(api, sent, tenant_alpha,
                                                        django_capture_on_commit_callbacks):
    from notifications import reminders

    created = offering(api, amount=0, title="Quick call", duration_minutes=15, min_notice_minutes=60)
    day = timezone.now().astimezone(ZoneInfo("Europe/Kyiv")).date() + timedelta(days=3)
    starts = [s["start"] for s in api.call("get", f"/offerings/{created['id']}/slots?start={day}&end={day}",
                                           auth=False).json()["slots"][:5]]
    for index, start in enumerate(starts):
        assert book(api, created["id"], start, email=f"c{index}@client.example").status_code == 201
    first = min(datetime.fromisoformat(s) for s in starts)
    reminders.REMINDERS_PER_TRANSACTION, saved = 2, reminders.REMINDERS_PER_TRANSACTION
    try:
        with tenant_context(tenant_alpha), django_capture_on_commit_callbacks(execute=True):
            assert reminders.reminders_send_due(now=first - timedelta(minutes=61)) == 5
    finally:
        reminders.REMINDERS_PER_TRANSACTION = saved
    mails = [m for m in sent() if m["Subject"].startswith("Reminder:")]
    assert len(mails) == 10  # five clients and the host five times: every chunk, each reminder once
    assert sorted(m["To"] for m in mails if m["To"] != "alice@alpha.example") == [
        f"c{i}@client.example" for i in range(5)]
    with tenant_context(tenant_alpha):
        assert not Reminder.objects.filter(sent_at__isnull=True, due_at__lte=first - timedelta(minutes=61)).exists()
