"""Each role's boundaries, enforced on the server whatever the menus show."""

import pytest
from django_tenants.utils import tenant_context

from accounts.access import can_manage_money
from accounts.models import User
from accounts.selectors import consultants_visible_to
from conftest import ALPHA_OWNER_PASSWORD


@pytest.fixture
def team(make_member, tenant_alpha):
    return {
        "cora": make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora"),
        "carl": make_member(tenant_alpha, "consultant", "carl@alpha.example", "Carl"),
        "ann": make_member(tenant_alpha, "assistant", "ann@alpha.example", "Ann"),
    }


OWNER_ONLY = ["/team/"]


@pytest.mark.parametrize("path", OWNER_ONLY)
def test_consultants_and_assistants_cannot_manage_the_team(client, alpha_host, login, team, path):
    for email in ("cora@alpha.example", "ann@alpha.example"):
        login(client, alpha_host, email)
        assert client.get(path, HTTP_HOST=alpha_host).status_code == 403
        invite = {"email": "x@x.example", "role": "consultant"}
        assert client.post(path, invite, HTTP_HOST=alpha_host).status_code == 403
        client.logout()


def test_consultant_cannot_revoke_or_assign(client, alpha_host, login, team, tenant_alpha):
    login(client, alpha_host, "cora@alpha.example")
    assert client.post(f"/team/{team['carl'].pk}/revoke/", HTTP_HOST=alpha_host).status_code == 403
    assert client.post(f"/team/{team['ann'].pk}/assign/", {"consultants": [team["cora"].pk]},
                       HTTP_HOST=alpha_host).status_code == 403
    with tenant_context(tenant_alpha):
        assert User.objects.get(pk=team["carl"].pk).is_active
        assert not team["ann"].assignments.exists()


def test_consultant_cannot_open_or_change_another_consultants_profile(client, alpha_host, login, team,
                                                                       tenant_alpha):
    login(client, alpha_host, "cora@alpha.example")
    carl = team["carl"]
    assert client.get(f"/team/{carl.pk}/profile/", HTTP_HOST=alpha_host).status_code == 404
    response = client.post(f"/team/{carl.pk}/profile/", {
        "full_name": "Hacked", "slug": "hacked", "time_zone": "UTC", "time_format": "24h", "currency": "USD"},
        HTTP_HOST=alpha_host)
    assert response.status_code == 404
    assert client.post(f"/team/{carl.pk}/profile/photo/", {}, HTTP_HOST=alpha_host).status_code == 404
    with tenant_context(tenant_alpha):
        assert User.objects.get(pk=carl.pk).full_name == "Carl"


def test_owner_can_edit_a_consultants_profile(client, alpha_host, login, team, tenant_alpha):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    carl = team["carl"]
    response = client.post(f"/team/{carl.pk}/profile/", {
        "full_name": "Carl Counsel", "slug": "carl", "time_zone": "UTC", "time_format": "24h", "currency": "GBP"},
        HTTP_HOST=alpha_host)
    assert response.status_code == 302
    with tenant_context(tenant_alpha):
        carl = User.objects.get(pk=carl.pk)
        assert (carl.full_name, carl.profile.currency) == ("Carl Counsel", "GBP")


def test_assistant_has_no_profile_and_no_money_settings(client, alpha_host, login, team):
    login(client, alpha_host, "ann@alpha.example")
    assert client.get("/profile/", HTTP_HOST=alpha_host).status_code == 403
    assert client.post("/profile/", {"currency": "EUR"}, HTTP_HOST=alpha_host).status_code == 403
    assert client.get(f"/team/{team['cora'].pk}/profile/", HTTP_HOST=alpha_host).status_code == 403
    assert can_manage_money(team["ann"]) is False
    assert can_manage_money(team["cora"]) is True
    page = client.get("/dashboard/", HTTP_HOST=alpha_host).content.decode()
    assert 'href="/profile/"' not in page and 'href="/team/"' not in page


def test_whose_calls_each_role_sees(team, tenant_alpha):
    from accounts.services.people import assistant_assign

    with tenant_context(tenant_alpha):
        owner = User.objects.get(email="alice@alpha.example")
        assistant_assign(actor=owner, assistant=team["ann"], consultants=[team["cora"]])
        assert set(consultants_visible_to(user=owner)) == {owner, team["cora"], team["carl"]}
        assert list(consultants_visible_to(user=team["cora"])) == [team["cora"]]
        assert list(consultants_visible_to(user=team["ann"])) == [team["cora"]]


def test_assistant_cannot_be_assigned_to_another_assistant(team, tenant_alpha):
    from accounts.services.people import PeopleError, assistant_assign

    with tenant_context(tenant_alpha):
        owner = User.objects.get(email="alice@alpha.example")
        other = User.objects.create_user(email="al@alpha.example", password="x" * 12, full_name="Al",
                                         role=User.Role.ASSISTANT)
        with pytest.raises(PeopleError):
            assistant_assign(actor=owner, assistant=team["ann"], consultants=[other])


def test_everyone_sees_the_calls_page_with_tabs(client, alpha_host, login, team):
    login(client, alpha_host, "ann@alpha.example")
    for tab in ("upcoming", "active", "completed", "canceled"):
        page = client.get(f"/calls/?tab={tab}", HTTP_HOST=alpha_host)
        assert page.status_code == 200
        assert 'aria-current="page" class="current">' in page.content.decode()
    assert client.get("/calls/?tab=bogus", HTTP_HOST=alpha_host).status_code == 200


def test_dashboard_shows_zero_income_in_the_consultants_currency(client, alpha_host, login, team, tenant_alpha):
    with tenant_context(tenant_alpha):
        team["cora"].profile.currency = "JPY"
        team["cora"].profile.save(update_fields=["currency"])
    login(client, alpha_host, "cora@alpha.example")
    page = client.get("/dashboard/", HTTP_HOST=alpha_host).content.decode()
    assert "¥0" in page and "No upcoming calls yet." in page


def _book_calls(tenant, consultant, count: int, first_hour: int = 0) -> None:
    import secrets
    from datetime import timedelta

    from django.utils import timezone

    from booking.models import Call, CallParticipant, Offering

    with tenant_context(tenant):
        offering = Offering.objects.create(consultant=consultant, kind="individual", title="Session",
                                           duration_minutes=30, price_amount=0, currency="USD")
        for i in range(count):
            start = timezone.now() + timedelta(days=2, hours=first_hour + i)
            call = Call.objects.create(
                consultant=consultant, offering=offering, kind="individual", status="confirmed", start_at=start,
                end_at=start + timedelta(minutes=30), blocked_start=start, blocked_end=start + timedelta(minutes=30),
                title="Session", duration_minutes=30, price_amount=0, currency="USD", consultant_time_zone="UTC")
            CallParticipant.objects.create(
                call=call, status="confirmed", name=f"Client {i}", email=f"c{i}@x.example", unit_price_amount=0,
                price_amount=0, currency="USD", time_zone="UTC", manage_token_hash=secrets.token_hex(32))


def test_dashboard_and_calls_list_query_counts_do_not_grow_with_calls(client, alpha_host, login, team,
                                                                      tenant_alpha, django_assert_num_queries):
    login(client, alpha_host, "cora@alpha.example")
    _book_calls(tenant_alpha, team["cora"], 1)
    # SET search_path (public), host, SET search_path (tenant), session, user, profile,
    # income (one aggregate), sessions count, upcoming calls, their participants, ratings (average
    # and count in one aggregate, then the latest three), the viewer's groups (may they edit the site?),
    # calendars that need reconnecting. The theme comes from the cache: a first request puts it there.
    client.get("/dashboard/", HTTP_HOST=alpha_host)
    with django_assert_num_queries(14):
        client.get("/dashboard/", HTTP_HOST=alpha_host)
    # The calls list: the same without the count, plus the profile for the viewer's zone.
    with django_assert_num_queries(9):
        client.get("/calls/", HTTP_HOST=alpha_host)
    _book_calls(tenant_alpha, team["cora"], 12, first_hour=1)
    with django_assert_num_queries(14):
        page = client.get("/dashboard/", HTTP_HOST=alpha_host).content.decode()
    assert page.count("Client ") == 5, "the next five calls"
    with django_assert_num_queries(9):
        page = client.get("/calls/", HTTP_HOST=alpha_host).content.decode()
    assert page.count("Client ") == 13


def test_assistant_sees_only_assigned_consultants_calls(client, alpha_host, login, team, tenant_alpha):
    from accounts.services.people import assistant_assign

    _book_calls(tenant_alpha, team["cora"], 2)
    _book_calls(tenant_alpha, team["carl"], 3)
    with tenant_context(tenant_alpha):
        assistant_assign(actor=User.objects.get(email="alice@alpha.example"), assistant=team["ann"],
                         consultants=[team["carl"]])
    login(client, alpha_host, "ann@alpha.example")
    assert client.get("/calls/", HTTP_HOST=alpha_host).content.decode().count("Client ") == 3
    client.logout()
    login(client, alpha_host, "cora@alpha.example")
    assert client.get("/calls/", HTTP_HOST=alpha_host).content.decode().count("Client ") == 2


def test_the_dashboard_lists_the_call_in_progress_with_its_room(client, alpha_host, login, team, tenant_alpha):
    """A host who opens the dashboard a few minutes into a call finds it there, with its room."""
    from datetime import timedelta

    from django.utils import timezone

    from booking.models import Call

    _book_calls(tenant_alpha, team["cora"], 1)
    with tenant_context(tenant_alpha):
        call = Call.objects.get(consultant=team["cora"])
        start = timezone.now() - timedelta(minutes=10)
        Call.objects.filter(pk=call.pk).update(start_at=start, end_at=start + timedelta(minutes=30),
                                               blocked_start=start, blocked_end=start + timedelta(minutes=30))
    login(client, alpha_host, "cora@alpha.example")
    page = client.get("/dashboard/", HTTP_HOST=alpha_host).content.decode()
    assert "Client 0" in page and f"/calls/{call.public_id}/room/" in page
