from datetime import timedelta
from urllib.parse import urlsplit

from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import LoginHandoff, User
from accounts.services.handoff import login_handoff_create


def _path(url: str) -> str:
    return urlsplit(url).path


def _new_link(tenant) -> str:
    with tenant_context(tenant):
        return login_handoff_create(user=User.objects.get(role=User.Role.OWNER), domain=tenant.primary_domain)


def test_sign_in_link_works_once(client, tenant_alpha, alpha_host):
    path = _path(_new_link(tenant_alpha))
    first = client.get(path, HTTP_HOST=alpha_host)
    assert first.status_code == 302 and first["Location"] == "/dashboard/"
    client.logout()
    second = client.get(path, HTTP_HOST=alpha_host)
    assert second.status_code == 400
    assert "already been used" in second.content.decode()
    assert client.get("/dashboard/", HTTP_HOST=alpha_host).status_code == 302


def test_expired_sign_in_link_is_refused(client, tenant_alpha, alpha_host):
    path = _path(_new_link(tenant_alpha))
    with tenant_context(tenant_alpha):
        LoginHandoff.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(path, HTTP_HOST=alpha_host)
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_sign_in_link_of_one_tenant_is_unknown_on_another(client, tenant_alpha, beta_host):
    path = _path(_new_link(tenant_alpha))
    response = client.get(path, HTTP_HOST=beta_host)
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_forged_sign_in_link_is_refused(client, alpha_host):
    response = client.get("/auth/handoff/forged-token-value/", HTTP_HOST=alpha_host)
    assert response.status_code == 400
