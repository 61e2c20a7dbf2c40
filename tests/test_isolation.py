from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import User
from conftest import ALPHA_OWNER_PASSWORD


def test_row_written_in_one_tenant_is_invisible_from_another(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        User.objects.create_user(email="carol@alpha.example", password="x" * 12, full_name="Carol")
        assert User.objects.filter(email="carol@alpha.example").exists()
    with tenant_context(tenant_beta):
        assert not User.objects.filter(email="carol@alpha.example").exists()
        assert list(User.objects.values_list("email", flat=True)) == ["bob@beta.example"]
    connection.set_schema_to_public()
    assert not User.objects.filter(email="carol@alpha.example").exists()


def test_credentials_of_one_tenant_do_not_work_on_another_host(client, alpha_host, beta_host):
    credentials = {"username": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD}
    refused = client.post("/login/", credentials, HTTP_HOST=beta_host)
    assert refused.status_code == 200
    assert "Please enter a correct email and password" in refused.content.decode()
    accepted = client.post("/login/", credentials, HTTP_HOST=alpha_host)
    assert accepted.status_code == 302 and accepted["Location"] == "/dashboard/"


def test_session_of_one_tenant_is_unknown_on_another_host(client, alpha_host, beta_host):
    client.post("/login/", {"username": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD},
                HTTP_HOST=alpha_host)
    assert client.get("/dashboard/", HTTP_HOST=alpha_host).status_code == 200
    # The test client sends the same cookie to every host; the session still only exists in alpha's schema.
    response = client.get("/dashboard/", HTTP_HOST=beta_host)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_tenant_pages_show_only_their_own_tenant(client, alpha_host, beta_host):
    alpha = client.get("/", HTTP_HOST=alpha_host).content.decode()
    beta = client.get("/", HTTP_HOST=beta_host).content.decode()
    assert "Alpha Advisory" in alpha and "Beta Coaching" not in alpha
    assert "Beta Coaching" in beta and "Alpha Advisory" not in beta


def test_tenant_owner_cannot_use_the_staff_console(client, alpha_host, platform_host):
    response = client.post("/console/login/",
                           {"username": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD},
                           HTTP_HOST=platform_host)
    assert response.status_code == 200
    assert client.get("/console/", HTTP_HOST=platform_host).status_code == 302
    assert client.get("/console/", HTTP_HOST=alpha_host).status_code == 404
