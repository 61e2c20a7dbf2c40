"""Per-tenant robots.txt (the sitemap is Wagtail's, per tenant through its Site), and the owner
granting site editing to team members."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from accounts.access import access_member, owner_required
from cms.access import site_editor_set
from core.exceptions import ApplicationError
from core.urls import request_absolute_url


@owner_required
@require_POST
def site_editor_view(request: HttpRequest, user_id: int) -> HttpResponse:
    member = access_member(actor=request.user, member_id=user_id)
    allowed = request.POST.get("allowed") == "1"
    try:
        site_editor_set(member=member, allowed=allowed)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member.full_name} can now edit the site at /cms/." if allowed
                         else f"{member.full_name} can no longer edit the site.")
    return redirect("accounts:team")


@cache_control(max_age=3600, public=True)
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /cms/",
        "Disallow: /api/",
        "Disallow: /bookings/",
        "Disallow: /calls/",
        "Disallow: /dashboard/",
        "Allow: /",
        f"Sitemap: {request_absolute_url(request, '/sitemap.xml')}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
