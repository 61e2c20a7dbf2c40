import pytest
from django_tenants.utils import tenant_context

from booking.models import Offering, WeeklyPeriod
from conftest import ALPHA_OWNER_PASSWORD

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def owner(client, alpha_host, login):
    return login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)


def test_weekly_hours_are_added_and_removed_in_place(owner, alpha_host, tenant_alpha):
    response = owner.post("/availability/periods/", {"weekday": 0, "start": "09:00", "end": "12:00"},
                          HTTP_HOST=alpha_host, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body, "a partial for htmx, not a page"
    assert "09:00–12:00" in body
    clash = owner.post("/availability/periods/", {"weekday": 0, "start": "11:00", "end": "13:00"},
                       HTTP_HOST=alpha_host, **HTMX).content.decode()
    assert "Monday: 11:00–13:00 overlaps 09:00–12:00." in clash
    backwards = owner.post("/availability/periods/", {"weekday": 1, "start": "13:00", "end": "12:00"},
                           HTTP_HOST=alpha_host, **HTMX).content.decode()
    assert "must be before the end" in backwards
    with tenant_context(tenant_alpha):
        period = WeeklyPeriod.objects.get()
    after = owner.post(f"/availability/periods/{period.pk}/delete/", HTTP_HOST=alpha_host, **HTMX).content.decode()
    assert "09:00–12:00" not in after
    with tenant_context(tenant_alpha):
        assert not WeeklyPeriod.objects.exists()


def test_without_htmx_the_forms_still_work(owner, alpha_host, tenant_alpha):
    response = owner.post("/availability/periods/", {"weekday": 2, "start": "14:00", "end": "24:00"},
                          HTTP_HOST=alpha_host)
    assert response.status_code == 302
    page = owner.get("/availability/", HTTP_HOST=alpha_host).content.decode()
    assert "14:00–24:00" in page


def test_dates_and_vacations(owner, alpha_host):
    from datetime import date, timedelta

    day = (date.today() + timedelta(days=10)).isoformat()
    body = owner.post("/availability/dates/", {"date": day, "unavailable": "1"}, HTTP_HOST=alpha_host,
                      **HTMX).content.decode()
    assert "unavailable" in body
    past = owner.post("/availability/dates/", {"date": "2020-01-01", "start": "10:00", "end": "11:00"},
                      HTTP_HOST=alpha_host, **HTMX).content.decode()
    assert "2020-01-01 is in the past." in past
    vacation = owner.post("/availability/vacations/", {"start_date": day, "end_date": day}, HTTP_HOST=alpha_host,
                          **HTMX).content.decode()
    assert "Remove" in vacation
    overlap = owner.post("/availability/vacations/", {"start_date": day, "end_date": day}, HTTP_HOST=alpha_host,
                         **HTMX).content.decode()
    assert "It overlaps your vacation" in overlap


def test_assistants_have_no_availability_or_offerings(client, alpha_host, login, make_member, tenant_alpha):
    make_member(tenant_alpha, "assistant", "ann@alpha.example", "Ann")
    login(client, alpha_host, "ann@alpha.example")
    assert client.get("/availability/", HTTP_HOST=alpha_host).status_code == 403
    assert client.get("/offerings/", HTTP_HOST=alpha_host).status_code == 403


def test_nobody_removes_someone_elses_hours(client, alpha_host, login, make_member, tenant_alpha):
    from accounts.models import User
    from booking.availability import weekly_period_add

    with tenant_context(tenant_alpha):
        owner = User.objects.get(email="alice@alpha.example")
        period = weekly_period_add(consultant=owner, weekday=3, start="10:00", end="11:00")
    make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora")
    login(client, alpha_host, "cora@alpha.example")
    body = client.post(f"/availability/periods/{period.pk}/delete/", HTTP_HOST=alpha_host, **HTMX).content.decode()
    assert "No such period." in body
    with tenant_context(tenant_alpha):
        assert WeeklyPeriod.objects.filter(pk=period.pk).exists()


def test_offerings_are_created_with_prices_in_minor_units(owner, alpha_host, tenant_alpha):
    response = owner.post("/offerings/", {"kind": "individual", "title": "Intro", "price": "49.90",
                                          "currency": "EUR", "duration_minutes": 30, "active": "on"},
                          HTTP_HOST=alpha_host)
    assert response.status_code == 302
    with tenant_context(tenant_alpha):
        offering = Offering.objects.get()
        assert (offering.price_amount, offering.currency, offering.duration_minutes) == (4990, "EUR", 30)
    yen = owner.post("/offerings/", {"kind": "individual", "title": "Yen", "price": "100.5", "currency": "JPY",
                                     "duration_minutes": 30}, HTTP_HOST=alpha_host)
    assert yen.status_code == 400 and "JPY has 0 decimal places." in yen.content.decode()
    negative = owner.post("/offerings/", {"kind": "individual", "title": "Neg", "price": "-1", "currency": "USD",
                                          "duration_minutes": 30}, HTTP_HOST=alpha_host)
    assert negative.status_code == 400
    with tenant_context(tenant_alpha):
        assert Offering.objects.count() == 1
    owner.post(f"/offerings/{offering.public_id}/copy/", HTTP_HOST=alpha_host)
    owner.post(f"/offerings/{offering.public_id}/archive/", HTTP_HOST=alpha_host)
    with tenant_context(tenant_alpha):
        assert list(Offering.objects.filter(archived_at__isnull=True).values_list("title", flat=True)) == [
            "Intro (copy)"]
        assert Offering.objects.get(title="Intro").active is False


def test_group_offering_images_and_files(owner, client, alpha_host, tenant_alpha):
    import io
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone
    from PIL import Image

    from booking.models import OfferingMedia

    start = (timezone.now() + timedelta(days=5)).strftime("%Y-%m-%dT10:00")
    end = (timezone.now() + timedelta(days=5)).strftime("%Y-%m-%dT12:00")
    response = owner.post("/offerings/", {"kind": "group", "title": "Workshop", "price": "10", "currency": "USD",
                                          "start_at": start, "end_at": end, "capacity": 10, "active": "on"},
                          HTTP_HOST=alpha_host)
    assert response.status_code == 302, response.content.decode()[-3000:]
    with tenant_context(tenant_alpha):
        group = Offering.objects.get(kind="group")
    buffer = io.BytesIO()
    Image.new("RGB", (800, 400), (200, 80, 40)).save(buffer, "JPEG")
    url = f"/offerings/{group.public_id}/media/"
    assert owner.post(url, {"kind": "cover", "file": SimpleUploadedFile("c.jpg", buffer.getvalue())},
                      HTTP_HOST=alpha_host, HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code == 200
    fake = owner.post(url, {"kind": "gallery", "file": SimpleUploadedFile("g.jpg", b"not an image")},
                      HTTP_HOST=alpha_host, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert fake.status_code == 400 and "not a JPEG, PNG or WebP image" in fake.json()["errors"]["file"][0]
    big = owner.post(url, {"kind": "file", "file": SimpleUploadedFile("b.pdf", b"%PDF-" + b"0" * (10 * 2**20))},
                     HTTP_HOST=alpha_host, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert big.status_code == 400 and "the limit is 10 MB" in big.json()["errors"]["file"][0]
    assert owner.post(url, {"kind": "file", "title": "Agenda", "file": SimpleUploadedFile("a.pdf", b"%PDF-1.7")},
                      HTTP_HOST=alpha_host, HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code == 200
    with tenant_context(tenant_alpha):
        assert sorted(OfferingMedia.objects.values_list("kind", flat=True)) == ["cover", "file"]
    page = client.get(f"/book/{group.public_id}/?tz=UTC", HTTP_HOST=alpha_host).content.decode()
    assert 'class="cover"' in page and "Agenda" in page


def test_host_and_assigned_assistant_manage_calls_from_the_workspace(client, alpha_host, login, make_member,
                                                                     tenant_alpha):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from accounts.models import User
    from accounts.services.people import assistant_assign
    from booking.availability import PeriodIn, availability_replace
    from booking.models import Call
    from booking.services import BookingRequest, booking_create

    cora = make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora")
    ann = make_member(tenant_alpha, "assistant", "ann@alpha.example", "Ann")
    make_member(tenant_alpha, "assistant", "al@alpha.example", "Al")
    with tenant_context(tenant_alpha):
        availability_replace(consultant=cora, time_zone="UTC",
                             weekly=[(d, PeriodIn("09:00", "17:00")) for d in range(7)], overrides=[])
        from booking.offerings import offering_create

        offering = offering_create(consultant=cora, kind="individual", data={
            "title": "Session", "duration_minutes": 60, "price_amount": 0, "min_notice_minutes": 0})
        start = (timezone.now() + timedelta(days=3)).astimezone(ZoneInfo("UTC")).replace(
            hour=10, minute=0, second=0, microsecond=0)
        booking_create(request=BookingRequest(offering_id=str(offering.public_id), start=start, name="Kim",
                                              email="kim@client.example"))
        call = Call.objects.get()
        assistant_assign(actor=User.objects.get(email="alice@alpha.example"), assistant=ann, consultants=[cora])
    url = f"/calls/{call.public_id}/"
    login(client, alpha_host, "al@alpha.example")  # not assigned to Cora
    assert client.get(url, HTTP_HOST=alpha_host).status_code == 404
    client.logout()
    login(client, alpha_host, "ann@alpha.example")
    page = client.get(url, HTTP_HOST=alpha_host).content.decode()
    assert "Kim" in page and "Move the call" in page
    client.post(url, {"action": "cancel", "reason": "Consultant ill"}, HTTP_HOST=alpha_host)
    with tenant_context(tenant_alpha):
        call.refresh_from_db()
        assert (call.status, call.canceled_by, call.cancel_reason) == ("canceled", "host", "Consultant ill")


def test_booking_rules_are_owner_only_and_validated(owner, client, alpha_host, tenant_alpha):
    from booking.models import BookingSettings

    assert owner.post("/settings/booking/", {"hold_minutes": 10, "client_change_cutoff_hours": 24},
                      HTTP_HOST=alpha_host).status_code == 400
    assert owner.post("/settings/booking/", {"hold_minutes": 45, "client_change_cutoff_hours": 12},
                      HTTP_HOST=alpha_host).status_code == 302
    with tenant_context(tenant_alpha):
        rules = BookingSettings.objects.get()
        assert (rules.hold_minutes, rules.client_change_cutoff_hours) == (45, 12)


def test_group_call_times_typed_in_the_form_are_the_consultants_wall_clock(owner, alpha_host, tenant_alpha):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from consultants.models import Profile

    berlin = ZoneInfo("Europe/Berlin")
    with tenant_context(tenant_alpha):
        Profile.objects.filter(user__email="alice@alpha.example").update(time_zone="Europe/Berlin")
    day = (datetime.now(berlin) + timedelta(days=9)).date().isoformat()
    response = owner.post("/offerings/", {"kind": "group", "title": "Evening workshop", "price": "10",
                                          "currency": "USD", "start_at": f"{day}T18:00", "end_at": f"{day}T19:30",
                                          "capacity": 4, "active": "on"}, HTTP_HOST=alpha_host)
    assert response.status_code == 302, response.content.decode()[-2000:]
    with tenant_context(tenant_alpha):
        group = Offering.objects.get(title="Evening workshop")
    assert group.start_at.astimezone(berlin).strftime("%Y-%m-%dT%H:%M") == f"{day}T18:00"
    assert group.end_at.astimezone(berlin).strftime("%H:%M") == "19:30"
    edit = owner.get(f"/offerings/{group.public_id}/", HTTP_HOST=alpha_host).content.decode()
    assert f'value="{day}T18:00' in edit or f'value="{day} 18:00' in edit
