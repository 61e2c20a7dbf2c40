from datetime import datetime, timedelta
from unittest import mock

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import PersonalAccessToken
from conftest import ALPHA_OWNER_PASSWORD

OWNER = {"email": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD}


def _token(client, host, **credentials):
    return client.post("/api/v1/auth/token", credentials or OWNER, content_type="application/json",
                       HTTP_HOST=host, REMOTE_ADDR="10.1.1.1")


def _me(client, host, token):
    return client.get("/api/v1/me", HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_token_for_good_credentials_is_a_short_lived_jwt_of_this_tenant(client, alpha_host):
    response = _token(client, alpha_host)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "expires_at"}
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=14) < expires - timezone.now() <= timedelta(minutes=15)
    claims = jwt.decode(body["access"], settings.API_TOKEN_SECRET, algorithms=["HS256"])
    assert claims["schema"] == "t_alpha" and claims["typ"] == "access"
    me = _me(client, alpha_host, body["access"])
    assert me.status_code == 200
    assert me.json() == {
        "id": claims["sub"], "email": "alice@alpha.example", "name": "Alice Alpha", "role": "owner",
        "email_verified": False,
        "profile": {"slug": "alice-alpha", "time_zone": "UTC", "time_format": "24h", "currency": "USD"},
    }


@pytest.mark.parametrize("credentials", [
    {"email": "alice@alpha.example", "password": "wrong"},
    {"email": "nobody@alpha.example", "password": ALPHA_OWNER_PASSWORD},
])
def test_bad_credentials_get_401_with_the_same_message(client, alpha_host, credentials):
    response = _token(client, alpha_host, **credentials)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid email or password."}


def test_malformed_token_request_gets_422(client, alpha_host):
    response = client.post("/api/v1/auth/token", {"email": "a@b.c"}, content_type="application/json",
                           HTTP_HOST=alpha_host)
    assert response.status_code == 422
    assert "password" in str(response.json()["detail"])


def test_token_api_locks_after_five_failures(client, alpha_host):
    for _ in range(4):
        assert _token(client, alpha_host, email="alice@alpha.example", password="bad").status_code == 401
    locked = _token(client, alpha_host, email="alice@alpha.example", password="bad")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.json()["detail"]
    assert locked["Retry-After"] == str(15 * 60)
    assert _token(client, alpha_host).status_code == 429


def test_token_from_one_tenant_is_refused_on_another(client, alpha_host, beta_host):
    access = _token(client, alpha_host).json()["access"]
    response = _me(client, beta_host, access)
    assert response.status_code == 401
    assert response.json()["detail"] == "The access token is not valid for this site."


def test_expired_token_is_refused(client, alpha_host):
    access = _token(client, alpha_host).json()["access"]
    later = timezone.now() + timedelta(minutes=15, seconds=1)
    with mock.patch("jwt.api_jwt.datetime") as clock:
        clock.now.return_value = later
        clock.side_effect = lambda *a, **k: datetime(*a, **k)
        response = _me(client, alpha_host, access)
    assert response.status_code == 401
    assert response.json()["detail"] == "The access token has expired; request a new one."


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer not.a.jwt", "Basic abc", "Bearer cpat_unknown"])
def test_missing_or_forged_tokens_get_401(client, alpha_host, header):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    assert client.get("/api/v1/me", HTTP_HOST=alpha_host, **kwargs).status_code == 401


def test_token_signed_with_another_secret_is_refused(client, alpha_host):
    forged = jwt.encode({"sub": "1", "schema": "t_alpha", "typ": "access",
                         "exp": int((timezone.now() + timedelta(minutes=5)).timestamp())},
                        "an-attacker-chosen-secret-of-32-bytes-or-more", algorithm="HS256")
    assert _me(client, alpha_host, forged).status_code == 401


def test_personal_access_token_is_shown_once_stored_hashed_and_revocable(client, alpha_host, login,
                                                                         tenant_alpha):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    page = client.post("/settings/tokens/", {"name": "CRM sync"}, HTTP_HOST=alpha_host)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    body = page.content.decode()
    secret = body.split('<code class="secret">')[1].split("</code>")[0]
    assert secret.startswith("cpat_") and len(secret) > 40
    with tenant_context(tenant_alpha):
        stored = PersonalAccessToken.objects.get()
        assert secret not in (stored.token_hash, stored.prefix) and stored.prefix == secret[:12]
    assert secret not in client.get("/settings/tokens/", HTTP_HOST=alpha_host).content.decode()

    client.logout()
    assert _me(client, alpha_host, secret).status_code == 200
    assert _me(client, "beta.localhost", secret).status_code == 401
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    client.post(f"/settings/tokens/{stored.pk}/revoke/", HTTP_HOST=alpha_host)
    assert _me(client, alpha_host, secret).status_code == 401


def test_personal_token_names_are_validated(client, alpha_host, login):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    assert client.post("/settings/tokens/", {"name": ""}, HTTP_HOST=alpha_host).status_code == 400
    client.post("/settings/tokens/", {"name": "ci"}, HTTP_HOST=alpha_host)
    duplicate = client.post("/settings/tokens/", {"name": "ci"}, HTTP_HOST=alpha_host)
    assert duplicate.status_code == 400
    assert "You already have a token with this name." in duplicate.content.decode()


def test_nobody_revokes_someone_elses_token(client, alpha_host, login, make_member, tenant_alpha):
    from accounts.services.api_tokens import personal_token_create

    cora = make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora")
    with tenant_context(tenant_alpha):
        pat, secret = personal_token_create(user=cora, name="mine")
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    assert client.post(f"/settings/tokens/{pat.pk}/revoke/", HTTP_HOST=alpha_host).status_code == 404
    assert _me(client, alpha_host, secret).status_code == 200


def test_revoked_member_tokens_stop_working(alpha_host, client, make_member, tenant_alpha):
    from accounts.models import User
    from accounts.services.api_tokens import personal_token_create
    from accounts.services.people import member_revoke

    cora = make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora")
    with tenant_context(tenant_alpha):
        _, secret = personal_token_create(user=cora, name="script")
    access = _token(client, alpha_host, email="cora@alpha.example", password="member-password-12").json()["access"]
    with tenant_context(tenant_alpha):
        member_revoke(actor=User.objects.get(email="alice@alpha.example"), member=cora)
    assert _me(client, alpha_host, secret).status_code == 401
    assert _me(client, alpha_host, access).status_code == 401


def test_api_docs_are_served_on_tenant_hosts(client, alpha_host):
    assert client.get("/api/docs", HTTP_HOST=alpha_host).status_code == 200
    schema = client.get("/api/openapi.json", HTTP_HOST=alpha_host).json()
    assert "/api/v1/auth/token" in schema["paths"] and "/api/v1/me" in schema["paths"]
