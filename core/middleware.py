from django.http import JsonResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

# Paths that still answer on a suspended tenant's host.
SUSPENSION_EXEMPT_PREFIXES = ("/healthz", "/static/")


class TenantMiddleware(TenantMainMiddleware):
    """Selects the schema from the host; unknown hosts get the not-found view."""

    def get_tenant(self, domain_model, hostname):
        domain = domain_model.objects.select_related("tenant", "tenant__plan").get(domain=hostname.lower())
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
