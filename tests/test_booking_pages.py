"""The public booking pages: slots in the visitor's zone, booking, and the manage link."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from booking.availability import PeriodIn, availability_replace
from booking.models import Call, CallParticipant
from booking.offerings import offering_create


@pytest.fixture
def offering(tenant_alpha):
    with tenant_context(tenant_alpha):
        owner = User.objects.get(email="alice@alpha.example")
        availability_replace(consultant=owner, time_zone="Europe/Kyiv",
                             weekly=[(d, PeriodIn("10:00", "12:00")) for d in range(7)], overrides=[])
        return offering_create(consultant=owner, kind="individual", data={
            "title": "Strategy call", "duration_minutes": 60, "price_amount": 0, "min_notice_minutes": 0})


def test_slots_are_shown_in_the_visitors_zone(client, alpha_host, offering):
    page = client.get(f"/book/{offering.public_id}/?tz=America/New_York", HTTP_HOST=alpha_host)
    body = page.content.decode()
    assert page.status_code == 200
    # 10:00 and 11:00 in Kyiv are 03:00/04:00 (or 04:00/05:00 around DST) in New York.
    assert ("> 03:00" in body and "> 04:00" in body) or ("> 04:00" in body and "> 05:00" in body)
    assert 'value="America/New_York" selected' in body


def test_booking_from_the_page_leads_to_the_manage_page(client, alpha_host, offering, tenant_alpha):
    later = (timezone.now() + timedelta(days=3)).date().isoformat()  # beyond the 24-hour change cut-off
    page = client.get(f"/book/{offering.public_id}/?tz=Europe/Kyiv&from={later}",
                      HTTP_HOST=alpha_host).content.decode()
    start = page.split('name="start" value="')[1].split('"')[0]
    response = client.post(f"/book/{offering.public_id}/?tz=Europe/Kyiv", {
        "start": start, "name": "Paula Page", "email": "paula@client.example", "time_zone": "Europe/Kyiv",
        "time_format": "12h"}, HTTP_HOST=alpha_host)
    assert response.status_code == 302
    manage = response["Location"]
    assert manage.startswith("/bookings/") and "token=" in manage
    body = client.get(manage, HTTP_HOST=alpha_host).content.decode()
    assert "Strategy call" in body and "Confirmed" in body and "Paula Page" in body
    with tenant_context(tenant_alpha):
        participant = CallParticipant.objects.get()
        assert (participant.time_zone, participant.time_format) == ("Europe/Kyiv", "12h")

    token = parse_qs(urlsplit(manage).query)["token"][0]
    client.post(urlsplit(manage).path, {"token": token, "action": "cancel", "reason": "Changed plans"},
                HTTP_HOST=alpha_host)
    with tenant_context(tenant_alpha):
        assert Call.objects.get().status == "canceled"


def test_manage_page_refuses_a_wrong_token(client, alpha_host, offering, tenant_alpha):
    from booking.services import BookingRequest, booking_create

    with tenant_context(tenant_alpha):
        start = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo("Europe/Kyiv")).replace(
            hour=10, minute=0, second=0, microsecond=0)
        booked = booking_create(request=BookingRequest(offering_id=str(offering.public_id), start=start,
                                                       name="X", email="x@x.example"))
    response = client.get(f"/bookings/{booked.participant.public_id}/?token=forged", HTTP_HOST=alpha_host)
    assert response.status_code == 403
    assert client.get(f"/bookings/{booked.participant.public_id}/?token={booked.manage_token}",
                      HTTP_HOST="beta.localhost").status_code == 404


def test_booking_a_taken_slot_from_the_page_explains(client, alpha_host, offering):
    page = client.get(f"/book/{offering.public_id}/?tz=Europe/Kyiv", HTTP_HOST=alpha_host).content.decode()
    start = page.split('name="start" value="')[1].split('"')[0]
    form = {"start": start, "name": "A", "email": "a@client.example", "time_zone": "Europe/Kyiv"}
    assert client.post(f"/book/{offering.public_id}/", form, HTTP_HOST=alpha_host).status_code == 302
    again = client.post(f"/book/{offering.public_id}/", form | {"email": "b@client.example"}, HTTP_HOST=alpha_host)
    assert again.status_code == 400
    assert "This time has just been taken" in again.content.decode()


def test_unknown_offering_page_is_404(client, alpha_host):
    assert client.get("/book/not-a-uuid/", HTTP_HOST=alpha_host).status_code == 404
    assert client.get("/book/3f1c1d7e-0000-4000-8000-000000000000/", HTTP_HOST=alpha_host).status_code == 404


def test_each_slot_is_named_by_day_and_time_for_screen_readers(client, alpha_host, offering):
    """A radio named "11:00" alone says nothing about the day: each slot's label carries the day
    and the end (visually hidden), and each day is a group named by its heading."""
    from datetime import datetime

    first = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo("Europe/Kyiv")).date()
    body = client.get(f"/book/{offering.public_id}/?tz=Europe/Kyiv&from={first.isoformat()}",
                      HTTP_HOST=alpha_host).content.decode()
    start = datetime.fromisoformat(body.split('name="start" value="')[1].split('"')[0]).astimezone(
        ZoneInfo("Europe/Kyiv"))
    assert start.strftime("%H:%M") == "10:00"
    day = f"{start:%A} {start.day} {start:%B}"
    assert f'<span class="sr-only">{day}, </span><input type="radio" name="start"' in body
    assert '> 10:00<span class="sr-only"> to 11:00</span></label>' in body
    assert (f'<div class="day" role="group" aria-labelledby="day-{first.isoformat()}">'
            f'<h2 id="day-{first.isoformat()}">{start:%a} {start.day} {start:%b}</h2>') in body


def test_a_full_group_call_says_so_instead_of_offering_the_form(client, alpha_host, tenant_alpha):
    from booking.services import BookingRequest, booking_create

    with tenant_context(tenant_alpha):
        owner = User.objects.get(email="alice@alpha.example")
        start = (timezone.now() + timedelta(days=4)).replace(minute=0, second=0, microsecond=0)
        group = offering_create(consultant=owner, kind="group", data={
            "title": "Small workshop", "price_amount": 0, "start_at": start, "end_at": start + timedelta(hours=1),
            "capacity": 1})
        booking_create(request=BookingRequest(offering_id=str(group.public_id), start=None, name="First",
                                              email="first@client.example"))
    page = client.get(f"/book/{group.public_id}/?tz=Europe/Kyiv", HTTP_HOST=alpha_host)
    body = page.content.decode()
    assert page.status_code == 200
    assert "This group call is full." in body and "See what else you can book" in body
    assert 'name="seats"' not in body and "Book</button>" not in body
    late = client.post(f"/book/{group.public_id}/", {"name": "Late", "email": "late@client.example", "seats": 1,
                                                     "time_zone": "Europe/Kyiv"}, HTTP_HOST=alpha_host)
    assert late.status_code == 400 and "This group call is full." in late.content.decode()


def test_a_wrong_booking_address_gets_the_sites_own_not_found_page(client, alpha_host):
    response = client.get("/book/3f1c1d7e-0000-4000-8000-000000000000/", HTTP_HOST=alpha_host)
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in body and "Go to the home page" in body and "Alpha Advisory" in body


def test_sending_the_booking_form_twice_leads_to_the_first_booking(client, alpha_host, offering, tenant_alpha):
    page = client.get(f"/book/{offering.public_id}/?tz=Europe/Kyiv", HTTP_HOST=alpha_host).content.decode()
    start = page.split('name="start" value="')[1].split('"')[0]
    key = page.split('name="submit_key" value="')[1].split('"')[0]
    form = {"start": start, "name": "Dot Double", "email": "dot@client.example", "time_zone": "Europe/Kyiv",
            "submit_key": key}
    first = client.post(f"/book/{offering.public_id}/", form, HTTP_HOST=alpha_host)
    again = client.post(f"/book/{offering.public_id}/", form, HTTP_HOST=alpha_host, follow=True)
    assert first.status_code == 302 and again.redirect_chain[0][0] == first["Location"]
    assert "You had already sent this booking: here it is." in again.content.decode()
    with tenant_context(tenant_alpha):
        assert CallParticipant.objects.filter(email="dot@client.example").count() == 1
    # Another page (another key) for the same time is a new attempt, and that time is taken.
    other = client.post(f"/book/{offering.public_id}/", form | {"submit_key": "another-page"}, HTTP_HOST=alpha_host)
    assert other.status_code == 400 and "This time has just been taken" in other.content.decode()


def test_the_booking_page_is_never_served_from_a_cache(client, alpha_host, offering):
    """Its slots are live: the back button after booking must not offer the time just taken."""
    response = client.get(f"/book/{offering.public_id}/?tz=Europe/Kyiv", HTTP_HOST=alpha_host)
    assert "no-store" in response["Cache-Control"]
