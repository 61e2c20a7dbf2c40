from tenants.models import StaffAction, Tenant


def _suspend(staff_client, platform_host, tenant, reason="Chargebacks under review"):
    return staff_client.post(f"/console/tenants/{tenant.pk}/suspend/", {"reason": reason}, HTTP_HOST=platform_host)


def test_suspended_tenant_shows_suspended_page_everywhere(staff_client, client, platform_host, tenant_alpha,
                                                        alpha_host, beta_host):
    _suspend(staff_client, platform_host, tenant_alpha)
    tenant_alpha.refresh_from_db()
    assert tenant_alpha.status == Tenant.Status.SUSPENDED
    assert tenant_alpha.suspended_reason == "Chargebacks under review"
    for path in ("/", "/login/", "/dashboard/"):
        response = client.get(path, HTTP_HOST=alpha_host)
        assert response.status_code == 403
        assert "Alpha Advisory is currently suspended" in response.content.decode()
        assert "not taking bookings" in response.content.decode()
    api = client.post("/api/bookings", {}, HTTP_HOST=alpha_host)
    assert api.status_code == 403 and api.json()["code"] == "tenant_suspended"
    assert client.get("/healthz", HTTP_HOST=alpha_host).status_code == 200
    assert client.get("/", HTTP_HOST=beta_host).status_code == 200


def test_suspended_owner_cannot_sign_in(staff_client, client, platform_host, tenant_alpha, alpha_host):
    from conftest import ALPHA_OWNER_PASSWORD

    _suspend(staff_client, platform_host, tenant_alpha)
    response = client.post("/login/", {"username": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD},
                           HTTP_HOST=alpha_host)
    assert response.status_code == 403


def test_reactivation_restores_the_site(staff_client, client, platform_host, tenant_alpha, alpha_host, staff_user):
    _suspend(staff_client, platform_host, tenant_alpha)
    staff_client.post(f"/console/tenants/{tenant_alpha.pk}/reactivate/", HTTP_HOST=platform_host)
    tenant_alpha.refresh_from_db()
    assert tenant_alpha.status == Tenant.Status.ACTIVE and tenant_alpha.suspended_at is None
    assert client.get("/", HTTP_HOST=alpha_host).status_code == 200
    actions = list(StaffAction.objects.filter(tenant=tenant_alpha).exclude(action="tenant.created")
                   .order_by("id").values_list("action", "actor"))
    assert actions == [("tenant.suspended", staff_user.pk), ("tenant.reactivated", staff_user.pk)]


def test_suspension_needs_a_reason_and_changes_nothing_without(staff_client, platform_host, tenant_alpha):
    response = _suspend(staff_client, platform_host, tenant_alpha, reason="")
    assert response.status_code == 302
    tenant_alpha.refresh_from_db()
    assert tenant_alpha.status == Tenant.Status.ACTIVE
    assert not StaffAction.objects.filter(tenant=tenant_alpha, action="tenant.suspended").exists()


def test_suspending_twice_is_refused(staff_client, platform_host, tenant_alpha):
    _suspend(staff_client, platform_host, tenant_alpha)
    again = staff_client.post(f"/console/tenants/{tenant_alpha.pk}/suspend/", {"reason": "again"},
                              HTTP_HOST=platform_host, follow=True)
    assert "already suspended" in again.content.decode()
    assert StaffAction.objects.filter(tenant=tenant_alpha, action="tenant.suspended").count() == 1


def test_reactivating_an_active_tenant_is_refused(staff_client, platform_host, tenant_alpha):
    response = staff_client.post(f"/console/tenants/{tenant_alpha.pk}/reactivate/", HTTP_HOST=platform_host,
                                 follow=True)
    assert "already active" in response.content.decode()
    assert not StaffAction.objects.filter(tenant=tenant_alpha, action="tenant.reactivated").exists()


def test_console_actions_require_post(staff_client, platform_host, tenant_alpha):
    response = staff_client.get(f"/console/tenants/{tenant_alpha.pk}/suspend/", HTTP_HOST=platform_host)
    assert response.status_code == 405
