from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Invitation, User
from conftest import ALPHA_OWNER_PASSWORD
from tenants.models import Plan


@pytest.fixture
def owner_client(client, alpha_host, login, tenant_alpha):
    tenant_alpha.plan = Plan.objects.get(name="Pro")  # Free allows one consultant: the owner
    tenant_alpha.save(update_fields=["plan"])
    return login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)


def _invite(owner_client, alpha_host, email="cora@alpha.example", role="consultant", capture=None):
    if capture is None:
        return owner_client.post("/team/", {"email": email, "role": role}, HTTP_HOST=alpha_host)
    with capture(execute=True):
        return owner_client.post("/team/", {"email": email, "role": role}, HTTP_HOST=alpha_host)


def _accept_path(mailbox) -> str:
    link = [u for u in mailbox.links(mailbox[-1]) if "/invite/" in u][0]
    return urlsplit(link).path


def test_owner_invites_and_consultant_joins_with_name_and_password(
        owner_client, client, alpha_host, mailbox, tenant_alpha, django_capture_on_commit_callbacks):
    response = _invite(owner_client, alpha_host, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert mailbox[-1]["To"] == "cora@alpha.example"
    assert mailbox[-1]["Subject"] == "Alice Alpha invited you to Alpha Advisory"
    path = _accept_path(mailbox)
    owner_client.logout()

    page = client.get(path, HTTP_HOST=alpha_host)
    assert "invited <strong>cora@alpha.example</strong> as consultant" in page.content.decode()
    joined = client.post(path, {"full_name": "Cora Consultant", "password": "cora-secret-pass-1",
                                "time_zone": "Europe/Kyiv"}, HTTP_HOST=alpha_host)
    assert joined.status_code == 302 and joined["Location"] == "/profile/"
    with tenant_context(tenant_alpha):
        cora = User.objects.get(email="cora@alpha.example")
        assert cora.role == User.Role.CONSULTANT and cora.email_verified_at is not None
        assert cora.profile.slug == "cora-consultant" and cora.profile.time_zone == "Europe/Kyiv"
        assert cora.profile.currency == "USD"
    # The link is spent.
    client.logout()
    reused = client.get(path, HTTP_HOST=alpha_host)
    assert reused.status_code == 400 and "already been used" in reused.content.decode()


def test_expired_invitation_is_refused(owner_client, client, alpha_host, mailbox, tenant_alpha,
                                       django_capture_on_commit_callbacks):
    _invite(owner_client, alpha_host, capture=django_capture_on_commit_callbacks)
    with tenant_context(tenant_alpha):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(_accept_path(mailbox), {"full_name": "Late", "password": "late-secret-pass-1"},
                           HTTP_HOST=alpha_host)
    assert response.status_code == 400 and "This invitation has expired" in response.content.decode()
    with tenant_context(tenant_alpha):
        assert not User.objects.filter(email="cora@alpha.example").exists()


def test_withdrawn_invitation_is_refused(owner_client, client, alpha_host, mailbox, tenant_alpha,
                                         django_capture_on_commit_callbacks):
    _invite(owner_client, alpha_host, capture=django_capture_on_commit_callbacks)
    with tenant_context(tenant_alpha):
        invitation = Invitation.objects.get()
    owner_client.post(f"/team/invitations/{invitation.pk}/revoke/", HTTP_HOST=alpha_host)
    response = client.get(_accept_path(mailbox), HTTP_HOST=alpha_host)
    assert response.status_code == 400 and "withdrawn" in response.content.decode()


def test_forged_invitation_link_is_refused(client, alpha_host):
    assert client.get("/invite/not-a-real-token/", HTTP_HOST=alpha_host).status_code == 400


def test_invitation_of_one_tenant_is_unknown_on_another(owner_client, client, beta_host, alpha_host, mailbox,
                                                         django_capture_on_commit_callbacks):
    _invite(owner_client, alpha_host, capture=django_capture_on_commit_callbacks)
    assert client.get(_accept_path(mailbox), HTTP_HOST=beta_host).status_code == 400


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-email", "Enter a valid email address."),
        ("", "This field is required."),
        ("alice@alpha.example", "Someone with this email is already on your team."),
        ("ALICE@alpha.example", "Someone with this email is already on your team."),
    ],
)
def test_bad_invitations_are_refused_and_nothing_is_sent(owner_client, alpha_host, mailbox, tenant_alpha, email,
                                                         message, django_capture_on_commit_callbacks):
    response = _invite(owner_client, alpha_host, email=email, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400 and message in response.content.decode()
    assert len(mailbox) == 0
    with tenant_context(tenant_alpha):
        assert not Invitation.objects.exists()


def test_plan_limit_on_consultants(client, alpha_host, login, mailbox):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)  # alpha is on Free: 1 consultant
    response = client.post("/team/", {"email": "cora@alpha.example", "role": "consultant"}, HTTP_HOST=alpha_host)
    assert response.status_code == 400
    assert "Your plan allows 1 consultant (you included)" in response.content.decode()
    # Assistants do not take a consultant seat.
    assistant = client.post("/team/", {"email": "ann@alpha.example", "role": "assistant"}, HTTP_HOST=alpha_host)
    assert assistant.status_code == 302


def test_accepting_with_a_weak_password_creates_nothing(owner_client, client, alpha_host, mailbox, tenant_alpha,
                                                        django_capture_on_commit_callbacks):
    _invite(owner_client, alpha_host, capture=django_capture_on_commit_callbacks)
    response = client.post(_accept_path(mailbox), {"full_name": "", "password": "123"}, HTTP_HOST=alpha_host)
    assert response.status_code == 400
    body = response.content.decode()
    assert "This field is required." in body and "too short" in body
    with tenant_context(tenant_alpha):
        assert not User.objects.filter(email="cora@alpha.example").exists()
        assert Invitation.objects.get().accepted_at is None


def test_owner_revokes_a_consultant_who_can_no_longer_sign_in(owner_client, client, alpha_host, make_member,
                                                                tenant_alpha):
    cora = make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora")
    response = owner_client.post(f"/team/{cora.pk}/revoke/", HTTP_HOST=alpha_host)
    assert response.status_code == 302
    with tenant_context(tenant_alpha):
        cora.refresh_from_db()
        assert cora.is_active is False and cora.revoked_at is not None
        assert User.objects.filter(pk=cora.pk).exists(), "nothing is deleted"
    owner_client.logout()
    refused = client.post("/login/", {"username": "cora@alpha.example", "password": "member-password-12"},
                          HTTP_HOST=alpha_host)
    assert refused.status_code == 200 and "Please enter a correct email and password." in refused.content.decode()


def test_revoked_consultant_loses_an_open_session(client, alpha_host, make_member, tenant_alpha, login):
    from accounts.services.people import member_revoke

    cora = make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora")
    login(client, alpha_host, "cora@alpha.example")
    assert client.get("/dashboard/", HTTP_HOST=alpha_host).status_code == 200
    with tenant_context(tenant_alpha):
        member_revoke(actor=User.objects.get(email="alice@alpha.example"), member=cora)
    assert client.get("/dashboard/", HTTP_HOST=alpha_host).status_code == 302


def test_owner_cannot_be_revoked(owner_client, alpha_host, tenant_alpha):
    with tenant_context(tenant_alpha):
        owner = User.objects.get(email="alice@alpha.example")
    response = owner_client.post(f"/team/{owner.pk}/revoke/", HTTP_HOST=alpha_host, follow=True)
    assert "The owner&#x27;s access cannot be revoked." in response.content.decode()
    with tenant_context(tenant_alpha):
        owner.refresh_from_db()
        assert owner.is_active


def test_revoking_another_tenants_user_id_is_404(owner_client, alpha_host, make_member, tenant_beta):
    stranger = make_member(tenant_beta, "consultant", "sam@beta.example", "Sam")
    # The id may exist in alpha too (ids are per schema); use one that does not.
    response = owner_client.post(f"/team/{stranger.pk + 1000}/revoke/", HTTP_HOST=alpha_host)
    assert response.status_code == 404


def test_owner_assigns_an_assistant_to_consultants(owner_client, alpha_host, make_member, tenant_alpha):
    cora = make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora")
    ann = make_member(tenant_alpha, "assistant", "ann@alpha.example", "Ann")
    response = owner_client.post(f"/team/{ann.pk}/assign/", {"consultants": [cora.pk]}, HTTP_HOST=alpha_host)
    assert response.status_code == 302
    with tenant_context(tenant_alpha):
        assert list(ann.assignments.values_list("consultant_id", flat=True)) == [cora.pk]


def test_plan_limit_says_who_can_raise_it(client, alpha_host, login, mailbox, settings):
    # An owner cannot change the plan: only platform staff can, so the refusal names whom to ask.
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    response = client.post("/team/", {"email": "cora@alpha.example", "role": "consultant"}, HTTP_HOST=alpha_host)
    assert response.status_code == 400
    assert (f"To invite more, ask {settings.PLATFORM_NAME} to move your site to a larger plan."
            in response.content.decode())
    assert "Change plan" not in response.content.decode()
