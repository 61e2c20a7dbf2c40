"""Custom domains: adding, verifying through the DNS seam (the emulated zone, and the real resolver
against a DNS server on loopback), routing before and after verification, claims between tenants,
primary domain, host validation with an explicit ALLOWED_HOSTS, CSRF on the custom host, the
owner's page and the proxy's on-demand TLS "ask"."""

from __future__ import annotations

import importlib
import secrets
import socket
import sys
import threading
import time
from datetime import timedelta

import dns.message
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.rrset
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import clear_url_caches
from django.utils import timezone

from conftest import ALPHA_OWNER_PASSWORD, BETA_OWNER_PASSWORD, MEMBER_PASSWORD
from tenants.dns import DNSLookupError, txt_records
from tenants.models import Domain, DomainClaim, Tenant

# --- Fixtures -------------------------------------------------------------------------------------


def _reload_public_urls() -> None:
    """The emulated zone's URLs are mounted at import time when DNS_EMULATED is on."""
    if "config.urls_public" in sys.modules:
        importlib.reload(sys.modules["config.urls_public"])
    clear_url_caches()


@pytest.fixture
def dns_zone(settings, platform_host):
    """The emulated DNS zone, filled as scripts do: ``POST /sandbox/dns/txt`` on the platform host.

    Records are shared through Redis, so each test uses names of its own and removes them after."""
    original = settings.DNS_EMULATED
    settings.DNS_EMULATED = settings.DNS_SANDBOX = True
    _reload_public_urls()
    names: set[str] = set()
    http = Client()

    class Zone:
        def set(self, name: str, value: str):
            names.add(name)
            response = http.post("/sandbox/dns/txt", {"name": name, "value": value},
                                 content_type="application/json", HTTP_HOST=platform_host)
            assert response.status_code == 200, response.content
            return response

        def clear(self, name: str):
            return http.delete("/sandbox/dns/txt", {"name": name}, content_type="application/json",
                               HTTP_HOST=platform_host)

        def get(self, name: str):
            return http.get("/sandbox/dns/txt", {"name": name}, HTTP_HOST=platform_host)

    yield Zone()
    for name in names:
        Zone().clear(name)
    settings.DNS_EMULATED = original
    _reload_public_urls()


@pytest.fixture
def name() -> str:
    """A custom domain of this test's own (the emulated zone is shared with other runs)."""
    return f"book-{secrets.token_hex(4)}.acme.com"


def _token(client, host: str, email: str, password: str) -> str:
    response = client.post("/api/v1/auth/token", {"email": email, "password": password},
                           content_type="application/json", HTTP_HOST=host)
    assert response.status_code == 200, response.content
    return response.json()["access"]


@pytest.fixture
def beta_api(client, beta_host):
    token = _token(client, beta_host, "bob@beta.example", BETA_OWNER_PASSWORD)

    class Api:
        def call(self, method, path, body=None):
            kwargs = {"content_type": "application/json"} if body is not None else {}
            return getattr(client, method)(f"/api/v1{path}", body, HTTP_HOST=beta_host,
                                           HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs)

    return Api()


def _add(api, domain: str):
    return api.call("post", "/me/domains", {"domain": domain})


def _verified(api, dns_zone, domain: str) -> dict:
    """Adds ``domain`` to the API's tenant and verifies it through the emulated zone."""
    added = _add(api, domain)
    assert added.status_code == 201, added.content
    body = added.json()
    dns_zone.set(body["verification"]["name"], body["verification"]["value"])
    verified = api.call("post", f"/me/domains/{body['id']}/verify")
    assert verified.status_code == 200 and verified.json()["status"] == "verified", verified.content
    return verified.json()


# --- Adding, verifying, routing -----------------------------------------------------------------


def test_added_domain_is_pending_and_not_routed(alpha_api, client, name, tenant_alpha):
    response = _add(alpha_api, f"  HTTPS://{name.upper()}:8443/some/path?x=1 ")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "domain", "status", "verification"} <= set(body)
    assert body["domain"] == name and body["status"] == "pending" and body["kind"] == "custom"
    assert isinstance(body["id"], str) and body["primary"] is False
    token = Domain.objects.get(pk=int(body["id"])).verification_token
    assert len(token) == 32
    assert body["verification"] == {"type": "TXT", "name": f"_consultio-verify.{name}",
                                    "value": f"consultio-verify={token}"}
    assert body["routing"] == {"type": "CNAME", "name": name, "value": django_settings.CUSTOM_DOMAIN_TARGET}

    # Before verification the host is exactly as unknown as any other.
    page = client.get("/login/", HTTP_HOST=name)
    assert page.status_code == 404
    assert f"There is no site at {name}" in page.content.decode()
    api = alpha_api.call("get", "/me", host=name)
    assert api.status_code == 404
    assert api.json() == {"detail": f"No Consultio site is served at {name}.", "code": "unknown_host"}

    listed = alpha_api.call("get", "/me/domains").json()
    assert [(d["domain"], d["kind"], d["status"], d["primary"]) for d in listed] == [
        ("alpha.localhost", "platform", "verified", True), (name, "custom", "pending", False)]
    assert listed[0]["verification"] is None and all(isinstance(d["id"], str) for d in listed)


def test_txt_record_verifies_and_the_domain_routes_to_its_tenant(alpha_api, client, dns_zone, name):
    body = _add(alpha_api, name).json()
    # The emulated zone answers on the platform host only.
    elsewhere = f"x-{name}"
    assert client.post("/sandbox/dns/txt", {"name": elsewhere, "value": "y"}, content_type="application/json",
                       HTTP_HOST=alpha_api.host).status_code in (301, 404)
    assert dns_zone.get(elsewhere).json() == {"name": elsewhere, "values": []}
    assert dns_zone.set(body["verification"]["name"], body["verification"]["value"]).json() == {
        "name": body["verification"]["name"], "values": [body["verification"]["value"]]}
    assert dns_zone.get(body["verification"]["name"]).json()["values"] == [body["verification"]["value"]]

    response = alpha_api.call("post", f"/me/domains/{body['id']}/verify")
    assert response.status_code == 200, response.content
    verified = response.json()
    assert verified["status"] == "verified" and verified["failure_reason"] is None
    assert verified["verified_at"] and verified["checked_at"]

    page = client.get("/login/", HTTP_HOST=name)
    assert page.status_code == 200
    assert "Alpha Advisory" in page.content.decode()
    me = alpha_api.call("get", "/me", host=f"{name.upper()}:8000")
    assert me.status_code == 200 and me.json()["email"] == "alice@alpha.example"
    # The API on the custom host is alpha's: its domains list included.
    assert name in [d["domain"] for d in alpha_api.call("get", "/me/domains", host=name).json()]
    # The platform subdomain keeps working.
    assert client.get("/login/", HTTP_HOST=alpha_api.host).status_code == 200

    # Once verified, the record may go: the domain stays verified and verifying again changes nothing.
    dns_zone.clear(body["verification"]["name"])
    again = alpha_api.call("post", f"/me/domains/{body['id']}/verify")
    assert again.status_code == 200 and again.json()["status"] == "verified"
    assert client.get("/login/", HTTP_HOST=name).status_code == 200


def test_wrong_txt_value_fails_with_the_reason_and_a_fix_verifies(alpha_api, client, dns_zone, name):
    body = _add(alpha_api, name).json()
    record = body["verification"]
    missing = alpha_api.call("post", f"/me/domains/{body['id']}/verify").json()
    assert missing["status"] == "failed"
    assert missing["failure_reason"].startswith(f"No TXT record found at {record['name']}.")

    dns_zone.set(record["name"], "consultio-verify=someone-elses-token")
    failed = alpha_api.call("post", f"/me/domains/{body['id']}/verify")
    assert failed.status_code == 200
    assert failed.json()["status"] == "failed"
    assert failed.json()["failure_reason"] == (
        f"The TXT record at {record['name']} holds “consultio-verify=someone-elses-token”, not {record['value']}.")
    assert client.get("/login/", HTTP_HOST=name).status_code == 404

    dns_zone.set(record["name"], f"  {record['value']} ")
    fixed = alpha_api.call("post", f"/me/domains/{body['id']}/verify").json()
    assert fixed["status"] == "verified" and fixed["failure_reason"] is None
    assert client.get("/login/", HTTP_HOST=name).status_code == 200


# --- Claims between tenants ---------------------------------------------------------------------


def test_a_domain_claimed_by_another_tenant_is_a_conflict(alpha_api, beta_api, dns_zone, name):
    pending = _add(alpha_api, name).json()
    refused = _add(beta_api, name)
    assert refused.status_code == 409
    assert refused.json()["code"] == "domain_claimed"
    assert "Another site has added" in refused.json()["detail"]

    dns_zone.set(pending["verification"]["name"], pending["verification"]["value"])
    assert alpha_api.call("post", f"/me/domains/{pending['id']}/verify").json()["status"] == "verified"
    taken = _add(beta_api, name.upper() + ".")
    assert taken.status_code == 409
    assert taken.json() == {"detail": f"{name} is already used by another site. If the domain is yours, "
                                      "contact support.", "code": "domain_taken"}
    # The same tenant adding it again gets a conflict too, and nothing is created twice.
    twice = _add(alpha_api, name)
    assert twice.status_code == 409 and twice.json()["code"] == "domain_already_added"
    assert Domain.objects.filter(domain=name).count() == 1


def test_after_seven_days_unverified_claims_coexist_and_the_first_to_verify_wins(
        alpha_api, beta_api, client, dns_zone, name, tenant_beta):
    stale = _add(alpha_api, name).json()
    DomainClaim.objects.filter(domain=name).update(first_claimed_at=timezone.now() - timedelta(days=7, minutes=1))
    Domain.objects.filter(pk=stale["id"]).update(created_at=timezone.now() - timedelta(days=7, minutes=1))
    response = _add(beta_api, name)
    assert response.status_code == 201, response.content
    taken = response.json()
    assert taken["verification"]["value"] != stale["verification"]["value"]
    assert sorted(Domain.objects.filter(domain=name).values_list("tenant__slug", flat=True)) == ["alpha", "beta"]
    # Neither routes before it is verified.
    assert client.get("/login/", HTTP_HOST=name).status_code == 404

    dns_zone.set(taken["verification"]["name"], taken["verification"]["value"])
    assert beta_api.call("post", f"/me/domains/{taken['id']}/verify").json()["status"] == "verified"
    assert "Beta Coaching" in client.get("/login/", HTTP_HOST=name).content.decode()
    dns_zone.set(stale["verification"]["name"], stale["verification"]["value"])
    # Alpha proves control too late: its claim fails with the reason, and says nothing about beta.
    late = alpha_api.call("post", f"/me/domains/{stale['id']}/verify").json()
    assert late["status"] == "failed" and "Another site proved control" in late["failure_reason"]
    assert "beta" not in late["failure_reason"].lower()
    assert "Beta Coaching" in client.get("/login/", HTTP_HOST=name).content.decode()


def test_a_chain_of_claims_cannot_hold_the_owner_off(alpha_api, beta_api, dns_zone, name):
    """The seven days run from the name's first claim by anyone, across removals and re-adds."""
    first = _add(alpha_api, name).json()
    DomainClaim.objects.filter(domain=name).update(first_claimed_at=timezone.now() - timedelta(days=6))
    assert alpha_api.call("delete", f"/me/domains/{first['id']}").status_code == 204
    again = _add(alpha_api, name)
    assert again.status_code == 201
    refused = _add(beta_api, name)
    assert refused.status_code == 409 and refused.json()["code"] == "domain_claimed"
    # Held off until seven days after the name was first claimed, not after the re-add.
    tomorrow = timezone.now() + timedelta(days=1)
    assert f"{tomorrow:%d %B %Y}" in refused.json()["detail"]

    DomainClaim.objects.filter(domain=name).update(first_claimed_at=timezone.now() - timedelta(days=7, minutes=1))
    taken = _add(beta_api, name)
    assert taken.status_code == 201, taken.content
    # Once beta verifies, the history is settled: nobody's old first claim counts any more.
    dns_zone.set(taken.json()["verification"]["name"], taken.json()["verification"]["value"])
    assert beta_api.call("post", f"/me/domains/{taken.json()['id']}/verify").json()["status"] == "verified"
    assert not DomainClaim.objects.filter(domain=name).exists()


def test_a_quoted_txt_value_verifies(alpha_api, dns_zone, name):
    pending = _add(alpha_api, name).json()
    dns_zone.set(pending["verification"]["name"], f'"{pending["verification"]["value"]}"')
    assert alpha_api.call("post", f"/me/domains/{pending['id']}/verify").json()["status"] == "verified"


def test_international_names_are_stored_as_browsers_send_them(alpha_api):
    added = _add(alpha_api, "buchen.faß.de")
    assert added.status_code == 201, added.content
    assert added.json()["domain"] == "buchen.xn--fa-hia.de"


# --- Validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["localhost", "LOCALHOST.", "alpha.localhost", "beta.localhost",
                                   "new.sub.localhost", "http://alpha.localhost:8000/login/"])
def test_the_platform_domain_and_its_subdomains_are_refused(alpha_api, value):
    response = _add(alpha_api, value)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "domain_platform"
    assert "belongs to Consultio itself" in response.json()["detail"]


@pytest.mark.parametrize(("value", "message"), [
    ("", "Enter a domain name, e.g. book.acme.com."),
    ("   ", "Enter a domain name, e.g. book.acme.com."),
    ("not a domain", "is not a domain name"),
    ("https://", "“https://” is not a domain name; enter just the host"),
    ("user@acme.com", "is not a domain name"),
    ("acme.com:http", "is not a domain name"),
    ("1.2.3.4", "An IP address cannot be a custom domain"),
    ("http://10.0.0.1:8000/", "An IP address cannot be a custom domain"),
    ("[::1]", "An IP address cannot be a custom domain"),
    ("2001:db8::1", "An IP address cannot be a custom domain"),
    ("acme", "Give a full domain name such as book.acme.com"),
    ("com", "Give a full domain name such as book.com.com"),
    ("*.acme.com", "Wildcard domains are not supported"),
    ("acme..com", "it has an empty part between dots"),
    ("-acme.com", "cannot start or end with a hyphen"),
    ("acme-.com", "cannot start or end with a hyphen"),
    ("ac_me.com", "may contain only letters, digits and hyphens"),
    ("a" * 64 + ".com", "at most 63 characters"),
    (("a" * 60 + ".") * 5 + "com", "A domain name is at most 253 characters long; this one has 308."),
    ("router.local", "is not a public domain name"),
    ("printer.internal", "is not a public domain name"),
    ("acme.123", "does not end in a top-level domain"),
])
def test_garbage_is_refused_with_a_clear_message(alpha_api, value, message):
    response = _add(alpha_api, value)
    assert response.status_code == 422, response.content
    assert message in response.json()["detail"]
    assert not Domain.objects.filter(kind=Domain.Kind.CUSTOM).exists()


def test_names_are_normalised(alpha_api):
    cases = {"Book.Acme.COM.": "book.acme.com", "https://www.acme.com/": "www.acme.com",
             "bücher.example": "xn--bcher-kva.example", "shop.acme.co.uk:443": "shop.acme.co.uk"}
    for value, expected in cases.items():
        response = _add(alpha_api, value)
        assert response.status_code == 201, response.content
        assert response.json()["domain"] == expected


def test_missing_body_field_is_422(alpha_api):
    assert alpha_api.call("post", "/me/domains", {}).status_code == 422


# --- Who may ------------------------------------------------------------------------------------


def test_only_the_owner_manages_domains(alpha_api, client, make_member, tenant_alpha, alpha_host, login):
    make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora Consultant")
    token = _token(client, alpha_host, "cora@alpha.example", MEMBER_PASSWORD)
    added = _add(alpha_api, "book.acme.com").json()
    for method, path, body in [("get", "/me/domains", None), ("post", "/me/domains", {"domain": "x.acme.com"}),
                               ("post", f"/me/domains/{added['id']}/verify", None),
                               ("post", f"/me/domains/{added['id']}/primary", None),
                               ("delete", f"/me/domains/{added['id']}", None)]:
        response = alpha_api.call(method, path, body, token=token)
        assert response.status_code == 403, (method, path)
        assert response.json() == {"detail": "Only the owner manages the site's domains.", "code": "forbidden"}
    assert alpha_api.call("get", "/me/domains", auth=False).status_code == 401
    assert Domain.objects.filter(kind=Domain.Kind.CUSTOM).count() == 1

    login(client, alpha_host, "cora@alpha.example")
    assert client.get("/settings/domains/", HTTP_HOST=alpha_host).status_code == 403


def test_another_tenants_domain_is_not_found(alpha_api, beta_api):
    foreign = _add(beta_api, "book.beta-coaching.com").json()
    own_platform = alpha_api.call("get", "/me/domains").json()[0]
    for method, path in [("post", f"/me/domains/{foreign['id']}/verify"),
                         ("post", f"/me/domains/{foreign['id']}/primary"),
                         ("delete", f"/me/domains/{foreign['id']}"),
                         ("post", "/me/domains/not-a-number/verify"),
                         ("delete", "/me/domains/999999999")]:
        response = alpha_api.call(method, path)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"detail": "No such domain.", "code": "not_found"}
    assert Domain.objects.filter(pk=foreign["id"], status="pending").exists()
    # Alpha's own platform subdomain cannot be removed.
    kept = alpha_api.call("delete", f"/me/domains/{own_platform['id']}")
    assert kept.status_code == 409 and kept.json()["code"] == "platform_domain"


# --- Removing, primary ----------------------------------------------------------------------------


def test_removed_domain_is_no_longer_routed(alpha_api, client, dns_zone, name):
    verified = _verified(alpha_api, dns_zone, name)
    assert client.get("/login/", HTTP_HOST=name).status_code == 200
    response = alpha_api.call("delete", f"/me/domains/{verified['id']}")
    assert response.status_code == 204 and response.content == b""
    assert client.get("/login/", HTTP_HOST=name).status_code == 404
    assert not Domain.objects.filter(domain=name).exists()
    assert alpha_api.call("delete", f"/me/domains/{verified['id']}").status_code == 404


def test_make_primary_then_removal_falls_back_to_the_platform_subdomain(
        alpha_api, client, dns_zone, name, alpha_host, login, mailbox, django_capture_on_commit_callbacks):
    pending = _add(alpha_api, f"other-{name}").json()
    refused = alpha_api.call("post", f"/me/domains/{pending['id']}/primary")
    assert refused.status_code == 409 and refused.json()["code"] == "domain_not_verified"

    verified = _verified(alpha_api, dns_zone, name)
    response = alpha_api.call("post", f"/me/domains/{verified['id']}/primary")
    assert response.status_code == 200 and response.json()["primary"] is True
    assert Tenant.objects.get(slug="alpha").primary_domain == name
    assert list(Domain.objects.filter(tenant__slug="alpha", is_primary=True).values_list("domain", flat=True)) == [name]
    assert alpha_api.call("post", f"/me/domains/{verified['id']}/primary").status_code == 200  # idempotent
    # The site's pages name it too (canonical links, sitemap).
    assert f"<loc>http://{name}:8000/</loc>" in client.get("/sitemap.xml", HTTP_HOST=alpha_host).content.decode()

    # Links in emails now use the custom domain, while the platform subdomain keeps working.
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        invited = client.post("/team/", {"email": "ivy@invitee.example", "role": "assistant"}, HTTP_HOST=alpha_host)
    assert invited.status_code == 302, invited.content.decode()[:2000]
    (message,) = [m for m in mailbox if m["To"] == "ivy@invitee.example"]
    assert any(link.startswith(f"http://{name}:8000/invite/") for link in mailbox.links(message)), \
        mailbox.links(message)

    removed = alpha_api.call("delete", f"/me/domains/{verified['id']}")
    assert removed.status_code == 204
    listed = alpha_api.call("get", "/me/domains").json()
    assert [(d["domain"], d["primary"]) for d in listed] == [(alpha_host, True), (f"other-{name}", False)]
    assert Tenant.objects.get(slug="alpha").primary_domain == alpha_host
    assert f"<loc>http://{alpha_host}:8000/</loc>" in client.get("/sitemap.xml", HTTP_HOST=alpha_host).content.decode()


def test_platform_subdomain_can_be_made_primary_again(alpha_api, dns_zone, name, alpha_host):
    verified = _verified(alpha_api, dns_zone, name)
    alpha_api.call("post", f"/me/domains/{verified['id']}/primary")
    platform = alpha_api.call("get", "/me/domains").json()[0]
    response = alpha_api.call("post", f"/me/domains/{platform['id']}/primary")
    assert response.status_code == 200 and response.json()["domain"] == alpha_host
    assert Tenant.objects.get(slug="alpha").primary_domain == alpha_host


# --- Host validation and CSRF ---------------------------------------------------------------------


def test_explicit_allowed_hosts_still_admit_verified_domains(alpha_api, client, dns_zone, name, settings,
                                                             alpha_host):
    pending_name = f"pending-{name}"
    _add(alpha_api, pending_name)
    _verified(alpha_api, dns_zone, name)
    settings.ALLOWED_HOSTS = ["localhost", ".localhost"]

    assert client.get("/login/", HTTP_HOST=alpha_host).status_code == 200
    assert client.get("/login/", HTTP_HOST=f"{name}:8000").status_code == 200
    me = alpha_api.call("get", "/me", host=name)
    assert me.status_code == 200
    # Not verified, or unknown and not listed: a 404 as before.
    assert client.get("/login/", HTTP_HOST=pending_name).status_code == 404
    assert client.get("/login/", HTTP_HOST="elsewhere.example").status_code == 404
    # A form post: CSRF compares the Origin with get_host(), which must accept the custom domain.
    csrf = Client(enforce_csrf_checks=True)
    csrf.get("/login/", HTTP_HOST=name)
    response = csrf.post("/login/", {"username": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD,
                                     "csrfmiddlewaretoken": csrf.cookies["csrftoken"].value},
                         HTTP_HOST=name, HTTP_ORIGIN=f"http://{name}")
    assert response.status_code == 302, response.content.decode()[:1000]
    # Removed: refused at once, with no restart.
    alpha_api.call("delete", f"/me/domains/{Domain.objects.get(domain=name).pk}")
    assert client.get("/login/", HTTP_HOST=name).status_code == 404


def test_csrf_protected_form_posts_work_on_the_custom_domain(alpha_api, dns_zone, name):
    _verified(alpha_api, dns_zone, name)
    browser = Client(enforce_csrf_checks=True)
    form = browser.get("/login/", HTTP_HOST=name)
    assert form.status_code == 200
    token = browser.cookies["csrftoken"].value
    credentials = {"username": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD, "csrfmiddlewaretoken": token}

    forged = browser.post("/login/", credentials, HTTP_HOST=name, HTTP_ORIGIN="http://evil.example")
    assert forged.status_code == 403
    response = browser.post("/login/", credentials, HTTP_HOST=name, HTTP_ORIGIN=f"http://{name}")
    assert response.status_code == 302
    assert browser.get(response["Location"], HTTP_HOST=name).status_code == 200


# --- The owner's page ---------------------------------------------------------------------------


def test_owner_page_adds_verifies_makes_primary_and_removes(client, login, alpha_host, dns_zone, name):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    page = client.get("/settings/domains/", HTTP_HOST=alpha_host)
    assert page.status_code == 200
    assert alpha_host in page.content.decode() and "Add domain" in page.content.decode()

    bad = client.post("/settings/domains/", {"domain": "1.2.3.4"}, HTTP_HOST=alpha_host)
    assert bad.status_code == 400
    assert "An IP address cannot be a custom domain" in bad.content.decode()

    added = client.post("/settings/domains/", {"domain": name}, HTTP_HOST=alpha_host, follow=True)
    body = added.content.decode()
    domain = Domain.objects.get(domain=name)
    assert f"<code class=\"wrap\" style=\"user-select: all\">_consultio-verify.{name}</code>" in body
    assert f"consultio-verify={domain.verification_token}</code>" in body
    assert "Waiting for verification" in body

    failed = client.post(f"/settings/domains/{domain.pk}/verify/", HTTP_HOST=alpha_host, follow=True)
    assert f"No TXT record found at _consultio-verify.{name}" in failed.content.decode()

    dns_zone.set(f"_consultio-verify.{name}", f"consultio-verify={domain.verification_token}")
    verified = client.post(f"/settings/domains/{domain.pk}/verify/", HTTP_HOST=alpha_host, follow=True)
    assert f"{name} is verified" in verified.content.decode()

    primary = client.post(f"/settings/domains/{domain.pk}/primary/", HTTP_HOST=alpha_host, follow=True)
    assert f"{name} is now your primary domain" in primary.content.decode()
    assert Tenant.objects.get(slug="alpha").primary_domain == name

    # Removed from a page open on the domain itself: the owner goes on at the platform address.
    removed = client.post(f"/settings/domains/{domain.pk}/remove/", HTTP_HOST=name)
    assert removed.status_code == 302 and removed["Location"] == f"http://{alpha_host}:8000/settings/domains/"
    assert "Domain removed" in client.get("/settings/domains/", HTTP_HOST=alpha_host).content.decode()
    assert Tenant.objects.get(slug="alpha").primary_domain == alpha_host
    gone = client.post(f"/settings/domains/{domain.pk}/remove/", HTTP_HOST=alpha_host, follow=True)
    assert "That domain is no longer in your list." in gone.content.decode()


# --- On-demand TLS ------------------------------------------------------------------------------


def test_tls_ask_allows_only_hosts_served_here(alpha_api, client, dns_zone, name, platform_host, alpha_host):
    def ask(domain: str | None, host: str = platform_host) -> int:
        return client.get("/internal/tls-allowed", {"domain": domain} if domain is not None else {},
                          HTTP_HOST=host).status_code

    added = _add(alpha_api, name).json()
    assert ask(name) == 404
    dns_zone.set(added["verification"]["name"], added["verification"]["value"])
    alpha_api.call("post", f"/me/domains/{added['id']}/verify")
    assert ask(name) == 200
    assert ask(name.upper() + ".") == 200
    assert ask(alpha_host) == 200
    assert ask(platform_host) == 200
    assert ask("nobody.localhost") == 404
    assert ask("evil.example") == 404
    assert ask(None) == 400
    assert ask("") == 400
    # Only on the platform host (a tenant's site has no such page).
    assert ask(name, host=alpha_host) in (301, 404)


# --- The WebSocket side ---------------------------------------------------------------------------


def test_websocket_tenant_selection_follows_verification(alpha_api, dns_zone, name):
    from core.asgi_tenants import _schema_for_host

    added = _add(alpha_api, name).json()
    assert _schema_for_host(name) is None
    dns_zone.set(added["verification"]["name"], added["verification"]["value"])
    alpha_api.call("post", f"/me/domains/{added['id']}/verify")
    assert _schema_for_host(name) == "t_alpha"
    assert _schema_for_host("alpha.localhost") == "t_alpha"
    assert _schema_for_host("localhost") is None


def test_websocket_origin_is_checked_against_the_socket_host(settings, db):
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    from core.asgi_tenants import TenantOriginValidator

    async def accept(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})

    async def connect(host: str, origin: str | None) -> bool:
        headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
        communicator = WebsocketCommunicator(TenantOriginValidator(accept), "/ws/x/", headers=headers)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    settings.ALLOWED_HOSTS = ["localhost", ".localhost"]
    assert async_to_sync(connect)("book.acme.com", "https://book.acme.com")
    assert async_to_sync(connect)("alpha.localhost", "http://alpha.localhost:8000")
    assert async_to_sync(connect)("book.acme.com", "https://alpha.localhost")
    assert not async_to_sync(connect)("book.acme.com", "https://evil.example")
    assert not async_to_sync(connect)("book.acme.com", None)
    settings.ALLOWED_HOSTS = ["*"]
    assert async_to_sync(connect)("book.acme.com", None)


# --- The DNS seam with the real resolver ----------------------------------------------------------


class LoopbackDNS:
    """A real DNS server on loopback (UDP), answering TXT queries from a dict; names listed in
    ``servfail`` answer SERVFAIL, names in ``empty`` exist without TXT records, others NXDOMAIN."""

    def __init__(self, txt: dict[str, list[str]], *, servfail: tuple[str, ...] = (), empty: tuple[str, ...] = ()):
        self.txt, self.servfail, self.empty = txt, servfail, empty
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                data, address = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            qname = question.name.to_text(omit_final_dot=True).lower()
            self.queries.append(qname)
            if qname in self.servfail:
                response.set_rcode(dns.rcode.SERVFAIL)
            elif qname in self.txt and question.rdtype == dns.rdatatype.TXT:
                rdatas = [dns.rdata.from_text("IN", "TXT", " ".join(
                    f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))) for value in self.txt[qname]]
                response.answer.append(dns.rrset.from_rdata_list(question.name, 60, rdatas))
            elif qname not in self.empty:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), address)

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture
def real_dns(settings):
    """``tenants.dns`` resolving with dnspython against a DNS server of the test's own."""
    server = LoopbackDNS({})
    settings.DNS_EMULATED = False
    settings.DNS_NAMESERVERS = ["127.0.0.1"]
    settings.DNS_PORT = server.port
    settings.DNS_TIMEOUT_SECONDS = 2.0
    yield server
    server.close()


def test_real_resolver_reads_txt_records_and_tells_missing_from_failing(real_dns):
    long_value = "v=" + "x" * 400  # longer than one TXT string: DNS splits it, the seam joins it
    real_dns.txt.update({"_consultio-verify.book.acme.com": ["consultio-verify=abc", long_value]})
    real_dns.servfail = ("broken.acme.com",)
    real_dns.empty = ("empty.acme.com",)

    assert sorted(txt_records("_consultio-verify.Book.Acme.com.")) == ["consultio-verify=abc", long_value]
    assert txt_records("nothing-here.acme.com") == []
    assert txt_records("empty.acme.com") == []
    with pytest.raises(DNSLookupError):
        txt_records("broken.acme.com")
    assert "_consultio-verify.book.acme.com" in real_dns.queries


def test_real_resolver_gives_up_in_time_when_dns_does_not_answer(settings):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.DNS_EMULATED = False
    settings.DNS_NAMESERVERS = ["127.0.0.1"]
    settings.DNS_PORT = closed_port
    settings.DNS_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()
    with pytest.raises(DNSLookupError):
        txt_records("_consultio-verify.book.acme.com")
    assert time.monotonic() - started < 3


def test_verification_through_the_real_resolver(alpha_api, real_dns, client, name, settings):
    added = _add(alpha_api, name).json()
    real_dns.txt[added["verification"]["name"]] = ["google-site-verification=zzz", added["verification"]["value"]]
    response = alpha_api.call("post", f"/me/domains/{added['id']}/verify")
    assert response.status_code == 200 and response.json()["status"] == "verified"
    assert client.get("/login/", HTTP_HOST=name).status_code == 200


def test_dns_failure_is_a_temporary_failure_with_a_reason(alpha_api, real_dns, name, settings):
    added = _add(alpha_api, name).json()
    real_dns.servfail = (added["verification"]["name"],)
    response = alpha_api.call("post", f"/me/domains/{added['id']}/verify")
    assert response.status_code == 200
    assert response.json()["status"] == "failed"
    assert response.json()["failure_reason"] == (
        f"We could not look up the TXT record at {added['verification']['name']} right now; "
        "try again in a few minutes.")
