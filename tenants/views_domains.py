"""The owner's domains page (``/settings/domains/`` on the tenant host) and the TLS "ask" endpoint
the proxy calls on the platform host before it requests a certificate."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.access import owner_required
from core.exceptions import ApplicationError, NotFound
from tenants.domains import (
    claims_lapse_at,
    domain_add,
    domain_make_primary,
    domain_remove,
    domain_verify,
    routing_record,
    served_domain,
    tenant_domains,
    verification_record,
)
from tenants.models import Domain


class DomainForm(forms.Form):
    domain = forms.CharField(
        max_length=300, label="Domain",
        help_text="A host name you own, e.g. book.acme.com. You will then add two DNS records at your DNS provider.",
        widget=forms.TextInput(attrs={"placeholder": "book.acme.com", "autocomplete": "off", "spellcheck": "false"}))


def _rows(tenant) -> list[dict]:
    rows = []
    domains = tenant_domains(tenant=tenant)
    now = timezone.now()
    lapse = claims_lapse_at(domains)
    for domain in domains:
        row = {"domain": domain, "custom": domain.kind == Domain.Kind.CUSTOM}
        if row["custom"]:
            row |= {"txt": verification_record(domain), "cname": routing_record(domain),
                    "lapses_at": lapse[domain.pk] if lapse[domain.pk] > now else None}
        rows.append(row)
    return rows


@owner_required
@require_http_methods(["GET", "POST"])
def domains_page(request: HttpRequest) -> HttpResponse:
    form = DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain = domain_add(tenant=request.tenant, domain=form.cleaned_data["domain"])
        except ApplicationError as exc:
            form.add_error("domain", exc.message)
        else:
            messages.success(request, f"{domain.domain} added. Create the DNS records below, then press Verify.")
            return redirect("domains:list")
    return render(request, "tenants/domains.html", {
        "form": form, "rows": _rows(request.tenant), "dns_emulated": settings.DNS_EMULATED,
    }, status=400 if request.method == "POST" else 200)


def _action(request: HttpRequest, action) -> HttpResponse:
    """Runs a change on one domain and reports it as a message on the list."""
    try:
        action()
    except NotFound:
        messages.error(request, "That domain is no longer in your list.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("domains:list")


@owner_required
@require_POST
def domain_verify_view(request: HttpRequest, domain_id: int) -> HttpResponse:
    def verify():
        domain = domain_verify(tenant=request.tenant, domain_id=domain_id)
        if domain.status == Domain.Status.VERIFIED:
            messages.success(request, f"{domain.domain} is verified: your site is now served there too.")
        else:
            messages.error(request, f"{domain.domain} is not verified yet. {domain.failure_reason}")

    return _action(request, verify)


@owner_required
@require_POST
def domain_primary_view(request: HttpRequest, domain_id: int) -> HttpResponse:
    def make_primary():
        domain = domain_make_primary(tenant=request.tenant, domain_id=domain_id)
        messages.success(request, f"{domain.domain} is now your primary domain: links and emails use it. "
                                   "Check that its CNAME record points here, or those links lead nowhere.")

    return _action(request, make_primary)


@owner_required
@require_POST
def domain_remove_view(request: HttpRequest, domain_id: int) -> HttpResponse:
    removed = []

    def remove():
        removed.append(domain_remove(tenant=request.tenant, domain_id=domain_id))
        messages.success(request, "Domain removed; your site is no longer served there.")

    response = _action(request, remove)
    if removed and removed[0] == request.get_host().split(":")[0].lower():
        # The page was open on the removed domain, which no longer leads anywhere: go on at the
        # primary address (the session there is another one: the owner may have to sign in).
        return redirect(f"{request.tenant.url}/settings/domains/")
    return response


@never_cache
@require_safe
def tls_allowed(request: HttpRequest) -> HttpResponse:
    """Caddy's on-demand TLS ``ask``: 200 when ``?domain=`` is a host this platform serves (the
    platform host, a tenant subdomain, a verified custom domain), 404 otherwise — so certificates
    are only ever requested for our own hosts, never for whatever name a client sends."""
    hostname, _port = split_domain_port(request.GET.get("domain", "").strip())
    if not hostname:
        return HttpResponse("Give the host name as ?domain=.\n", status=400, content_type="text/plain")
    if served_domain(hostname) is None:
        return HttpResponse("Not served here.\n", status=404, content_type="text/plain")
    return HttpResponse("Served here.\n", content_type="text/plain")
