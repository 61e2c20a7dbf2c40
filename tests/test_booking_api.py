"""The booking API contract, end to end through HTTP on a tenant host."""

from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from booking.models import Call
from conftest import ALPHA_OWNER_PASSWORD

KYIV = ZoneInfo("Europe/Kyiv")


@pytest.fixture
def api(client, alpha_host):
    token = client.post("/api/v1/auth/token", {"email": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD},
                        content_type="application/json", HTTP_HOST=alpha_host).json()["access"]

    class Api:
        host = alpha_host

        def call(self, method, path, body=None, auth=True, host=None, **extra):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if auth else {}
            kwargs = {"content_type": "application/json"} if body is not None else {}
            return getattr(client, method)(f"/api/v1{path}", body if body is not None else None,
                                           HTTP_HOST=host or alpha_host, **headers, **kwargs, **extra)

    return Api()


def _next_weekday(weekday: int, weeks_ahead: int = 1) -> date:
    today = timezone.now().astimezone(KYIV).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


@pytest.fixture
def schedule(api):
    response = api.call("put", "/me/availability", {
        "timezone": "Europe/Kyiv",
        "weekly": [{"weekday": d, "start": "12:00", "end": "15:00"} for d in range(5)],
        "overrides": [],
    })
    assert response.status_code == 200, response.content
    return response.json()


def _offering(api, **changes):
    body = {"kind": "individual", "title": "Tax review", "duration_minutes": 15,
            "price": {"amount": 0}, "min_notice_minutes": 60} | changes
    response = api.call("post", "/me/offerings", body)
    assert response.status_code == 201, response.content
    return response.json()


def _slots(api, offering_id, day: date, tz="Europe/Kyiv"):
    response = api.call("get", f"/offerings/{offering_id}/slots?start={day}&end={day}&tz={tz}", auth=False)
    assert response.status_code == 200, response.content
    return response.json()


def _book(api, offering_id, start, **changes):
    body = {"offering_id": offering_id, "start": start, "name": "Carla Client", "email": "carla@client.example",
            "timezone": "America/New_York"} | changes
    return api.call("post", "/bookings", body, auth=False)


def test_offering_defaults(api):
    created = _offering(api)
    assert created["price"] == {"amount": 0, "currency": "USD"}  # the consultant's currency
    assert (created["buffer_before_minutes"], created["buffer_after_minutes"], created["horizon_days"],
            created["slot_step_minutes"], created["active"]) == (0, 0, 60, 15, True)
    bare = api.call("post", "/me/offerings", {"kind": "individual", "title": "Bare", "duration_minutes": 45,
                                               "price": {"amount": 100, "currency": "EUR"}}).json()
    assert bare["min_notice_minutes"] == 240 and bare["price"] == {"amount": 100, "currency": "EUR"}
    assert api.call("get", "/me/offerings").json()[0]["id"] in (created["id"], bare["id"])


def test_the_eight_slot_case_through_the_api(api, schedule, tenant_alpha):
    offering = _offering(api)
    day = _next_weekday(2)
    busy_start = datetime.combine(day, datetime.min.time(), KYIV).replace(hour=13)
    first = _book(api, offering["id"], busy_start.isoformat(), name="Blocker")
    assert first.status_code == 201
    with tenant_context(tenant_alpha):  # a one-hour busy block: widen the 15-minute call to 13:00–14:00
        Call.objects.filter(start_at=busy_start).update(blocked_end=busy_start + timedelta(hours=1),
                                                        end_at=busy_start + timedelta(hours=1))
    body = _slots(api, offering["id"], day)
    assert body["timezone"] == "Europe/Kyiv"
    assert [s["start"][11:16] for s in body["slots"]] == [
        "12:00", "12:15", "12:30", "12:45", "14:00", "14:15", "14:30", "14:45"]
    assert body["slots"][0]["start"].endswith(("+02:00", "+03:00"))


def test_slots_in_the_clients_zone(api, schedule):
    offering = _offering(api, duration_minutes=60)
    day = _next_weekday(0)
    body = _slots(api, offering["id"], day, tz="Asia/Tokyo")
    # 12:00–15:00 Kyiv is evening in Tokyo, same calendar day.
    assert [s["start"][11:16] for s in body["slots"]] in (["19:00", "20:00", "21:00"], ["18:00", "19:00", "20:00"])


@pytest.mark.parametrize(("query", "message"), [
    ("start=2027-02-10&end=2027-02-01", "end is before start"),
    ("start=2027-01-01&end=2027-03-31", "at most 62 days"),
    ("start=not-a-date&end=2027-01-01", "YYYY-MM-DD"),
    ("start=2027-01-01&end=2027-01-01&tz=Mars/Base", "not a known time zone"),
])
def test_bad_slot_queries_get_422(api, schedule, query, message):
    offering = _offering(api)
    response = api.call("get", f"/offerings/{offering['id']}/slots?{query}", auth=False)
    assert response.status_code == 422 and message in response.json()["detail"]


def test_free_booking_is_confirmed_and_the_slot_is_gone(api, schedule):
    offering = _offering(api)
    day = _next_weekday(1)
    start = _slots(api, offering["id"], day)["slots"][0]["start"]
    response = _book(api, offering["id"], start)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "confirmed" and body["checkout_url"] is None and body["expires_at"] is None
    assert body["manage_url"].startswith("http://alpha.localhost:8000/bookings/")
    assert start not in [s["start"] for s in _slots(api, offering["id"], day)["slots"]]
    again = _book(api, offering["id"], start, email="other@client.example")
    assert again.status_code == 409


def test_paid_booking_waits_for_payment_on_a_30_minute_hold(api, schedule, payments_ready, stripe_emulator):
    offering = _offering(api, price={"amount": 5000, "currency": "EUR"})
    start = _slots(api, offering["id"], _next_weekday(1))["slots"][0]["start"]
    body = _book(api, offering["id"], start).json()
    assert body["status"] == "pending_payment"
    assert body["checkout_url"].startswith(f"{stripe_emulator}/sandbox/stripe/checkout/cs_test_")
    expires = datetime.fromisoformat(body["expires_at"])
    # Stripe's session lives at least 30 minutes from its creation: the hold follows it, by seconds.
    assert timedelta(minutes=29) < expires - timezone.now() <= timedelta(minutes=30, seconds=15)


@pytest.mark.parametrize(("changes", "message"), [
    ({"start": "2020-01-01T12:00:00+00:00"}, "in the past"),
    ({"name": ""}, "Enter your name"),
    ({"email": "nope"}, "not a valid email"),
    ({"timezone": "Nowhere/Land"}, "not a known time zone"),
    ({"start": "2027-01-05T12:00:00"}, "UTC offset"),
])
def test_bad_bookings_get_422_and_change_nothing(api, schedule, tenant_alpha, changes, message):
    offering = _offering(api)
    start = _slots(api, offering["id"], _next_weekday(1))["slots"][0]["start"]
    response = _book(api, offering["id"], changes.pop("start", start), **changes)
    assert response.status_code == 422 and message in str(response.json()["detail"])
    with tenant_context(tenant_alpha):
        assert not Call.objects.exists()


def test_a_time_that_is_not_a_slot_gets_422(api, schedule):
    offering = _offering(api)
    day = _next_weekday(1)
    off_grid = datetime.combine(day, datetime.min.time(), KYIV).replace(hour=12, minute=7)
    response = _book(api, offering["id"], off_grid.isoformat())
    assert response.status_code == 422 and "not one of the offered slots" in response.json()["detail"]


def _manage(body):
    url = urlsplit(body["manage_url"])
    return url.path.split("/")[2], parse_qs(url.query)["token"][0]


def test_client_cancels_with_the_manage_token_once(api, schedule):
    offering = _offering(api)
    day = _next_weekday(1)
    start = _slots(api, offering["id"], day)["slots"][0]["start"]
    booking_id, token = _manage(_book(api, offering["id"], start).json())
    assert api.call("post", f"/bookings/{booking_id}/cancel", {"reason": "x"}, auth=False).status_code == 403
    assert api.call("post", f"/bookings/{booking_id}/cancel?token=wrong", {}, auth=False).status_code == 403
    canceled = api.call("post", f"/bookings/{booking_id}/cancel", {"reason": "Sick"}, auth=False,
                        HTTP_X_MANAGE_TOKEN=token)
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled" and canceled.json()["canceled_by"] == "client"
    assert start in [s["start"] for s in _slots(api, offering["id"], day)["slots"]]
    again = api.call("post", f"/bookings/{booking_id}/cancel?token={token}", {}, auth=False)
    assert again.status_code == 409


def test_client_reschedules_and_the_token_stays_valid(api, schedule):
    offering = _offering(api)
    day = _next_weekday(1)
    slots = _slots(api, offering["id"], day)["slots"]
    booking_id, token = _manage(_book(api, offering["id"], slots[0]["start"]).json())
    moved = api.call("post", f"/bookings/{booking_id}/reschedule?token={token}", {"start": slots[3]["start"]},
                     auth=False)
    assert moved.status_code == 200 and moved.json()["start"] == datetime.fromisoformat(
        slots[3]["start"]).astimezone(ZoneInfo("UTC")).isoformat()
    now_free = [s["start"] for s in _slots(api, offering["id"], day)["slots"]]
    assert slots[0]["start"] in now_free and slots[3]["start"] not in now_free
    off_grid = api.call("post", f"/bookings/{booking_id}/reschedule?token={token}",
                        {"start": slots[0]["start"].replace(":00+", ":05+", 1)}, auth=False)
    assert off_grid.status_code == 422
    assert api.call("post", f"/bookings/{booking_id}/cancel?token={token}", {}, auth=False).status_code == 200


def test_group_seats_sell_until_full(api):
    start = (timezone.now() + timedelta(days=10)).replace(microsecond=0)
    group = _offering(api, kind="group", title="Workshop", start=start.isoformat(),
                      end=(start + timedelta(hours=2)).isoformat(), capacity=3,
                      price={"amount": 0, "currency": "USD"})
    assert group["capacity"] == 3
    listed = {o["id"]: o for o in api.call("get", "/offerings", auth=False).json()}
    assert listed[group["id"]]["seats_left"] == 3
    assert _book(api, group["id"], None, seats=2).status_code == 201
    full = _book(api, group["id"], None, seats=2, email="late@client.example")
    assert full.status_code == 409 and "Only 1 seat left" in full.json()["detail"]
    assert _book(api, group["id"], None, seats=1, email="third@client.example").status_code == 201
    assert _book(api, group["id"], None, email="fourth@client.example").json()["detail"] == "This group call is full."
    listed = {o["id"]: o for o in api.call("get", "/offerings", auth=False).json()}
    assert listed[group["id"]]["seats_left"] == 0


def test_availability_rejects_overlaps_naming_them_and_changes_nothing(api, schedule):
    bad = api.call("put", "/me/availability", {"timezone": "Europe/Kyiv", "weekly": [
        {"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "11:00", "end": "13:00"}]})
    assert bad.status_code == 422
    assert bad.json()["detail"] == "Monday: 09:00–12:00 overlaps 11:00–13:00."
    for weekly, message in [
        ([{"weekday": 7, "start": "09:00", "end": "10:00"}], "Weekday 7 is outside 0–6"),
        ([{"weekday": 1, "start": "10:00", "end": "09:00"}], "must be before the end"),
        ([{"weekday": 1, "start": "25:00", "end": "26:00"}], "is not a time"),
    ]:
        response = api.call("put", "/me/availability", {"timezone": "Europe/Kyiv", "weekly": weekly})
        assert response.status_code == 422 and message in response.json()["detail"]
    assert api.call("put", "/me/availability", {"timezone": "Mars/Base", "weekly": []}).status_code == 422
    assert api.call("get", "/me/availability").json() == schedule


def test_vacations(api, schedule):
    today = timezone.now().astimezone(KYIV).date()
    past = api.call("post", "/me/vacations", {"start_date": str(today - timedelta(days=1)),
                                              "end_date": str(today)})
    assert past.status_code == 422
    backwards = api.call("post", "/me/vacations", {"start_date": str(today + timedelta(days=5)),
                                                   "end_date": str(today + timedelta(days=4))})
    assert backwards.status_code == 422
    day = _next_weekday(2)
    created = api.call("post", "/me/vacations", {"start_date": str(day), "end_date": str(day)})
    assert created.status_code == 201
    offering = _offering(api)
    assert _slots(api, offering["id"], day)["slots"] == []
    assert api.call("get", "/me/vacations").json() == [created.json()]
    assert api.call("delete", f"/me/vacations/{created.json()['id']}").status_code == 204
    assert _slots(api, offering["id"], day)["slots"] != []


def test_offering_edit_does_not_change_booked_calls(api, schedule, tenant_alpha, payments_ready):
    offering = _offering(api, price={"amount": 1000, "currency": "USD"})
    start = _slots(api, offering["id"], _next_weekday(1))["slots"][0]["start"]
    _book(api, offering["id"], start)
    patched = api.call("patch", f"/me/offerings/{offering['id']}", {"title": "New title",
                                                                    "price": {"amount": 9000, "currency": "USD"}})
    assert patched.status_code == 200 and patched.json()["title"] == "New title"
    with tenant_context(tenant_alpha):
        call = Call.objects.get()
        assert (call.title, call.price_amount) == ("Tax review", 1000)
    assert api.call("delete", f"/me/offerings/{offering['id']}").status_code == 204
    with tenant_context(tenant_alpha):
        assert Call.objects.get().offering.archived_at is not None


@pytest.mark.parametrize(("body", "message"), [
    ({"price": {"amount": -1, "currency": "USD"}}, "0 or more"),
    ({"duration_minutes": 4}, "from 5 to 480"),
    ({"price": {"amount": 100, "currency": "ZZZ"}}, "ISO 4217"),
    ({"horizon_days": 800}, "from 1 to 730"),
])
def test_bad_offerings_get_422(api, body, message):
    base = {"kind": "individual", "title": "T", "duration_minutes": 30, "price": {"amount": 0, "currency": "USD"}}
    response = api.call("post", "/me/offerings", base | body)
    assert response.status_code == 422 and message in response.json()["detail"]


def test_other_tenants_cannot_see_or_book_offerings(api, schedule, beta_host):
    offering = _offering(api)
    assert api.call("get", "/offerings", auth=False, host=beta_host).json() == []
    day = _next_weekday(1)
    response = api.call("get", f"/offerings/{offering['id']}/slots?start={day}&end={day}", auth=False,
                        host=beta_host)
    assert response.status_code == 404
    assert api.call("patch", f"/me/offerings/{offering['id']}", {"title": "x"}, host=beta_host).status_code == 401


def test_host_sees_cancels_and_moves_calls(api, schedule):
    offering = _offering(api)
    day = _next_weekday(1)
    slots = _slots(api, offering["id"], day)["slots"]
    _book(api, offering["id"], slots[0]["start"])
    listed = api.call("get", "/me/calls?status=upcoming").json()
    assert listed["count"] == 1 and listed["items"][0]["participants"][0]["name"] == "Carla Client"
    call_id = listed["items"][0]["id"]
    moved = api.call("post", f"/me/calls/{call_id}/reschedule", {"start": slots[2]["start"]})
    assert moved.status_code == 200
    canceled = api.call("post", f"/me/calls/{call_id}/cancel", {"reason": "Ill"})
    assert canceled.json()["status"] == "canceled" and canceled.json()["canceled_by"] == "host"
    assert api.call("post", f"/me/calls/{call_id}/cancel", {}).status_code == 409
    assert api.call("get", "/me/calls?status=canceled").json()["count"] == 1


def test_slots_endpoint_query_count_does_not_grow(api, schedule, django_assert_max_num_queries):
    offering = _offering(api)
    day = _next_weekday(1)
    for slot in _slots(api, offering["id"], day)["slots"][:6]:
        _book(api, offering["id"], slot["start"], email=f"{slot['start'][11:13]}{slot['start'][14:16]}@x.example")
    with django_assert_max_num_queries(9):
        api.call("get", f"/offerings/{offering['id']}/slots?start={day}&end={day + timedelta(days=30)}",
                 auth=False)


def test_unpaid_hold_is_released_by_the_periodic_task(api, schedule, tenant_alpha, payments_ready):
    from unittest import mock

    from booking.models import CallParticipant
    from core.models import DueWork
    from core.tasks import due_work_dispatch

    offering = _offering(api, price={"amount": 5000, "currency": "EUR"})
    day = _next_weekday(1)
    start = _slots(api, offering["id"], day)["slots"][0]["start"]
    body = _book(api, offering["id"], start).json()
    expires = datetime.fromisoformat(body["expires_at"])
    due = DueWork.objects.get(schema_name="t_alpha", kind="booking.holds")
    assert due.due_at == expires
    assert start not in [s["start"] for s in _slots(api, offering["id"], day)["slots"]]

    with mock.patch("django.utils.timezone.now", return_value=expires - timedelta(seconds=1)):
        due_work_dispatch()
    with tenant_context(tenant_alpha):
        assert CallParticipant.objects.get().status == "pending_payment"
    with mock.patch("django.utils.timezone.now", return_value=expires + timedelta(seconds=1)):
        assert due_work_dispatch() >= 1
    with tenant_context(tenant_alpha):
        participant = CallParticipant.objects.get()
        assert (participant.status, participant.canceled_by, participant.cancel_reason) == (
            "canceled", "system", "Payment not completed")
        assert participant.call.status == "canceled"
    assert not DueWork.objects.filter(schema_name="t_alpha", kind="booking.holds").exists()
    assert start in [s["start"] for s in _slots(api, offering["id"], day)["slots"]]


def _token_for(client, host, email, password):
    return client.post("/api/v1/auth/token", {"email": email, "password": password},
                       content_type="application/json", HTTP_HOST=host).json()["access"]


def test_every_booking_endpoint_refuses_another_tenants_ids(api, schedule, client, beta_host):
    from conftest import BETA_OWNER_PASSWORD

    offering = _offering(api)
    day = _next_weekday(1)
    slots = _slots(api, offering["id"], day)["slots"]
    booking_id, token = _manage(_book(api, offering["id"], slots[0]["start"]).json())
    vacation = api.call("post", "/me/vacations", {"start_date": str(day + timedelta(days=20)),
                                                  "end_date": str(day + timedelta(days=20))}).json()
    call_id = api.call("get", "/me/calls?status=upcoming").json()["items"][0]["id"]
    beta = {"HTTP_AUTHORIZATION": "Bearer " + _token_for(client, beta_host, "bob@beta.example", BETA_OWNER_PASSWORD)}

    def on_beta(method, path, body=None, **extra):
        kwargs = {"content_type": "application/json"} if body is not None else {}
        return getattr(client, method)(f"/api/v1{path}", body, HTTP_HOST=beta_host, **kwargs, **extra)

    assert on_beta("post", f"/bookings/{booking_id}/cancel?token={token}", {}).status_code == 404
    assert on_beta("post", f"/bookings/{booking_id}/reschedule?token={token}",
                   {"start": slots[1]["start"]}).status_code == 404
    assert on_beta("post", "/bookings", {"offering_id": offering["id"], "start": slots[1]["start"], "name": "X",
                                         "email": "x@x.example"}).status_code == 404
    assert on_beta("patch", f"/me/offerings/{offering['id']}", {"title": "x"}, **beta).status_code == 404
    assert on_beta("delete", f"/me/offerings/{offering['id']}", **beta).status_code == 404
    assert on_beta("delete", f"/me/vacations/{vacation['id']}", **beta).status_code == 404
    assert on_beta("post", f"/me/calls/{call_id}/cancel", {}, **beta).status_code == 404
    assert on_beta("post", f"/me/calls/{call_id}/reschedule", {"start": slots[1]["start"]}, **beta).status_code == 404
    assert on_beta("get", "/me/calls?status=upcoming", **beta).json() == {"items": [], "count": 0}
    # Nothing changed on alpha.
    assert api.call("get", "/me/calls?status=upcoming").json()["count"] == 1
    assert len(api.call("get", "/me/vacations").json()) == 1


def test_consultants_cannot_touch_each_others_offerings_or_calls(api, schedule, client, alpha_host, make_member,
                                                                 tenant_alpha):
    offering = _offering(api)
    day = _next_weekday(1)
    _book(api, offering["id"], _slots(api, offering["id"], day)["slots"][0]["start"])
    call_id = api.call("get", "/me/calls?status=upcoming").json()["items"][0]["id"]
    make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora")
    cora = {"HTTP_AUTHORIZATION": "Bearer " + _token_for(client, alpha_host, "cora@alpha.example",
                                                         "member-password-12")}
    assert client.patch(f"/api/v1/me/offerings/{offering['id']}", {"title": "x"}, content_type="application/json",
                        HTTP_HOST=alpha_host, **cora).status_code == 404
    assert client.post(f"/api/v1/me/calls/{call_id}/cancel", {}, content_type="application/json",
                       HTTP_HOST=alpha_host, **cora).status_code == 404


def test_assistant_token_gets_403_on_consultant_endpoints(api, client, alpha_host, make_member, tenant_alpha):
    make_member(tenant_alpha, "assistant", "ann@alpha.example", "Ann")
    token = _token_for(client, alpha_host, "ann@alpha.example", "member-password-12")
    response = client.get("/api/v1/me/offerings", HTTP_HOST=alpha_host, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403 and "Only consultants" in response.json()["detail"]


def test_slots_query_count_is_the_same_for_a_busy_calendar(api, schedule, tenant_alpha, django_assert_num_queries):
    offering = _offering(api, duration_minutes=15, slot_step_minutes=15)
    day = _next_weekday(1)
    path = f"/offerings/{offering['id']}/slots?start={day}&end={day + timedelta(days=30)}"
    # SET search_path, host, SET search_path, offering with consultant and profile, weekly periods,
    # date overrides and their periods, vacations, calls.
    queries = 8
    with django_assert_num_queries(queries):
        api.call("get", path, auth=False)
    for slot in _slots(api, offering["id"], day)["slots"][:8]:
        _book(api, offering["id"], slot["start"], email=f"{slot['start'][11:13]}{slot['start'][14:16]}@x.example")
    with tenant_context(tenant_alpha):
        from accounts.models import User
        from booking.availability import vacation_add

        vacation_add(consultant=User.objects.get(email="alice@alpha.example"), start_date=day + timedelta(days=5),
                     end_date=day + timedelta(days=6), today=day)
    with django_assert_num_queries(queries):
        api.call("get", path, auth=False)
