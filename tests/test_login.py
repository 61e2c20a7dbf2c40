from unittest import mock

import pytest

from accounts.services import throttle
from conftest import ALPHA_OWNER_PASSWORD

OWNER = "alice@alpha.example"


def _attempt(client, host, email=OWNER, password="wrong-password", address="10.0.0.1", **extra):
    return client.post("/login/", {"username": email, "password": password, **extra}, HTTP_HOST=host,
                       REMOTE_ADDR=address)


def test_wrong_email_and_wrong_password_give_the_same_message(client, alpha_host):
    wrong_password = _attempt(client, alpha_host).content.decode()
    wrong_email = _attempt(client, alpha_host, email="nobody@alpha.example").content.decode()
    message = "Please enter a correct email and password."
    assert message in wrong_password and message in wrong_email


def test_login_rotates_the_session_key(client, alpha_host):
    client.get("/login/", HTTP_HOST=alpha_host)
    client.session.save()
    before = client.session.session_key
    _attempt(client, alpha_host, password=ALPHA_OWNER_PASSWORD)
    assert client.session.session_key != before
    assert client.get("/dashboard/", HTTP_HOST=alpha_host).status_code == 200


def test_without_remember_me_the_session_ends_with_the_browser(client, alpha_host):
    _attempt(client, alpha_host, password=ALPHA_OWNER_PASSWORD)
    assert client.session.get_expire_at_browser_close() is True
    assert client.cookies["sessionid"]["expires"] == ""


def test_remember_me_keeps_the_session_for_30_days(client, alpha_host):
    _attempt(client, alpha_host, password=ALPHA_OWNER_PASSWORD, remember_me="on")
    assert client.session.get_expire_at_browser_close() is False
    assert client.session.get_expiry_age() == 30 * 24 * 3600
    assert client.cookies["sessionid"]["max-age"] == 30 * 24 * 3600


def test_five_failures_for_one_account_lock_it_for_15_minutes(client, alpha_host):
    for _ in range(4):
        assert _attempt(client, alpha_host).status_code == 200
    fifth = _attempt(client, alpha_host)
    assert fifth.status_code == 429
    assert "Too many failed sign-in attempts" in fifth.content.decode()
    assert int(fifth["Retry-After"]) == 15 * 60
    # Even the right password is refused while locked, from any address.
    locked = _attempt(client, alpha_host, password=ALPHA_OWNER_PASSWORD, address="10.9.9.9")
    assert locked.status_code == 429
    assert "try again in 15 minutes" in locked.content.decode()
    # Another account is not affected.
    assert _attempt(client, alpha_host, email="other@alpha.example", address="10.9.9.9").status_code == 200


def test_lock_lifts_after_15_minutes(client, alpha_host):
    now = 1_800_000_000.0
    with mock.patch.object(throttle, "_now", return_value=now):
        for _ in range(5):
            _attempt(client, alpha_host)
    with mock.patch.object(throttle, "_now", return_value=now + 14 * 60):
        assert _attempt(client, alpha_host, password=ALPHA_OWNER_PASSWORD).status_code == 429
    with mock.patch.object(throttle, "_now", return_value=now + 15 * 60 + 1):
        assert _attempt(client, alpha_host, password=ALPHA_OWNER_PASSWORD).status_code == 302


def test_failures_older_than_15_minutes_do_not_count(client, alpha_host):
    now = 1_800_000_000.0
    with mock.patch.object(throttle, "_now", return_value=now):
        for _ in range(4):
            _attempt(client, alpha_host)
    with mock.patch.object(throttle, "_now", return_value=now + 16 * 60):
        assert _attempt(client, alpha_host).status_code == 200  # only one failure in the window now


def test_twenty_failures_from_one_address_lock_that_address(client, alpha_host, beta_host):
    for i in range(19):
        host = alpha_host if i % 2 else beta_host
        assert _attempt(client, host, email=f"user{i}@x.example").status_code == 200
    assert _attempt(client, alpha_host, email="user19@x.example").status_code == 429
    # The address is locked across the platform, but others still sign in.
    assert _attempt(client, beta_host, email="bob@beta.example", password="x").status_code == 429
    assert _attempt(client, alpha_host, password=ALPHA_OWNER_PASSWORD, address="10.0.0.2").status_code == 302


def test_success_resets_the_account_counter(client, alpha_host):
    for _ in range(4):
        _attempt(client, alpha_host)
    assert _attempt(client, alpha_host, password=ALPHA_OWNER_PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _attempt(client, alpha_host).status_code == 200


@pytest.mark.parametrize("path", ["/dashboard/", "/calls/", "/profile/", "/team/", "/settings/tokens/"])
def test_workspace_pages_need_sign_in(client, alpha_host, path):
    response = client.get(path, HTTP_HOST=alpha_host)
    assert response.status_code == 302 and response["Location"].startswith(f"/login/?next={path}")


def test_password_reset_requests_are_limited_per_address(client, alpha_host, mailbox):
    from django.test import TestCase

    for _ in range(5):
        with TestCase.captureOnCommitCallbacks(execute=True):  # the outbox sends once the request commits
            ok = client.post("/password-reset/", {"email": OWNER}, HTTP_HOST=alpha_host, REMOTE_ADDR="10.3.3.3")
        assert ok.status_code == 302
    limited = client.post("/password-reset/", {"email": OWNER}, HTTP_HOST=alpha_host, REMOTE_ADDR="10.3.3.3")
    assert limited.status_code == 429 and "Too many password reset requests" in limited.content.decode()
    assert len(mailbox) == 5
    other = client.post("/password-reset/", {"email": OWNER}, HTTP_HOST=alpha_host, REMOTE_ADDR="10.3.3.4")
    assert other.status_code == 302


def test_signups_are_limited_per_address(client, platform_host):
    from tenants.models import Tenant

    for i in range(10):
        client.post("/signup/", {"name": "S", "slug": f"limit-{i}", "owner_name": "S",
                                 "owner_email": f"s{i}@s.example", "owner_password": "limit-owner-pass-1"},
                    HTTP_HOST=platform_host, REMOTE_ADDR="10.4.4.4")
    limited = client.post("/signup/", {"name": "S", "slug": "limit-x", "owner_name": "S",
                                       "owner_email": "sx@s.example", "owner_password": "limit-owner-pass-1"},
                          HTTP_HOST=platform_host, REMOTE_ADDR="10.4.4.4")
    assert limited.status_code == 429
    assert not Tenant.objects.filter(slug="limit-x").exists()
    assert Tenant.objects.filter(slug__startswith="limit-").count() == 10
