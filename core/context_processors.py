from django.conf import settings
from django.http import HttpRequest

from tenants.selectors import platform_url


def platform(request: HttpRequest) -> dict:
    tenant = getattr(request, "tenant", None)
    return {
        "platform_name": settings.PLATFORM_NAME,
        "platform_url": platform_url(),
        "current_tenant": tenant if tenant is not None and not tenant.is_public else None,
    }
