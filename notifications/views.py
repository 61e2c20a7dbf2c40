"""The owner's notifications page: reminder rules and the message log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.access import owner_required
from notifications.models import OutboxMessage
from notifications.reminders import notification_settings

MAX_REMINDERS = 5
MAX_HOURS_BEFORE = 14 * 24


class ReminderSettingsForm(forms.Form):
    hours_before = forms.CharField(
        required=False, max_length=100, label="Reminders (hours before each call)",
        help_text="Comma-separated, e.g. “24, 1”; fractions allowed (“0.25” is 15 minutes). Empty: no reminders.")

    def clean_hours_before(self) -> list[int]:
        raw = [part.strip() for part in self.cleaned_data["hours_before"].split(",") if part.strip()]
        minutes: list[int] = []
        for part in raw:
            try:
                value = float(part)
            except ValueError:
                raise forms.ValidationError(f"“{part}” is not a number of hours.") from None
            if not 0 < value <= MAX_HOURS_BEFORE:
                raise forms.ValidationError(f"“{part}”: give between 0 and {MAX_HOURS_BEFORE} hours.")
            minute = round(value * 60)
            if minute < 5:
                raise forms.ValidationError(f"“{part}”: a reminder needs at least 5 minutes' notice.")
            if minute in minutes:
                raise forms.ValidationError(f"“{part}” is given twice.")
            minutes.append(minute)
        if len(minutes) > MAX_REMINDERS:
            raise forms.ValidationError(f"At most {MAX_REMINDERS} reminders.")
        return sorted(minutes, reverse=True)


def _hours(minutes: int) -> str:
    return f"{minutes / 60:g}"


@owner_required
@require_http_methods(["GET", "POST"])
def notifications_page(request: HttpRequest) -> HttpResponse:
    current = notification_settings()
    form = ReminderSettingsForm(request.POST or None, initial={
        "hours_before": ", ".join(_hours(m) for m in current.reminder_offsets_minutes)})
    if request.method == "POST" and form.is_valid():
        current.reminder_offsets_minutes = form.cleaned_data["hours_before"]
        current.save(update_fields=["reminder_offsets_minutes"])
        messages.success(request, "Reminder rules saved; they apply to calls booked from now on.")
        return redirect(request.path)
    status = request.GET.get("status", "")
    log = OutboxMessage.objects.defer("text", "html", "attachments")
    if status in OutboxMessage.Status.values:
        log = log.filter(status=status)
    page = Paginator(log, 50).get_page(request.GET.get("page"))
    return render(request, "notifications/messages.html", {
        "form": form, "page": page, "status": status, "statuses": OutboxMessage.Status.choices,
        "failed": OutboxMessage.objects.filter(status=OutboxMessage.Status.FAILED).count(),
    }, status=400 if request.method == "POST" else 200)
