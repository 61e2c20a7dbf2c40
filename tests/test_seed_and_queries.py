from io import StringIO

from django.core.management import call_command
from django_tenants.utils import schema_context

from accounts.models import User
from tenants.models import Tenant


def test_seed_demo_is_idempotent_and_prints_working_credentials(db, client):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert Tenant.objects.filter(slug="demo").count() == 1
    assert User.objects.filter(email="staff@consultio.example", is_staff=True).count() == 1
    with schema_context("t_demo"):
        assert User.objects.count() == 1
    assert "owner@demo.example / demo-owner-pass" in out.getvalue()
    response = client.post("/login/", {"username": "owner@demo.example", "password": "demo-owner-pass"},
                           HTTP_HOST="demo.localhost")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    staff = client.post("/console/login/", {"username": "staff@consultio.example",
                                            "password": "staff-console-pass"}, HTTP_HOST="localhost")
    assert staff.status_code == 302


def test_tenant_page_resolves_its_tenant_in_one_query(client, alpha_host, django_assert_num_queries):
    # SET search_path (public), one lookup of domain, tenant and plan, SET search_path (tenant),
    # then the tenant's site page: Wagtail finds the site and the page (7 queries: site, content
    # type, page, its ancestors, view restrictions, the menu's pages), and the page's live blocks
    # read the bookable offerings and the consultants. (The theme comes from the cache: the first
    # request puts it there.)
    client.get("/", HTTP_HOST=alpha_host)
    with django_assert_num_queries(11):
        assert client.get("/", HTTP_HOST=alpha_host).status_code == 200


def test_unknown_host_costs_one_query(client, db, django_assert_num_queries):
    with django_assert_num_queries(2):
        assert client.get("/", HTTP_HOST="ghost.localhost").status_code == 404


def test_staff_tenant_list_query_count_does_not_grow_with_tenants(staff_client, platform_host,
                                                                   django_assert_max_num_queries):
    from tenants.services import tenant_provision

    for i in range(3):
        tenant_provision(slug=f"many-{i}", name=f"Many {i}", owner_name="M", owner_email=f"m{i}@m.example",
                         owner_password="many-owner-pass-1")
    # host, session, user, count, page of tenants, their domains (plus two SET search_path)
    with django_assert_max_num_queries(8):
        response = staff_client.get("/console/", HTTP_HOST=platform_host)
    assert response.status_code == 200 and "Many 2" in response.content.decode()
