import pytest


@pytest.mark.parametrize("path", ["/", "/login/", "/dashboard/", "/console/", "/healthz", "/signup/", "/x/y"])
def test_unknown_host_answers_404_on_every_path(client, db, path):
    response = client.get(path, HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    body = response.content.decode()
    assert "There is no site at nobody.localhost" in body
    assert "Alpha Advisory" not in body and "Beta Coaching" not in body


def test_unknown_host_answers_json_under_api(client, db):
    response = client.get("/api/offerings", HTTP_HOST="evil.example.com")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Consultio site is served at evil.example.com.", "code": "unknown_host"}


def test_posting_to_unknown_host_changes_nothing(client, db):
    from tenants.models import Tenant

    before = Tenant.objects.count()
    response = client.post("/signup/", {"slug": "sneaky"}, HTTP_HOST="sneaky.localhost")
    assert response.status_code == 404
    assert Tenant.objects.count() == before


def test_host_matching_ignores_case_and_port(client, db):
    assert client.get("/", HTTP_HOST="ALPHA.localhost:8000").status_code == 200


def test_a_tenants_not_found_page_renders_in_its_schema_from_any_thread(db, tenant_alpha):
    """Under ASGI Django renders error pages on another thread, whose connection is on the public
    schema; the page (and the theme it reads) must come from the tenant's schema all the same."""
    from django.contrib.auth.models import AnonymousUser
    from django.http import Http404
    from django.test import RequestFactory

    from core.views import page_not_found
    from tests.test_booking_concurrency import in_own_connection

    request = RequestFactory().get("/book/nothing-here/", HTTP_HOST="alpha.localhost")
    request.tenant, request.user = tenant_alpha, AnonymousUser()
    response = in_own_connection(lambda: page_not_found(request, Http404()))
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in body and "Alpha Advisory" in body
