"""Who is told what about a call, in their own zone and time format, with a
calendar invite. Each function queues its emails in the outbox (the caller's
transaction); nothing here sends anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string

from billing.selectors import payment_of
from booking.models import Call, CallParticipant, Offering
from core.urls import host_url
from notifications.ics import Invite, google_calendar_link, invite_ics, outlook_calendar_link
from notifications.outbox import Email, current_tenant, message_queue
from themes.services import email_brand


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    time_zone: str
    time_format: str
    link: str  # where they manage the call
    join_link: str  # the call's room (a client's carries their token)
    uid: str  # their own calendar event
    is_host: bool = False


def _site() -> tuple[str, str]:
    tenant = current_tenant()
    return tenant.name, host_url(tenant.primary_domain)


def _domain() -> str:
    return current_tenant().primary_domain


def when(value: datetime, end: datetime | None, time_zone: str, time_format: str) -> str:
    """``Thursday 7 January 2027, 14:30–15:30 (Europe/Kyiv)`` in the reader's zone and format."""
    zone = ZoneInfo(time_zone)
    local = value.astimezone(zone)

    def clock(moment: datetime) -> str:
        if time_format == "12h":
            return moment.strftime("%I:%M %p").lstrip("0")
        return moment.strftime("%H:%M")

    span = clock(local) + (f"–{clock(end.astimezone(zone))}" if end else "")
    return f"{local:%A} {local.day} {local:%B %Y}, {span} ({time_zone})"


def client_of(participant: CallParticipant) -> Recipient:
    from booking.services import manage_token_for

    _, site = _site()
    token = manage_token_for(participant)
    # Bookings made before links could be derived again: point to the site rather than a dead link.
    link = f"{site}/bookings/{participant.public_id}/?token={token}" if token else f"{site}/"
    room = f"{site}/calls/{participant.call.public_id}/room/"
    return Recipient(name=participant.name, email=participant.email, time_zone=participant.time_zone,
                     time_format=participant.time_format, link=link,
                     join_link=f"{room}?token={token}" if token else link,
                     uid=f"{participant.call.public_id}-{participant.public_id}@{_domain()}")


def host_of(call: Call) -> Recipient:
    consultant = call.consultant
    profile = getattr(consultant, "profile", None)
    _, site = _site()
    return Recipient(name=consultant.full_name, email=consultant.email,
                     time_zone=profile.time_zone if profile else call.consultant_time_zone,
                     time_format=profile.time_format if profile else "24h",
                     link=f"{site}/calls/{call.public_id}/", join_link=f"{site}/calls/{call.public_id}/room/",
                     uid=f"{call.public_id}-host@{_domain()}", is_host=True)


def _invite(call: Call, recipient: Recipient, *, canceled: bool = False, sequence: int | None = None) -> Invite:
    site_name, _ = _site()
    other = "your client" if recipient.is_host else call.consultant.full_name
    return Invite(
        uid=recipient.uid, sequence=call.sequence if sequence is None else sequence, start=call.start_at,
        end=call.end_at, summary=f"{call.title} — {site_name}",
        description=f"{call.title} with {other}. Join: {recipient.join_link} — manage: {recipient.link}",
        url=recipient.join_link,
        organizer_email=call.consultant.email, organizer_name=call.consultant.full_name,
        attendee_email=recipient.email, attendee_name=recipient.name, canceled=canceled)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _send(kind: str, call: Call | None, recipient_email: str, subject: str, *, headline: str,
          paragraphs: list[str], facts: list[tuple[str, str]] | None = None,
          buttons: list[tuple[str, str]] | None = None, invite: Invite | None = None, footnote: str = "",
          reply_to: str = "") -> None:
    site_name, site = _site()
    brand = email_brand(site_url=site)  # the tenant's theme, made safe for a light email
    context = {"site_name": site_name, "headline": headline, "paragraphs": paragraphs, "facts": facts or [],
               "buttons": buttons or [], "footnote": footnote, "brand_color": brand["color"],
               "brand_text_color": brand["text_color"], "link_color": brand["link_color"],
               "logo_url": brand["logo_url"], "calendar_links": []}
    attachments = []
    if invite is not None:
        method = "CANCEL" if invite.canceled else "REQUEST"
        attachments.append({"filename": "invite.ics", "content": invite_ics(invite),
                            "content_type": f"text/calendar; method={method}"})
        if not invite.canceled:
            context["calendar_links"] = [("Add to Google Calendar", google_calendar_link(invite)),
                                         ("Add to Outlook", outlook_calendar_link(invite))]
    message_queue(Email(
        kind=kind, to=recipient_email, subject=_one_line(subject), reply_to=reply_to, attachments=attachments,
        text=render_to_string("notifications/emails/message.txt", context),
        html=render_to_string("notifications/emails/message.html", context)), call=call)


def _money(amount: int, currency: str) -> str:
    from core.money import Money
    from core.templatetags.money import money

    return money(Money(amount, currency))


def _receipt(participant: CallParticipant) -> list[tuple[str, str]]:
    payment = payment_of(participant)
    if payment is None or payment.status != "paid":
        return []
    paid_on = when(payment.paid_at, None, participant.time_zone, participant.time_format)
    return [("Paid", f"{_money(payment.amount, payment.currency)} on {paid_on}"),
            ("Payment reference", payment.payment_intent_id or str(payment.public_id))]


def _facts(call: Call, recipient: Recipient, *, with_whom: str) -> list[tuple[str, str]]:
    return [("When", when(call.start_at, call.end_at, recipient.time_zone, recipient.time_format)),
            ("With", with_whom)]


def booking_confirmed(call: Call, participant: CallParticipant) -> None:
    client, host = client_of(participant), host_of(call)
    group = call.kind == Offering.Kind.GROUP
    seats = f"{participant.seats} seats" if participant.seats > 1 else "1 seat"
    _send("booking_confirmed", call, client.email,
          f"{'Your seat is booked' if group else 'Booking confirmed'}: {call.title}",
          headline=f"You're booked for {call.title}",
          paragraphs=[f"Hello {client.name}, your {'place (' + seats + ')' if group else 'call'} with "
                      f"{call.consultant.full_name} is confirmed."],
          facts=_facts(call, client, with_whom=call.consultant.full_name) + _receipt(participant),
          buttons=[("Join the call", client.join_link), ("Reschedule or cancel", client.link)],
          invite=_invite(call, client), reply_to=call.consultant.email,
          footnote="Keep this email: its links let you join, reschedule or cancel.")
    if group:
        taken = sum(p.seats for p in call.participants.filter(status=CallParticipant.Status.CONFIRMED))
        _send("participant_joined", call, host.email, f"New participant: {participant.name} — {call.title}",
              headline=f"{participant.name} joined {call.title}",
              paragraphs=[f"{participant.name} ({participant.email}) booked {seats}. "
                          f"{taken} of {call.capacity} seats are taken."],
              facts=_facts(call, host, with_whom=f"{taken} participant seat(s)"),
              buttons=[("Open the call", host.link)], invite=_invite(call, host))
    else:
        _send("booking_confirmed", call, host.email, f"New booking: {call.title} with {participant.name}",
              headline=f"{participant.name} booked {call.title}",
              paragraphs=[f"{participant.name} ({participant.email}) booked a call with you."]
              + ([f"Their note: “{participant.message}”"] if participant.message else []),
              facts=_facts(call, host, with_whom=participant.name),
              buttons=[("Open the call", host.link)], invite=_invite(call, host), reply_to=participant.email)


def hold_released(call: Call, participant: CallParticipant) -> None:
    client = client_of(participant)
    _, site = _site()
    _send("hold_released", call, client.email, f"Your booking was not completed: {call.title}",
          headline="Your time was released",
          paragraphs=[f"Hello {client.name}, we kept {call.title} with {call.consultant.full_name} for you, "
                      "but the payment was not completed, so the time is free again. Nothing was charged."],
          facts=[("Was", when(call.start_at, call.end_at, client.time_zone, client.time_format))],
          buttons=[("Book again", f"{site}/book/{call.offering.public_id}/")], reply_to=call.consultant.email)


def _participants(call: Call) -> list[CallParticipant]:
    return list(call.participants.filter(status=CallParticipant.Status.CONFIRMED).select_related("call"))


def call_rescheduled(call: Call, old_start: datetime, old_end: datetime) -> None:
    """Told only when someone holds a confirmed place: an unpaid or empty call has no invites out."""
    participants = _participants(call)
    if call.status != Call.Status.CONFIRMED or not participants:
        return
    for participant in participants:
        client = client_of(participant)
        _send("call_rescheduled", call, client.email, f"New time: {call.title}",
              headline=f"{call.title} has a new time",
              paragraphs=[f"Hello {client.name}, your call with {call.consultant.full_name} has moved."],
              facts=[("New time", when(call.start_at, call.end_at, client.time_zone, client.time_format)),
                     ("Was", when(old_start, old_end, client.time_zone, client.time_format))],
              buttons=[("Join the call", client.join_link), ("Reschedule or cancel", client.link)],
              invite=_invite(call, client), reply_to=call.consultant.email)
    host = host_of(call)
    _send("call_rescheduled", call, host.email, f"New time: {call.title}",
          headline=f"{call.title} has a new time",
          paragraphs=["The call has moved; your calendar invite is updated."],
          facts=[("New time", when(call.start_at, call.end_at, host.time_zone, host.time_format)),
                 ("Was", when(old_start, old_end, host.time_zone, host.time_format))],
          buttons=[("Open the call", host.link)], invite=_invite(call, host))


WHO = {"host": "the host", "client": "the client", "system": "Consultio"}


def _refund_facts(participant: CallParticipant | None) -> list[tuple[str, str]]:
    from billing.selectors import refund_of

    refund = refund_of(participant) if participant is not None else None
    if refund is None:
        return []
    return [("Refund", f"{_money(refund.amount, refund.currency)} — {refund.get_reason_display()}")]


def booking_canceled(call: Call, participant: CallParticipant | None, by: str, reason: str) -> None:
    """A booking (or, with ``participant`` None, a whole group call) canceled by ``by``."""
    payment = payment_of(participant) if participant is not None else None
    paid_late = payment is not None and payment.status == "paid"
    if participant is not None and participant.price_amount > 0 and not paid_late:
        # Never confirmed (not paid): nobody got an invite, so no calendar needs canceling.
        if by == "system":
            hold_released(call, participant)
        elif by == "host":
            client = client_of(participant)
            _send("booking_canceled", call, client.email, f"Canceled: {call.title}",
                  headline=f"{call.title} is canceled",
                  paragraphs=[f"Hello {client.name}, {call.consultant.full_name} canceled the booking you had "
                              "not paid yet. Nothing was charged.", *([f"Their message: “{reason}”"] if reason
                                                                     else [])],
                  reply_to=call.consultant.email)
        return
    who = WHO.get(by, by)
    said = [f"Their message: “{reason}”"] if reason else []
    if paid_late and by == "system":
        said = [f"The payment arrived too late ({reason.lower()}); it is refunded in full."]
    if participant is not None:
        client = client_of(participant)
        _send("booking_canceled", call, client.email, f"Canceled: {call.title}",
              headline=f"{call.title} is canceled",
              paragraphs=[f"Hello {client.name}, your booking was canceled by {who}.", *said],
              facts=[("Was", when(call.start_at, call.end_at, client.time_zone, client.time_format))]
              + _refund_facts(participant),
              invite=_invite(call, client, canceled=True, sequence=call.sequence + 1),
              reply_to=call.consultant.email)
    host = host_of(call)
    if participant is not None and call.kind == Offering.Kind.GROUP:
        if by == "host":
            return  # the host canceled the whole group call: told once, when it is done
        _send("participant_left", call, host.email, f"{participant.name} canceled — {call.title}",
              headline=f"{participant.name} canceled their seat",
              paragraphs=[f"{participant.name} ({participant.email}) no longer attends {call.title}; "
                          f"canceled by {who}.", *said],
              facts=[("When", when(call.start_at, call.end_at, host.time_zone, host.time_format))]
              + _refund_facts(participant), buttons=[("Open the call", host.link)])
        return
    _send("booking_canceled", call, host.email, f"Canceled: {call.title}",
          headline=f"{call.title} is canceled",
          paragraphs=[f"The call was canceled by {who}.", *said],
          facts=[("Was", when(call.start_at, call.end_at, host.time_zone, host.time_format))]
          + ([("Client", participant.name)] if participant is not None else [])
          + _refund_facts(participant),
          invite=_invite(call, host, canceled=True, sequence=call.sequence + 1))


def time_left(left: timedelta) -> str:
    """``24 hours``, ``1 hour``, ``45 minutes``: how far away the call is, as a person would say it."""
    minutes = round(left.total_seconds() / 60)
    if minutes >= 90:
        hours = round(minutes / 60)
        return f"{hours} hours"
    if minutes >= 55:
        return "1 hour"
    return f"{minutes} minutes"


def reminder(call: Call, left: timedelta) -> None:
    ahead = time_left(left)
    for recipient in [client_of(p) for p in _participants(call)] + [host_of(call)]:
        _send("reminder", call, recipient.email, f"Reminder: {call.title} in {ahead}",
              headline=f"{call.title} starts in {ahead}",
              paragraphs=[f"Hello {recipient.name}, this is a reminder of your call."],
              facts=_facts(call, recipient, with_whom="your client(s)" if recipient.is_host
                           else call.consultant.full_name),
              buttons=[("Join the call", recipient.join_link)],
              reply_to="" if recipient.is_host else call.consultant.email)


def payment_refunded_late(participant: CallParticipant, refund) -> None:
    call = participant.call
    client = client_of(participant)
    amount = _money(refund.amount, refund.currency) if refund is not None else "Your payment"
    _send("payment_refunded", call, client.email, f"Refunded: {call.title}",
          headline="Your payment came too late",
          paragraphs=[f"Hello {client.name}, your payment for {call.title} arrived after the booking had been "
                      f"released, and the time is no longer available. {amount} is refunded to your card."],
          facts=[("Was", when(call.start_at, call.end_at, client.time_zone, client.time_format))],
          buttons=[("Choose another time", f"{_site()[1]}/book/{call.offering.public_id}/")],
          reply_to=call.consultant.email)


def payout_sent(payout, owner) -> None:
    profile = getattr(owner, "profile", None)
    arrival = when(payout.arrival_date, None, profile.time_zone if profile else "UTC",
                   profile.time_format if profile else "24h") if payout.arrival_date else "in a few days"
    _, site = _site()
    _send("payout_sent", None, owner.email, f"Payout sent: {_money(payout.amount, payout.currency)}",
          headline="Your payout is on its way",
          paragraphs=[f"{_money(payout.amount, payout.currency)} was sent to your bank account."],
          facts=[("Expected", arrival), ("Reference", payout.stripe_payout_id)],
          buttons=[("See payouts", f"{site}/payouts/")])


def calendar_needs_reconnect(connection) -> None:
    """Once per failure: a connected calendar stopped working and the consultant must reconnect it."""
    consultant = connection.consultant
    _, site = _site()
    account = connection.account_email or connection.ics_url
    _send("calendar_needs_reconnect", None, consultant.email,
          f"Reconnect your calendar: {connection.get_provider_display()}",
          headline="Your calendar needs reconnecting",
          paragraphs=[f"Hello {consultant.full_name}, we can no longer read {account} "
                      f"({connection.get_provider_display()}). Until you reconnect it, events you add there "
                      "do not block your booking page, and new calls are not written to it.",
                      f"What happened: {connection.failure_reason or 'the provider refused our access.'}"],
          buttons=[("Reconnect", f"{site}/calendars/")])
