from django.conf import settings
from django.db import connection
from django.http import HttpResponseNotFound, JsonResponse
from django.http.request import split_domain_port, validate_host
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.domains import served_domain
from tenants.models import Domain

# Paths that still answer on a suspended tenant's host.
SUSPENSION_EXEMPT_PREFIXES = ("/healthz", "/static/")


def _allowed_hosts() -> list[str]:
    """``ALLOWED_HOSTS`` as Django reads it (with its localhost defaults under DEBUG)."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return allowed


class TenantMiddleware(TenantMainMiddleware):
    """Selects the schema from the host; unknown hosts get the not-found view.

    A host is served when a ``Domain`` routes it (``tenants.domains.served_domain``): the platform
    host, tenant subdomains, and custom domains once verified — a pending or failed custom domain is
    as unknown as any other host.

    Host validation: with the default ``ALLOWED_HOSTS = ["*"]`` this middleware is the host check.
    When an operator lists hosts, a host must match the list (which should cover the platform domain
    and ``.<platform domain>``) or be a verified custom domain: those are added and removed while
    the app runs, so they are admitted here, per request, rather than from a list read at start-up.
    """

    def process_request(self, request):
        connection.set_schema_to_public()
        hostname, _port = split_domain_port(request._get_raw_host())
        if not hostname:
            return HttpResponseNotFound()
        domain = served_domain(hostname)
        listed = validate_host(hostname, _allowed_hosts())
        if domain is None:
            # An unknown host outside ALLOWED_HOSTS gets a bare 404, as django-tenants answers it.
            return self.no_tenant_found(request, hostname) if listed else HttpResponseNotFound()
        if not listed:
            if domain.kind != Domain.Kind.CUSTOM:
                return HttpResponseNotFound()
            # Django's own checks (CSRF origin, absolute URLs) call get_host(), which validates against
            # the static list: for this verified custom domain it answers the host as sent.
            request.get_host = request._get_raw_host
        tenant = self._tenant_of(domain)
        tenant.domain_url = hostname
        request.tenant = tenant
        connection.set_tenant(request.tenant)
        self.setup_url_routing(request)

    def get_tenant(self, domain_model, hostname):
        """The tenant served at ``hostname``; ``DoesNotExist`` unless a domain routes it."""
        domain = served_domain(hostname)
        if domain is None:
            raise domain_model.DoesNotExist(f"No site is served at {hostname}.")
        return self._tenant_of(domain)

    @staticmethod
    def _tenant_of(domain):
        tenant = domain.tenant
        if domain.is_primary:
            tenant.__dict__["primary_domain"] = domain.domain  # saves a query for links to the site
        return tenant


class TenantStatusMiddleware:
    """A suspended tenant's host shows a clear page and serves nothing else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if (
            tenant is not None
            and not tenant.is_public
            and not tenant.is_active
            and not request.path.startswith(SUSPENSION_EXEMPT_PREFIXES)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": "This site is suspended.", "code": "tenant_suspended"}, status=403
                )
            return render(request, "core/suspended.html", {"tenant": tenant}, status=403)
        return self.get_response(request)


class CommonMiddleware(DjangoCommonMiddleware):
    """Django's, except that only GET and HEAD are redirected to the address with a slash: a
    tenant's site pages catch every path ending in ``/``, so a mistyped POST (a webhook sent to a
    tenant host, say) must get its 404, not a redirect it cannot follow."""

    def should_redirect_with_slash(self, request) -> bool:
        return request.method in ("GET", "HEAD") and super().should_redirect_with_slash(request)
