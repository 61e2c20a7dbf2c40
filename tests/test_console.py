import pytest
from django_tenants.utils import schema_exists

from accounts.models import User
from tenants.models import Plan, StaffAction, Tenant


def test_anonymous_visitor_is_sent_to_staff_sign_in(client, db, platform_host):
    response = client.get("/console/", HTTP_HOST=platform_host)
    assert response.status_code == 302
    assert response["Location"].startswith("/console/login/?next=/console/")


def test_platform_user_without_staff_flag_is_refused(client, db, platform_host):
    User.objects.create_user(email="pat@platform.example", password="pat-password-12", full_name="Pat")
    client.post("/console/login/", {"username": "pat@platform.example", "password": "pat-password-12"},
                HTTP_HOST=platform_host)
    for path in ("/console/", "/console/tenants/new/", "/console/audit/"):
        assert client.get(path, HTTP_HOST=platform_host).status_code == 403


def test_staff_see_and_search_tenants(staff_client, platform_host, tenant_alpha):
    listing = staff_client.get("/console/", HTTP_HOST=platform_host).content.decode()
    assert "Alpha Advisory" in listing and "Beta Coaching" in listing
    assert ">Consultio<" not in listing.split("<tbody>")[1], "the platform's own row is not a tenant"
    for query in ("alpha adv", "alice@alpha", "alpha.localhost", "Alice"):
        found = staff_client.get("/console/", {"q": query}, HTTP_HOST=platform_host).content.decode()
        assert "Alpha Advisory" in found and "Beta Coaching" not in found, query
    none = staff_client.get("/console/", {"q": "no-such-thing"}, HTTP_HOST=platform_host).content.decode()
    assert "No tenants match." in none


def test_staff_filter_by_status(staff_client, platform_host, tenant_alpha):
    Tenant.objects.filter(pk=tenant_alpha.pk).update(status=Tenant.Status.SUSPENDED)
    page = staff_client.get("/console/", {"status": "suspended"}, HTTP_HOST=platform_host).content.decode()
    assert "Alpha Advisory" in page and "Beta Coaching" not in page


def test_staff_see_domains_and_owner(staff_client, platform_host, tenant_alpha):
    page = staff_client.get(f"/console/tenants/{tenant_alpha.pk}/", HTTP_HOST=platform_host).content.decode()
    assert "alpha.localhost" in page
    assert "Alice Alpha" in page and "alice@alpha.example" in page


def test_the_public_row_is_not_reachable_as_a_tenant(staff_client, platform_host):
    public = Tenant.objects.get(schema_name="public")
    assert staff_client.get(f"/console/tenants/{public.pk}/", HTTP_HOST=platform_host).status_code == 404
    assert staff_client.post(f"/console/tenants/{public.pk}/suspend/", {"reason": "x"},
                             HTTP_HOST=platform_host).status_code == 404
    public.refresh_from_db()
    assert public.status == Tenant.Status.ACTIVE


def test_staff_create_tenant_is_audited(staff_client, platform_host, staff_user):
    pro = Plan.objects.get(name="Pro")
    response = staff_client.post("/console/tenants/new/", {
        "name": "Theta Group", "slug": "theta", "owner_name": "Tom Theta", "owner_email": "tom@theta.example",
        "owner_password": "theta-owner-pass-1", "plan": pro.pk,
    }, HTTP_HOST=platform_host)
    tenant = Tenant.objects.get(slug="theta")
    assert response.status_code == 302 and response["Location"] == f"/console/tenants/{tenant.pk}/"
    assert tenant.plan == pro and schema_exists("t_theta")
    action = StaffAction.objects.get(tenant=tenant)
    assert (action.actor, action.actor_label, action.action) == (
        staff_user, "staff@platform.example", StaffAction.Action.TENANT_CREATED)


def test_staff_create_tenant_with_taken_slug_shows_error(staff_client, platform_host, tenant_alpha):
    response = staff_client.post("/console/tenants/new/", {
        "name": "X", "slug": "alpha", "owner_name": "X", "owner_email": "x@x.example",
        "owner_password": "x-owner-pass-12",
    }, HTTP_HOST=platform_host)
    assert response.status_code == 400
    assert "This subdomain is already taken." in response.content.decode()


def test_change_plan_is_audited_and_same_plan_is_refused(staff_client, platform_host, tenant_alpha, staff_user):
    agency = Plan.objects.get(name="Agency")
    url = f"/console/tenants/{tenant_alpha.pk}/plan/"
    staff_client.post(url, {"plan": agency.pk}, HTTP_HOST=platform_host)
    tenant_alpha.refresh_from_db()
    assert tenant_alpha.plan == agency
    action = StaffAction.objects.get(tenant=tenant_alpha, action=StaffAction.Action.TENANT_PLAN_CHANGED)
    assert action.details == {"from": "Free", "to": "Agency"} and action.actor == staff_user

    again = staff_client.post(url, {"plan": agency.pk}, HTTP_HOST=platform_host, follow=True)
    assert "already on the Agency plan" in again.content.decode()
    assert StaffAction.objects.filter(tenant=tenant_alpha, action="tenant.plan_changed").count() == 1


@pytest.mark.parametrize("plan", ["", "999999", "abc"])
def test_change_to_unknown_plan_changes_nothing(staff_client, platform_host, tenant_alpha, plan):
    before = tenant_alpha.plan_id
    response = staff_client.post(f"/console/tenants/{tenant_alpha.pk}/plan/", {"plan": plan},
                                 HTTP_HOST=platform_host, follow=True)
    assert "Select a valid choice" in response.content.decode() or "This field is required" in response.content.decode()
    tenant_alpha.refresh_from_db()
    assert tenant_alpha.plan_id == before


def test_unknown_tenant_id_is_404(staff_client, platform_host):
    assert staff_client.get("/console/tenants/987654/", HTTP_HOST=platform_host).status_code == 404


def test_audit_log_lists_every_staff_action(staff_client, platform_host, tenant_alpha):
    staff_client.post(f"/console/tenants/{tenant_alpha.pk}/suspend/", {"reason": "Unpaid invoice"},
                      HTTP_HOST=platform_host)
    staff_client.post(f"/console/tenants/{tenant_alpha.pk}/reactivate/", HTTP_HOST=platform_host)
    page = staff_client.get("/console/audit/", HTTP_HOST=platform_host).content.decode()
    assert "Suspended tenant" in page and "Reactivated tenant" in page and "Unpaid invoice" in page
    assert page.count("staff@platform.example") >= 2


def test_audit_log_reads_a_plan_change_from_old_to_new(staff_client, platform_host, tenant_alpha):
    staff_client.post(f"/console/tenants/{tenant_alpha.pk}/plan/", {"plan": Plan.objects.get(name="Pro").pk},
                      HTTP_HOST=platform_host)
    page = staff_client.get("/console/audit/", HTTP_HOST=platform_host).content.decode()
    assert "from: Free; to: Pro" in page
