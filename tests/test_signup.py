from urllib.parse import urlsplit

import pytest
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from tenants.models import Domain, StaffAction, Tenant

VALID = {
    "name": "Gamma Partners",
    "slug": "gamma",
    "owner_name": "Gina Gamma",
    "owner_email": "Gina@Gamma.example",
    "owner_password": "a-long-pass-phrase-9",
}


def signup(client, host, **changes):
    return client.post("/signup/", {**VALID, **changes}, HTTP_HOST=host)


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Gamma", "Use lowercase letters only in the subdomain."),
        ("gam_ma", "Use only lowercase letters (a–z), digits and hyphens in the subdomain."),
        ("gam ma", "Use only lowercase letters (a–z), digits and hyphens in the subdomain."),
        ("gämma", "Use only lowercase letters (a–z), digits and hyphens in the subdomain."),
        ("ga", "The subdomain must be at least 3 characters long."),
        ("g" * 41, "The subdomain must be at most 40 characters long."),
        ("-gamma", "The subdomain cannot start or end with a hyphen."),
        ("gamma-", "The subdomain cannot start or end with a hyphen."),
        ("gam--ma", "The subdomain cannot contain two hyphens in a row."),
        ("www", "“www” is reserved; choose another subdomain."),
        ("admin", "“admin” is reserved; choose another subdomain."),
        ("api", "“api” is reserved; choose another subdomain."),
        ("platform", "“platform” is reserved; choose another subdomain."),
        ("", "This field is required."),
        ("alpha", "This subdomain is already taken."),
    ],
)
def test_each_subdomain_rule_has_its_own_message_and_creates_nothing(client, platform_host, slug, message):
    before = Tenant.objects.count()
    response = signup(client, platform_host, slug=slug)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Tenant.objects.count() == before


def test_forty_character_subdomain_with_digits_and_hyphens_is_accepted(client, platform_host):
    slug = "a1-" + "b" * 37
    response = signup(client, platform_host, slug=slug)
    assert response.status_code == 302
    assert Tenant.objects.filter(slug=slug).exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"owner_name": ""}, "This field is required."),
        ({"owner_email": "not-an-email"}, "Enter a valid email address."),
        ({"owner_password": "short"}, "This password is too short."),
        ({"owner_password": "password123"}, "This password is too common."),
        ({"owner_password": "98765432109876"}, "This password is entirely numeric."),
    ],
)
def test_bad_owner_details_are_refused_clearly(client, platform_host, changes, message):
    response = signup(client, platform_host, **changes)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Tenant.objects.filter(slug="gamma").exists()


def test_signup_provisions_tenant_and_lands_owner_logged_in_on_dashboard(client, platform_host):
    response = signup(client, platform_host, owner_time_zone="America/New_York")
    assert response.status_code == 302
    login_url = response["Location"]
    assert login_url.startswith("http://gamma.localhost:")
    tenant = Tenant.objects.get(slug="gamma")
    assert tenant.status == Tenant.Status.ACTIVE
    assert tenant.plan is not None and tenant.plan.is_default
    assert tenant.owner_email == "gina@gamma.example"
    assert Domain.objects.get(tenant=tenant).domain == "gamma.localhost"
    assert schema_exists(tenant.schema_name)

    landed = client.get(urlsplit(login_url).path, HTTP_HOST="gamma.localhost", follow=True)
    assert landed.status_code == 200
    assert landed.redirect_chain[-1][0] == "/dashboard/"
    body = landed.content.decode()
    assert "Welcome, Gina" in body
    assert "Gamma Partners" in body

    with schema_context(tenant.schema_name):
        owner = User.objects.get()
        assert owner.profile.time_zone == "America/New_York"
        assert owner.email == "gina@gamma.example"
        assert owner.role == User.Role.OWNER
        assert owner.check_password(VALID["owner_password"])
    connection.set_schema_to_public()
    assert not User.objects.filter(email="gina@gamma.example").exists(), "owner must not live in public"
    action = StaffAction.objects.get(tenant=tenant)
    assert (action.action, action.actor_label) == (StaffAction.Action.TENANT_CREATED, "sign-up")


def test_signup_page_is_not_served_on_tenant_hosts(client, alpha_host):
    assert client.get("/signup/", HTTP_HOST=alpha_host).status_code == 404
