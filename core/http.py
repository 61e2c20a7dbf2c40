"""Small request helpers shared by views and API endpoints."""

from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address. Behind a proxy the ASGI server sets it from X-Forwarded-For
    (uvicorn ``--proxy-headers``), so REMOTE_ADDR is the client's here too."""
    return request.META.get("REMOTE_ADDR", "unknown")


def upload_response(request: HttpRequest, *, redirect_to: str, message: str,
                    errors: dict[str, list[str]] | None = None):
    """Answer an upload posted by the progress-bar script (JSON, see static/js/upload.js) or by a
    plain form (a redirect back with a message). ``errors`` empty means success."""
    from django.contrib import messages
    from django.http import JsonResponse
    from django.shortcuts import redirect

    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        if not errors:
            # The script goes to ``redirect_to`` next: that page says what happened, as without it.
            messages.success(request, message)
            return JsonResponse({"ok": True, "redirect": redirect_to, "message": message})
        return JsonResponse({"ok": False, "errors": errors}, status=400)
    if not errors:
        messages.success(request, message)
    for field_errors in (errors or {}).values():
        for error in field_errors:
            messages.error(request, error)
    return redirect(redirect_to)
