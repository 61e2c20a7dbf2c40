"""The owner's custom domains over the API (``/api/v1/me/domains``), for scripts with the owner's token
on the tenant host. Rules and their reasons are in ``tenants.domains``."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema, Status

from accounts.models import User
from core.exceptions import PermissionDenied
from tenants.domains import (
    domain_add,
    domain_make_primary,
    domain_remove,
    domain_verify,
    routing_record,
    tenant_domains,
    verification_record,
)
from tenants.models import Domain

router = Router(tags=["domains"])


class DomainIn(Schema):
    domain: str


def _owner(request: HttpRequest) -> User:
    user = request.auth
    if not user.is_owner:
        raise PermissionDenied("Only the owner manages the site's domains.")
    return user


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def domain_out(domain: Domain) -> dict:
    """One domain; ``verification`` and ``routing`` (the DNS records to create) only for custom ones."""
    out = {
        "id": str(domain.pk), "domain": domain.domain, "kind": domain.kind, "status": domain.status,
        "primary": domain.is_primary, "failure_reason": domain.failure_reason or None,
        "verification": None, "routing": None, "created_at": _iso(domain.created_at),
        "checked_at": _iso(domain.checked_at), "verified_at": _iso(domain.verified_at),
    }
    if domain.kind == Domain.Kind.CUSTOM:
        txt, cname = verification_record(domain), routing_record(domain)
        out["verification"] = {"type": txt.type, "name": txt.name, "value": txt.value}
        out["routing"] = {"type": cname.type, "name": cname.name, "value": cname.value}
    return out


@router.get("/domains")
def domains_list(request: HttpRequest):
    """The platform subdomain (``kind: "platform"``) and every custom domain with its status."""
    _owner(request)
    return [domain_out(domain) for domain in tenant_domains(tenant=request.tenant)]


@router.post("/domains", response={201: dict})
def domains_add(request: HttpRequest, payload: DomainIn):
    """Add a custom domain: pending until ``/verify`` finds its TXT record."""
    _owner(request)
    return Status(201, domain_out(domain_add(tenant=request.tenant, domain=payload.domain)))


@router.post("/domains/{domain_id}/verify")
def domains_verify(request: HttpRequest, domain_id: str):
    """Look the TXT record up now: ``status`` becomes ``verified``, or ``failed`` with ``failure_reason``."""
    _owner(request)
    return domain_out(domain_verify(tenant=request.tenant, domain_id=domain_id))


@router.post("/domains/{domain_id}/primary")
def domains_make_primary(request: HttpRequest, domain_id: str):
    """Use this verified domain in links and emails; the other domains keep working."""
    _owner(request)
    return domain_out(domain_make_primary(tenant=request.tenant, domain_id=domain_id))


@router.delete("/domains/{domain_id}", response={204: None})
def domains_remove(request: HttpRequest, domain_id: str):
    """Remove a custom domain (the platform subdomain stays); a removed primary falls back to it."""
    _owner(request)
    domain_remove(tenant=request.tenant, domain_id=domain_id)
    return Status(204, None)
