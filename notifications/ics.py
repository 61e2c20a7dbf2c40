"""Calendar invites (RFC 5545 via ``icalendar``): one event per call and recipient,
with a UID that never changes and a SEQUENCE that grows with each change, so
calendar apps update the event they already have instead of adding another."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Consultio//Consultations//EN"


@dataclass(frozen=True)
class Invite:
    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str
    url: str
    organizer_email: str
    organizer_name: str
    attendee_email: str
    attendee_name: str
    canceled: bool = False


def invite_ics(invite: Invite, *, now: datetime | None = None) -> str:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if invite.canceled else "REQUEST")
    event = Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", (now or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", invite.start.astimezone(UTC))
    event.add("dtend", invite.end.astimezone(UTC))
    event.add("summary", invite.summary)
    event.add("description", invite.description)
    event.add("location", invite.url)
    event.add("url", invite.url)
    event.add("status", "CANCELLED" if invite.canceled else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{invite.organizer_email}")
    organizer.params["cn"] = vText(invite.organizer_name)
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{invite.attendee_email}")
    attendee.params["cn"] = vText(invite.attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION" if not invite.canceled else "DECLINED")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical().decode()


def google_calendar_link(invite: Invite) -> str:
    from urllib.parse import urlencode

    fmt = "%Y%m%dT%H%M%SZ"
    dates = f"{invite.start.astimezone(UTC):{fmt}}/{invite.end.astimezone(UTC):{fmt}}"
    return "https://calendar.google.com/calendar/render?" + urlencode({
        "action": "TEMPLATE", "text": invite.summary, "dates": dates, "details": invite.description,
        "location": invite.url})


def outlook_calendar_link(invite: Invite) -> str:
    from urllib.parse import urlencode

    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode({
        "path": "/calendar/action/compose", "rru": "addevent", "subject": invite.summary,
        "startdt": invite.start.astimezone(UTC).isoformat(), "enddt": invite.end.astimezone(UTC).isoformat(),
        "body": invite.description, "location": invite.url})
