"""Pages: the client's way through checkout (pay, return, leave) and the owner's
payouts page. Thin: the work is in payments, onboarding and payouts."""

from __future__ import annotations

from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import owner_required
from billing.models import Payment
from billing.onboarding import (
    OnboardingState,
    PaymentsUnavailable,
    account_refresh,
    onboarding_link,
    onboarding_state,
)
from billing.payments import checkout_abandon, checkout_return, checkout_start, checkout_start_or_release
from billing.payouts import balance, balance_currencies, earnings, monthly_income, payout_history, withdraw
from billing.refunds import billing_settings
from booking.services import access_booking
from core.exceptions import ApplicationError, NotFound
from core.money import Money
from core.urls import request_absolute_url


def checkout_urls(request: HttpRequest, *, booking_id: str, token: str) -> tuple[str, str]:
    """Where Stripe sends the client back: to confirmation, or to give the slot back."""
    token = quote(token)
    success = request_absolute_url(
        request, f"/bookings/{booking_id}/paid/?token={token}&session_id={{CHECKOUT_SESSION_ID}}")
    cancel = request_absolute_url(request, f"/bookings/{booking_id}/checkout-canceled/?token={token}")
    return success, cancel


def checkout_for_new_booking(request: HttpRequest, *, participant, token: str) -> Payment:
    """Checkout for a booking just made; if it cannot start, the slot is given back (503)."""
    success, cancel = checkout_urls(request, booking_id=str(participant.public_id), token=token)
    return checkout_start_or_release(participant=participant, success_url=success, cancel_url=cancel)


class _LinkInvalid(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def _booking(request: HttpRequest, booking_id: str):
    token = request.GET.get("token") or request.POST.get("token") or ""
    try:
        return access_booking(booking_id=booking_id, token=token), token
    except NotFound:
        raise Http404 from None
    except ApplicationError as exc:
        raise _LinkInvalid(exc.message) from None


def _with_booking(view):
    """The booking named in the URL, authorised by its manage token; the same 403 page as the manage page."""
    from functools import wraps

    @wraps(view)
    def wrapped(request: HttpRequest, booking_id: str) -> HttpResponse:
        try:
            return view(request, booking_id)
        except _LinkInvalid as exc:
            return render(request, "booking/manage_invalid.html", {"message": exc.message}, status=403)

    return wrapped


def _manage(booking_id: str, token: str):
    return redirect(f"/bookings/{booking_id}/?token={quote(token)}")


@require_POST
@_with_booking
def pay(request: HttpRequest, booking_id: str) -> HttpResponse:
    """(Re)open checkout for a booking waiting for payment; a double click gets the same session."""
    participant, token = _booking(request, booking_id)
    success, cancel = checkout_urls(request, booking_id=booking_id, token=token)
    try:
        payment = checkout_start(participant=participant, success_url=success, cancel_url=cancel)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _manage(booking_id, token)
    return redirect(payment.checkout_url)


@never_cache
@require_GET
@_with_booking
def paid(request: HttpRequest, booking_id: str) -> HttpResponse:
    """Back from checkout: confirm now if Stripe says it is paid, without waiting for the webhook."""
    participant, token = _booking(request, booking_id)
    payment = Payment.objects.filter(participant=participant).first()
    if payment is not None:
        payment = checkout_return(payment=payment)
    if payment is not None and payment.status == Payment.Status.PAID:
        messages.success(request, "Payment received — your call is confirmed. A confirmation is on its way "
                                  "by email.")
    else:
        messages.info(request, "We are waiting for the payment to be confirmed; this page will show it.")
    return _manage(booking_id, token)


@never_cache
@require_GET
@_with_booking
def checkout_canceled(request: HttpRequest, booking_id: str) -> HttpResponse:
    """The client left checkout: the time is given back at once."""
    participant, token = _booking(request, booking_id)
    payment = Payment.objects.filter(participant=participant).first()
    if payment is not None:
        payment = checkout_abandon(payment=payment)
    if payment is not None and payment.status == Payment.Status.PAID:
        messages.success(request, "Your payment went through — your call is confirmed.")
        return _manage(booking_id, token)
    if payment is not None and payment.status == Payment.Status.EXPIRED:
        messages.info(request, "Payment canceled: nothing was charged and the time is free again. "
                               "You can choose a time and book again.")
        return redirect(f"/book/{participant.call.offering.public_id}/")
    messages.info(request, "Payment not completed. You can still pay until your time is released.")
    return _manage(booking_id, token)


def owner_onboarding_link(request: HttpRequest, owner) -> OnboardingState:
    """A fresh Stripe onboarding link that returns to this tenant's payouts page."""
    return onboarding_link(owner_email=owner.email,
                           return_url=request_absolute_url(request, "/payouts/?onboarding=done"),
                           refresh_url=request_absolute_url(request, "/payouts/onboarding/"))


class BillingSettingsForm(forms.Form):
    freeze_days = forms.IntegerField(min_value=0, max_value=90, label="Days before a call's money can be withdrawn")
    late_cancel_refund_percent = forms.IntegerField(
        min_value=0, max_value=100, label="Refund when a client cancels after the cut-off (%)",
        help_text="0 means no refund after the cut-off; 100 a full refund.")


@owner_required
@require_http_methods(["GET", "POST"])
def payouts_page(request: HttpRequest) -> HttpResponse:
    current = billing_settings()
    form = BillingSettingsForm(initial={"freeze_days": current.freeze_days,
                                        "late_cancel_refund_percent": current.late_cancel_refund_percent})
    action = request.POST.get("action")
    try:
        if action == "connect":
            return redirect(owner_onboarding_link(request, request.user).onboarding_url)
        if action == "withdraw":
            currency = request.POST.get("currency")
            payout = withdraw(requested_by=request.user,
                              currency=currency if currency in balance_currencies() else None)
            messages.success(request, "Withdrawal requested; it should reach your bank by "
                                      f"{payout.arrival_date:%d %B %Y}." if payout.arrival_date else
                                      "Withdrawal requested.")
            return redirect(request.path)
        if action == "settings":
            form = BillingSettingsForm(request.POST)
            if form.is_valid():
                current.freeze_days = form.cleaned_data["freeze_days"]
                current.late_cancel_refund_percent = form.cleaned_data["late_cancel_refund_percent"]
                current.save()
                messages.success(request, "Payment rules saved.")
                return redirect(request.path)
    except (ApplicationError, PaymentsUnavailable) as exc:
        messages.error(request, exc.message)
        return redirect(request.path)
    if request.GET.get("onboarding") == "done":
        account_refresh()
    state = onboarding_state()
    balances = [balance(currency=code) for code in balance_currencies()]
    current_balance = balances[0]
    chart = monthly_income(currency=current_balance.currency)
    peak = max([amount for _, amount in chart] + [1])
    context = {
        "state": state, "balance": current_balance, "other_balances": balances[1:], "form": form,
        "payouts": payout_history(),
        "chart": [{"month": month, "money": Money(amount, current_balance.currency),
                   "percent": round(100 * max(amount, 0) / peak)} for month, amount in chart],
        "earnings": earnings()[:20],
    }
    return render(request, "billing/payouts.html", context,
                  status=400 if request.method == "POST" and form.errors else 200)


@owner_required
@require_GET
def onboarding_refresh(request: HttpRequest) -> HttpResponse:
    """Stripe's refresh URL: the link expired or was used; hand out a fresh one."""
    try:
        state = owner_onboarding_link(request, request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("/payouts/")
    return redirect(state.onboarding_url)
