"""Small request helpers shared by views and API endpoints."""

from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address. Behind a proxy the ASGI server sets it from X-Forwarded-For
    (uvicorn ``--proxy-headers``), so REMOTE_ADDR is the client's here too."""
    return request.META.get("REMOTE_ADDR", "unknown")
