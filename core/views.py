from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.health import health_report
from tenants.selectors import platform_url


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    report, healthy = health_report()
    return JsonResponse(report, status=200 if healthy else 503)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 page of a tenant host (``templates/404.html``, in the site's theme). Under ASGI Django
    renders error pages on a thread of its own, whose connection is on the public schema: it is
    put back on the tenant's schema first, or the theme (and the page) could not be read."""
    from django.db import connection
    from django.views import defaults

    tenant = getattr(request, "tenant", None)
    switched = tenant is not None and connection.schema_name != tenant.schema_name
    if switched:
        connection.set_tenant(tenant)
    try:
        return defaults.page_not_found(request, exception)
    finally:
        if switched:  # leave that thread's connection as it was found
            connection.set_schema_to_public()


def unknown_host(request: HttpRequest) -> HttpResponse:
    """Any path on a host that is neither the platform nor a tenant: 404, never another tenant."""
    host = request.get_host().split(":")[0]
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": f"No Consultio site is served at {host}.", "code": "unknown_host"}, status=404
        )
    return render(
        request, "core/unknown_host.html", {"host": host, "platform_url": platform_url()}, status=404
    )
