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
