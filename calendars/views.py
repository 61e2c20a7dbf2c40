"""Calendar pages: the consultant's calendars page on the tenant host (``/calendars/``), and on the
platform host the OAuth callback and the providers' push notifications."""

from __future__ import annotations

import json
import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.access import consultant_required
from calendars.services import calendar_update, calendars_of, connection_disconnect, connections_of
from core.exceptions import ApplicationError

logger = logging.getLogger(__name__)


class IcsForm(forms.Form):
    url = forms.CharField(
        max_length=2000, label="ICS address",
        help_text="Apple Calendar: Share Calendar → Public Calendar, then copy the link (webcal://…). "
                  "Any calendar that offers an .ics address works.",
        widget=forms.TextInput(attrs={"placeholder": "webcal://…/calendar.ics", "autocomplete": "off",
                                      "spellcheck": "false", "inputmode": "url"}))


def _page(request: HttpRequest, *, ics_form: IcsForm | None = None, status: int = 200) -> HttpResponse:
    from calendars.feed import feed_url

    consultant = request.user
    connections = list(connections_of(consultant))
    calendars = list(calendars_of(consultant))
    for conn in connections:
        conn.calendar_list = [cal for cal in calendars if cal.connection_id == conn.pk]
    return render(request, "calendars/calendars.html", {
        "connections": connections, "ics_form": ics_form or IcsForm(), "feed_url": feed_url(consultant),
        "denied": request.GET.get("error") == "access_denied",
        "ics_poll_minutes": max(settings.CALENDAR_ICS_POLL_SECONDS // 60, 1),
    }, status=status)


@consultant_required
@require_http_methods(["GET", "POST"])
def calendars_page(request: HttpRequest) -> HttpResponse:
    """Connected accounts with their calendars, the ICS addresses, and the private feed."""
    if request.method == "POST":
        form = IcsForm(request.POST)
        if form.is_valid():
            from calendars.ics import ics_connection_add

            try:
                ics_connection_add(consultant=request.user, url=form.cleaned_data["url"])
            except ApplicationError as exc:
                form.add_error("url", exc.message)
            else:
                messages.success(request, "Calendar added: its busy times now block your booking page.")
                return redirect("calendars:list")
        return _page(request, ics_form=form, status=400)
    return _page(request)


@consultant_required
@require_POST
def connect_view(request: HttpRequest, provider: str) -> HttpResponse:
    from calendars.connect import connect_start

    try:
        return redirect(connect_start(consultant=request.user, provider=provider))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("calendars:list")


def _bool(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


@consultant_required
@require_POST
def calendar_change_view(request: HttpRequest, calendar_id: int) -> HttpResponse:
    try:
        calendar = calendar_update(consultant=request.user, calendar_id=calendar_id,
                                   readable=_bool(request.POST.get("readable")),
                                   writable=_bool(request.POST.get("writable")))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if _bool(request.POST.get("writable")):
            messages.success(request, f"New calls are now written into “{calendar.name}”.")
        else:
            messages.success(request, f"“{calendar.name}” updated.")
    return redirect("calendars:list")


@consultant_required
@require_POST
def disconnect_view(request: HttpRequest, connection_id: int) -> HttpResponse:
    try:
        connection_disconnect(consultant=request.user, connection_id=connection_id)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Disconnected: its busy times no longer block your booking page.")
    return redirect("calendars:list")


@consultant_required
@require_POST
def feed_regenerate_view(request: HttpRequest) -> HttpResponse:
    from calendars.feed import feed_regenerate

    feed_regenerate(request.user)
    messages.success(request, "New feed address made; the old one no longer works. "
                              "Subscribe to the new one in your calendar app.")
    return redirect("calendars:list")


# --- Platform host ---------------------------------------------------------------------------------


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "calendars/oauth_error.html", {"message": message}, status=400)


@never_cache
@require_safe
def oauth_callback(request: HttpRequest, provider: str) -> HttpResponse:
    """Where Google and Microsoft send the consultant back (one redirect URI per provider app).

    The signed ``state`` alone says which tenant, consultant and attempt this is; the consultant
    is then sent to the calendars page on their tenant's host."""
    from django_tenants.utils import tenant_context

    from calendars.connect import StateInvalid, connect_finish, state_read
    from calendars.providers.base import ProviderError
    from calendars.services import connection_reconnect_due
    from tenants.models import Tenant

    if provider not in ("google", "microsoft"):
        return _refused(request, "Unknown calendar provider.")
    try:
        data = state_read(state=request.GET.get("state", ""), provider=provider)
    except StateInvalid as exc:
        return _refused(request, exc.message)
    tenant = Tenant.objects.filter(schema_name=data["t"]).first()
    if tenant is None or not tenant.is_active:
        return _refused(request, "This site is not available any more.")
    back = f"{tenant.url}/calendars/"
    if request.GET.get("error"):
        # The consultant said no (or the provider refused): nothing to connect.
        return redirect(f"{back}?error={'access_denied' if request.GET['error'] == 'access_denied' else 'failed'}")
    code = request.GET.get("code", "")
    if not code:
        return _refused(request, "The provider sent no authorization code. Start connecting again.")
    with tenant_context(tenant):
        try:
            conn = connect_finish(data=data, code=code)
        except StateInvalid as exc:
            return _refused(request, exc.message)
        except ProviderError as exc:
            logger.warning("Connecting a %s calendar failed: %s", provider, exc.message)
            return _refused(request, f"The calendar could not be connected: {exc.message} Start connecting again.")
        except Exception:  # an answer we did not expect: a clear page, not a server error
            logger.exception("Connecting a %s calendar failed unexpectedly", provider)
            return _refused(request, "The calendar could not be connected (the provider's answer was not "
                                     "what we expected). Start connecting again in a few minutes.")
        connection_reconnect_due(conn)
    return redirect(f"{back}?connected={conn.pk}")


@csrf_exempt
@require_POST
def google_push(request: HttpRequest) -> HttpResponse:
    """A Google watch channel's notification: headers only, no body."""
    from calendars.push import notification_accept

    state = request.headers.get("X-Goog-Resource-State", "")
    outcome = notification_accept(
        provider="google", channel_id=request.headers.get("X-Goog-Channel-ID", ""),
        secret=request.headers.get("X-Goog-Channel-Token", ""),
        resource_id=request.headers.get("X-Goog-Resource-ID", ""), sync=state != "sync")
    return HttpResponse(status={"accepted": 200, "unknown": 404, "forbidden": 403}[outcome])


@csrf_exempt
@require_POST
def microsoft_push(request: HttpRequest) -> HttpResponse:
    """Graph's change notifications, and its validation handshake when a subscription is made."""
    from calendars.push import notification_accept

    token = request.GET.get("validationToken")
    if token is not None:
        return HttpResponse(token, content_type="text/plain; charset=utf-8")
    try:
        items = json.loads(request.body or b"{}").get("value", [])
    except (ValueError, AttributeError, UnicodeDecodeError):
        return JsonResponse({"detail": "The body must be a JSON object with “value”."}, status=400)
    if not isinstance(items, list) or not items:
        return JsonResponse({"detail": "No notifications in “value”."}, status=400)
    outcomes = []
    for item in items[:100]:
        if not isinstance(item, dict):
            continue
        outcomes.append(notification_accept(provider="microsoft", channel_id=str(item.get("subscriptionId", "")),
                                            secret=str(item.get("clientState", ""))))
    if "accepted" in outcomes:
        return HttpResponse(status=202)
    return HttpResponse(status=403 if "forbidden" in outcomes else 404)



def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The consultant's private ICS feed (the secret address is the credential)."""
    from calendars.feed import feed_view

    return feed_view(request, token)
