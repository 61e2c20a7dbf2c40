"""Custom domains: an owner adds a host name (``book.acme.com``), proves control of it with a DNS
TXT record, and from then on the site is served there too, beside its platform subdomain.

Rules, and why:

- **Only verified domains route.** ``served_domain`` is the one lookup behind the HTTP middleware,
  the WebSocket middleware, host validation and the TLS "ask" endpoint, so a pending or failed
  domain is exactly as unknown as a host nobody added.
- **Proof is a TXT record** ``_consultio-verify.<domain>`` holding ``consultio-verify=<token>``, the
  token random per claim. A TXT record under its own label leaves the domain's other records
  (CNAME, MX) alone, and DNS is reached through ``tenants.dns`` so tests and ``make dev`` answer it
  from an emulated zone. Once verified a domain stays verified; the TXT record may be removed.
- **One site per domain.** A domain verified by another site is refused (409). A pending or failed
  claim holds other sites off too (409), but only for ``CLAIM_LAPSES_AFTER`` (7 days) after the
  name was *first* claimed by anyone — the time is kept in ``DomainClaim`` across removals, so
  neither removing and re-adding nor a chain of sites claiming in turn holds the real owner off.
  After that, several sites may hold pending claims of the name; the first to verify gets it and
  the others' claims fail with the reason. Adding a domain the site already has is a 409 as well
  (nothing is created twice; the existing entry, with its TXT record, is in the list).
- **The platform subdomain always stays**; it cannot be removed, and when the primary custom domain
  is removed the platform subdomain becomes primary again in the same transaction.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import idna
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import Conflict, InvalidInput, NotFound
from tenants.dns import DNSLookupError, txt_records
from tenants.models import Domain, DomainClaim, Tenant
from tenants.selectors import tenant_domain_for

logger = logging.getLogger(__name__)

VERIFY_LABEL = "_consultio-verify"
VERIFY_VALUE_PREFIX = "consultio-verify="
CLAIM_LAPSES_AFTER = timedelta(days=7)
MAX_CUSTOM_DOMAINS = 10
MAX_DOMAIN_LENGTH = 253
MAX_LABEL_LENGTH = 63
# Names that never resolve on the public internet, so they could never be verified.
NON_PUBLIC_TLDS = frozenset({"localhost", "local", "localdomain", "internal", "invalid", "arpa", "lan", "home"})

_LABEL = re.compile(r"^[a-z0-9-]+$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


@dataclass(frozen=True)
class DnsRecord:
    type: str
    name: str
    value: str


# --- Host names ---------------------------------------------------------------------------------


def _invalid(message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, field="domain")


def _shown(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "…"


def domain_normalize(value: str) -> str:
    """The host name in ``value`` as it is stored and matched: lower-case ASCII (IDNs in their
    ``xn--`` form, as browsers send them), without scheme, port, path or trailing dot.

    Raises ``InvalidInput`` (422) with a message saying what is wrong: not a host name, an IP
    address, a single label (``localhost``, a bare TLD), too long, a bad label, a name that is not
    public, or the platform's own domain and its subdomains."""
    raw = (value or "").strip()
    if not raw:
        raise _invalid("Enter a domain name, e.g. book.acme.com.", "domain_required")
    text = raw.lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    if not text or "@" in text or any(char.isspace() for char in text):
        raise _invalid(f"“{_shown(raw)}” is not a domain name; enter just the host, e.g. book.acme.com.",
                       "domain_invalid")
    if text.startswith("["):
        raise _invalid("An IP address cannot be a custom domain; use a host name such as book.acme.com.",
                       "domain_ip")
    if text.count(":") == 1:
        text, port = text.split(":")
        if not port.isdigit():
            raise _invalid(f"“{_shown(raw)}” is not a domain name; enter just the host, e.g. book.acme.com.",
                           "domain_invalid")
    if text.endswith("."):
        text = text[:-1]
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        raise _invalid("An IP address cannot be a custom domain; use a host name such as book.acme.com.",
                       "domain_ip")
    if text.startswith("*"):
        raise _invalid("Wildcard domains are not supported; add each host name on its own, e.g. book.acme.com.",
                       "domain_wildcard")
    if not text.isascii():
        # IDNA 2008 with UTS #46 mapping, as browsers encode the names they send (Python's own
        # "idna" codec is IDNA 2003: "faß.de" would be stored as a name no browser asks for).
        try:
            text = idna.encode(text, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise _invalid(f"“{_shown(raw)}” is not a valid domain name.", "domain_invalid") from None
    if len(text) > MAX_DOMAIN_LENGTH:
        raise _invalid(f"A domain name is at most {MAX_DOMAIN_LENGTH} characters long; this one has {len(text)}.",
                       "domain_too_long")
    labels = text.split(".")
    if any(not label for label in labels):
        raise _invalid(f"“{_shown(raw)}” is not a valid domain name (it has an empty part between dots).",
                       "domain_invalid")
    if _is_platform(text):
        raise _invalid(
            f"{text} belongs to {settings.PLATFORM_NAME} itself: your site already has its own address here. "
            "Add a domain you own, e.g. book.acme.com.", "domain_platform")
    if len(labels) < 2:
        raise _invalid(f"Give a full domain name such as book.{text}.com, not just “{_shown(text)}”.",
                       "domain_incomplete")
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH:
            raise _invalid(f"Each part of a domain name is at most {MAX_LABEL_LENGTH} characters; "
                           f"“{_shown(label)}” has {len(label)}.", "domain_label_too_long")
        if not _LABEL.match(label):
            raise _invalid(f"“{_shown(label)}” may contain only letters, digits and hyphens.", "domain_invalid")
        if label.startswith("-") or label.endswith("-"):
            raise _invalid(f"“{_shown(label)}” cannot start or end with a hyphen.", "domain_invalid")
    tld = labels[-1]
    if tld in NON_PUBLIC_TLDS:
        raise _invalid(f"{text} is not a public domain name: nobody on the internet could reach it.",
                       "domain_not_public")
    if not _TLD.match(tld):
        raise _invalid(f"“{_shown(raw)}” does not end in a top-level domain such as .com.", "domain_invalid")
    return text


def _is_platform(name: str) -> bool:
    bases = {settings.PLATFORM_DOMAIN, settings.CUSTOM_DOMAIN_TARGET} - {""}
    return any(name == base or name.endswith("." + base) for base in bases)


# --- Routing ------------------------------------------------------------------------------------


def served_domain(hostname: str) -> Domain | None:
    """The ``Domain`` that serves ``hostname`` (lower-case, no port), with its tenant and plan, or None.

    Only verified domains serve (platform domains always are). The exact name wins; ``www.<name>``
    falls back to ``<name>``, as django-tenants has always routed ``www.`` hosts. One query."""
    hostname = hostname.lower().rstrip(".")
    if not hostname:
        return None
    candidates = [hostname]
    if hostname.startswith("www."):
        candidates.append(hostname[4:])
    found = {
        domain.domain: domain
        for domain in Domain.objects.select_related("tenant", "tenant__plan").filter(
            domain__in=candidates, status=Domain.Status.VERIFIED)
    }
    return next((found[name] for name in candidates if name in found), None)


# --- What the owner sees -------------------------------------------------------------------------


def verification_record(domain: Domain) -> DnsRecord:
    """The TXT record that proves control of ``domain``."""
    return DnsRecord(type="TXT", name=f"{VERIFY_LABEL}.{domain.domain}",
                     value=f"{VERIFY_VALUE_PREFIX}{domain.verification_token}")


def routing_record(domain: Domain) -> DnsRecord:
    """The record that sends the domain's traffic to the platform."""
    return DnsRecord(type="CNAME", name=domain.domain, value=settings.CUSTOM_DOMAIN_TARGET)


def tenant_domains(*, tenant: Tenant) -> list[Domain]:
    """The tenant's platform subdomain first, then its custom domains, oldest first."""
    return list(Domain.objects.filter(tenant=tenant).order_by("-kind", "created_at", "pk"))


def name_open_at(name: str, rows: list[Domain] | None = None) -> datetime:
    """When other sites may add ``name`` although it is pending elsewhere: seven days after anyone
    first claimed it (kept across removals), so no chain of claims holds the real owner off."""
    rows = rows if rows is not None else list(Domain.objects.filter(domain=name))
    first = DomainClaim.objects.filter(domain=name).order_by("first_claimed_at") \
        .values_list("first_claimed_at", flat=True).first()
    times = [moment for moment in [first, *(row.created_at for row in rows)] if moment is not None]
    return min(times, default=timezone.now()) + CLAIM_LAPSES_AFTER


def claims_lapse_at(domains: list[Domain]) -> dict[int, datetime]:
    """For a site's pending custom domains, by id: until when nobody else may add the name (one
    query); the page stops promising it afterwards."""
    custom = [domain for domain in domains if domain.kind == Domain.Kind.CUSTOM]
    if not custom:
        return {}
    first: dict[str, datetime] = {}
    for claim in DomainClaim.objects.filter(domain__in={domain.domain for domain in custom}):
        first[claim.domain] = min(first.get(claim.domain, claim.first_claimed_at), claim.first_claimed_at)
    return {domain.pk: min(first.get(domain.domain, domain.created_at), domain.created_at) + CLAIM_LAPSES_AFTER
            for domain in custom}


# --- Changes ------------------------------------------------------------------------------------


def _domain_id(domain_id: int | str) -> int:
    try:
        return int(str(domain_id))
    except ValueError:
        raise NotFound("No such domain.") from None


def _forget_cached_domains(tenant: Tenant) -> None:
    """The tenant object may carry its primary domain from before the change (links, emails)."""
    tenant.__dict__.pop("primary_domain", None)
    getattr(tenant, "_prefetched_objects_cache", {}).pop("domains", None)


def domain_add(*, tenant: Tenant, domain: str) -> Domain:
    """Claim ``domain`` for ``tenant``: a pending custom domain with a fresh verification token."""
    name = domain_normalize(domain)
    now = timezone.now()
    with transaction.atomic():
        # The tenant's row serialises its own additions, so the limit holds under concurrent requests.
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        rows = list(Domain.objects.select_for_update().filter(domain=name))
        if any(row.tenant_id == tenant.pk for row in rows):
            raise Conflict(f"{name} is already in your list of domains.", code="domain_already_added")
        if any(row.status == Domain.Status.VERIFIED for row in rows):
            raise Conflict(f"{name} is already used by another site. If the domain is yours, contact support.",
                           code="domain_taken")
        if rows:
            opens_at = name_open_at(name, rows)
            if now < opens_at:
                raise Conflict(
                    f"Another site has added {name} and is verifying it. If the domain is yours and it is "
                    f"still unverified on {opens_at:%d %B %Y at %H:%M} UTC, you can add it then.",
                    code="domain_claimed")
            logger.info("Claims of %s unverified for 7 days; tenant %s adds it too", name, tenant.pk)
        custom = Domain.objects.filter(tenant=tenant, kind=Domain.Kind.CUSTOM).count()
        if custom >= MAX_CUSTOM_DOMAINS:
            raise Conflict(f"A site can have at most {MAX_CUSTOM_DOMAINS} custom domains; remove one first.",
                           code="domain_limit")
        try:
            with transaction.atomic():
                created = Domain(
                    domain=name, tenant=tenant, kind=Domain.Kind.CUSTOM, status=Domain.Status.PENDING,
                    is_primary=False, verification_token=secrets.token_hex(16),
                )
                # Not ``save()``: DomainMixin.save() would make a domain primary if none were.
                Domain.objects.bulk_create([created])
                DomainClaim.objects.get_or_create(domain=name, tenant=tenant, defaults={"first_claimed_at": now})
        except IntegrityError:
            # The same site added it twice at the same moment, or another site verified it meanwhile.
            raise Conflict(f"{name} is already in your list of domains.", code="domain_already_added") from None
    created = Domain.objects.get(pk=created.pk)
    logger.info("Tenant %s added custom domain %s", tenant.pk, name)
    return created


def _tenant_domain(*, tenant: Tenant, domain_id: int | str, lock: bool = False) -> Domain:
    domains = Domain.objects.filter(tenant=tenant)
    if lock:
        domains = domains.select_for_update()
    domain = domains.filter(pk=_domain_id(domain_id)).first()
    if domain is None:
        raise NotFound("No such domain.")
    return domain


def domain_verify(*, tenant: Tenant, domain_id: int | str) -> Domain:
    """Look the TXT record up and mark the domain verified or failed, with the reason.

    DNS is asked outside any transaction (it may take seconds); the row is then locked and updated
    only if it is still the same claim (not removed, not re-added with another token meanwhile)."""
    domain = _tenant_domain(tenant=tenant, domain_id=domain_id)
    if domain.status == Domain.Status.VERIFIED:
        return domain
    record = verification_record(domain)
    status, reason = Domain.Status.FAILED, ""
    try:
        # Values pasted with their quotes (as some DNS panels show them) count too.
        values = [value.strip().strip('"').strip() for value in txt_records(record.name)]
    except DNSLookupError as exc:
        logger.warning("TXT lookup of %s failed: %s", record.name, exc)
        reason = (f"We could not look up the TXT record at {record.name} right now; "
                  "try again in a few minutes.")
    else:
        if record.value in values:
            status = Domain.Status.VERIFIED
        elif not values:
            reason = (f"No TXT record found at {record.name}. Create it with the value shown; "
                      "DNS changes can take a few minutes (sometimes hours) to appear.")
        else:
            found = ", ".join(f"“{_shown(value)}”" for value in values[:2]) + (" …" if len(values) > 2 else "")
            reason = f"The TXT record at {record.name} holds {found}, not {record.value}."
    now = timezone.now()
    with transaction.atomic():
        # Every claim of the name, locked: of several sites verifying at once, the first one wins.
        rows = {row.pk: row for row in Domain.objects.select_for_update().filter(domain=domain.domain)}
        locked = rows.get(domain.pk)
        if locked is None or locked.tenant_id != tenant.pk or locked.verification_token != domain.verification_token:
            raise NotFound("This domain was removed.")
        if locked.status != Domain.Status.VERIFIED:
            if status == Domain.Status.VERIFIED and any(
                    row.status == Domain.Status.VERIFIED for row in rows.values() if row.pk != locked.pk):
                status, reason = Domain.Status.FAILED, _taken_reason(locked.domain)
            locked.status = status
            locked.checked_at = now
            locked.failure_reason = reason[:300]
            locked.verified_at = now if status == Domain.Status.VERIFIED else None
            locked.save(update_fields=["status", "checked_at", "failure_reason", "verified_at"])
            if status == Domain.Status.VERIFIED:
                # Settled: the other sites' claims cannot win any more, and whoever adds the name
                # later starts afresh (it is refused while verified here).
                Domain.objects.filter(domain=locked.domain).exclude(pk=locked.pk).update(
                    status=Domain.Status.FAILED, failure_reason=_taken_reason(locked.domain), checked_at=now)
                DomainClaim.objects.filter(domain=locked.domain).delete()
    if locked.status == Domain.Status.VERIFIED:
        logger.info("Tenant %s verified custom domain %s", tenant.pk, locked.domain)
    return locked


def _taken_reason(name: str) -> str:
    return (f"Another site proved control of {name} first, so it is served there. If the domain is yours, "
            "contact support; otherwise remove it from your list.")


@transaction.atomic
def domain_make_primary(*, tenant: Tenant, domain_id: int | str) -> Domain:
    """Make a verified domain the one links and emails use; the others keep working."""
    list(Domain.objects.select_for_update().filter(tenant=tenant))  # one change of primary at a time
    domain = _tenant_domain(tenant=tenant, domain_id=domain_id)
    if domain.status != Domain.Status.VERIFIED:
        raise Conflict(f"Verify {domain.domain} before making it the primary domain.", code="domain_not_verified")
    if not domain.is_primary:
        # The old primary is cleared first: domain_one_primary_per_tenant allows one at a time.
        Domain.objects.filter(tenant=tenant, is_primary=True).update(is_primary=False)
        Domain.objects.filter(pk=domain.pk).update(is_primary=True)
        domain.is_primary = True
        _forget_cached_domains(tenant)
        _site_hostname_set(tenant, domain.domain)
    return domain


def _site_hostname_set(tenant: Tenant, hostname: str) -> None:
    """The tenant's pages name their primary domain (canonical links, sitemap)."""
    from django_tenants.utils import schema_context

    from cms.provisioning import site_hostname_set

    with schema_context(tenant.schema_name):
        site_hostname_set(hostname)


@transaction.atomic
def domain_remove(*, tenant: Tenant, domain_id: int | str) -> str:
    """Remove a custom domain (returns its name); if it was primary, the platform subdomain is
    primary again."""
    domains = list(Domain.objects.select_for_update().filter(tenant=tenant))
    domain = _tenant_domain(tenant=tenant, domain_id=domain_id)
    if domain.kind == Domain.Kind.PLATFORM:
        raise Conflict(f"{domain.domain} is your site's own address on {settings.PLATFORM_NAME}; it always stays.",
                       code="platform_domain")
    domain.delete()
    if domain.is_primary:
        platform = [d for d in domains if d.kind == Domain.Kind.PLATFORM]
        fallback = next((d for d in platform if d.domain == tenant_domain_for(tenant.slug)), None)
        fallback = fallback or (platform[0] if platform else None)
        if fallback is not None:
            Domain.objects.filter(pk=fallback.pk).update(is_primary=True)
            _site_hostname_set(tenant, fallback.domain)
    _forget_cached_domains(tenant)
    logger.info("Tenant %s removed custom domain %s", tenant.pk, domain.domain)
    return domain.domain


def sender_domain(tenant: Tenant) -> str:
    """The domain a tenant's emails are sent from: its platform subdomain, whatever its primary domain.

    Mail servers check the sender's domain (SPF, DKIM, DMARC) against the platform's mail set-up,
    which a custom domain does not carry; links in the emails still use the primary domain."""
    return tenant_domain_for(tenant.slug)
