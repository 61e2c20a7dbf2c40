"""``/sandbox/calendars/`` (platform host, ``make dev``): the emulated Google and Microsoft
calendars at a glance. A newcomer adds or removes busy events as the account's owner would, and
watches the booking page's slots change once the push notification has been handled."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from sandbox.models import CalendarAccount


@require_safe
def calendars_page(request: HttpRequest) -> HttpResponse:
    if not settings.CALENDAR_SANDBOX:
        raise Http404
    accounts = CalendarAccount.objects.order_by("provider", "email").values("provider", "email")
    return render(request, "sandbox/calendars.html", {
        "accounts": list(accounts),
        "providers": [name for name, on in (("google", settings.GOOGLE_EMULATED),
                                            ("microsoft", settings.MICROSOFT_EMULATED)) if on],
    })
