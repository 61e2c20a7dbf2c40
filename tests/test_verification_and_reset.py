from datetime import datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from conftest import ALPHA_OWNER_PASSWORD


def _path(url: str) -> str:
    return urlsplit(url).path


def test_signup_emails_a_verification_link_that_confirms_the_address(
        client, platform_host, mailbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/signup/", {
            "name": "Verity", "slug": "verity", "owner_name": "Vera Verity",
            "owner_email": "vera@verity.example", "owner_password": "verity-owner-pass-1"}, HTTP_HOST=platform_host)
    assert response.status_code == 302
    assert len(mailbox) == 1
    message = mailbox[0]
    assert message["To"] == "vera@verity.example"
    assert message["Subject"] == "Confirm your email address for Verity"
    assert message["From"] == "Verity <no-reply@verity.localhost>"  # the tenant's own no-reply address
    link = [u for u in mailbox.links(message) if "/verify-email/" in u][0]
    assert link.startswith("http://verity.localhost:8000/verify-email/")
    html = [p for p in message.walk() if p.get_content_type() == "text/html"]
    assert html and link.encode() in html[0].get_payload(decode=True)

    dashboard = client.get(urlsplit(response["Location"]).path, HTTP_HOST="verity.localhost", follow=True)
    assert "Please confirm your email address" in dashboard.content.decode()
    confirmed = client.get(_path(link), HTTP_HOST="verity.localhost", follow=True)
    assert "your email address is confirmed" in confirmed.content.decode()
    assert "Please confirm your email address" not in confirmed.content.decode()


def _verification_link(tenant, user_email) -> str:
    from accounts.services.verification import verification_token_make

    with tenant_context(tenant):
        token = verification_token_make(user=User.objects.get(email=user_email))
    return f"/verify-email/{token}/"


def test_verification_link_expires_after_48_hours(client, tenant_alpha, alpha_host):
    link = _verification_link(tenant_alpha, "alice@alpha.example")
    later = timezone.now() + timedelta(hours=48, seconds=5)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        response = client.get(link, HTTP_HOST=alpha_host)
    assert response.status_code == 400
    assert "This confirmation link has expired" in response.content.decode()
    with tenant_context(tenant_alpha):
        assert User.objects.get(email="alice@alpha.example").email_verified_at is None


def test_verification_link_of_one_tenant_is_refused_on_another(client, tenant_alpha, beta_host):
    link = _verification_link(tenant_alpha, "alice@alpha.example")
    response = client.get(link, HTTP_HOST=beta_host)
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_forged_verification_link_is_refused(client, alpha_host):
    assert client.get("/verify-email/eyJ1IjoxfQ:forged:sig/", HTTP_HOST=alpha_host).status_code == 400


def test_resend_verification_sends_a_new_link(client, alpha_host, login, mailbox,
                                               django_capture_on_commit_callbacks):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/verify-email/resend/", HTTP_HOST=alpha_host)
    assert len(mailbox) == 1 and mailbox[0]["To"] == "alice@alpha.example"


def _request_reset(client, host, email):
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):  # the outbox sends once the request commits
        return client.post("/password-reset/", {"email": email}, HTTP_HOST=host)


def test_password_reset_link_works_once(client, alpha_host, mailbox):
    response = _request_reset(client, alpha_host, "alice@alpha.example")
    assert response.status_code == 302
    assert len(mailbox) == 1
    message = mailbox[0]
    assert message["Subject"] == "Reset your password for Alpha Advisory"
    link = [u for u in mailbox.links(message) if "/password-reset/" in u][0]
    assert urlsplit(link).hostname == "alpha.localhost"
    form = client.get(_path(link), HTTP_HOST=alpha_host, follow=True)
    assert "Choose a new password" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "brand-new-secret-77", "new_password2": "brand-new-secret-77"},
                       HTTP_HOST=alpha_host)
    assert done.status_code == 302
    login_ok = client.post("/login/", {"username": "alice@alpha.example", "password": "brand-new-secret-77"},
                           HTTP_HOST=alpha_host)
    assert login_ok.status_code == 302
    client.logout()
    again = client.get(_path(link), HTTP_HOST=alpha_host, follow=True)
    assert "has expired or has already been used" in again.content.decode()


def test_password_reset_link_expires_after_an_hour(client, alpha_host, mailbox):
    _request_reset(client, alpha_host, "alice@alpha.example")
    link = [u for u in mailbox.links(mailbox[0]) if "/password-reset/" in u][0]
    later = datetime.now() + timedelta(hours=1, minutes=1)  # the token generator's clock is naive
    with mock.patch("django.contrib.auth.tokens.PasswordResetTokenGenerator._now", return_value=later):
        response = client.get(_path(link), HTTP_HOST=alpha_host, follow=True)
    assert "has expired or has already been used" in response.content.decode()


def test_password_reset_for_unknown_email_reveals_nothing(client, alpha_host, mailbox):
    known = _request_reset(client, alpha_host, "alice@alpha.example")
    unknown = _request_reset(client, alpha_host, "nobody@alpha.example")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(mailbox) == 1


def test_password_reset_for_another_tenants_user_sends_nothing(client, beta_host, mailbox):
    _request_reset(client, beta_host, "alice@alpha.example")
    assert len(mailbox) == 0


def test_weak_new_password_is_refused(client, alpha_host, mailbox):
    _request_reset(client, alpha_host, "alice@alpha.example")
    link = [u for u in mailbox.links(mailbox[0]) if "/password-reset/" in u][0]
    form = client.get(_path(link), HTTP_HOST=alpha_host, follow=True)
    response = client.post(form.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "123"},
                           HTTP_HOST=alpha_host)
    assert response.status_code == 200
    assert "This password is too short" in response.content.decode()


def test_an_unreachable_mail_server_makes_the_task_retry(settings, mailbox):
    """A worker retries with back-off (the web request only queued the task)."""
    from celery.exceptions import Retry

    from accounts.tasks import email_send_task

    message = {"subject": "Hello", "from": "A <a@localhost>", "to": ["b@example.com"], "text": "Hi", "html": ""}
    settings.EMAIL_PORT = 1  # nothing listens there
    with pytest.raises(Retry):
        email_send_task.apply(args=[message])
    assert len(mailbox) == 0


def test_a_bogus_password_reset_link_answers_400_with_a_clear_page(client, alpha_host):
    response = client.get("/password-reset/MQ/not-a-real-token/", HTTP_HOST=alpha_host)
    assert response.status_code == 400
    assert "Reset link not valid" in response.content.decode()
