"""Payouts API for scripts (the owner's token, on the tenant host)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from accounts.models import User
from billing.onboarding import OnboardingState, onboarding_state
from billing.payouts import balance, balance_currencies, payout_history, withdraw
from billing.views import owner_onboarding_link
from core.exceptions import InvalidInput, PermissionDenied

router = Router(tags=["payouts"])


def _owner(request: HttpRequest) -> User:
    user = request.auth
    if not user.is_owner:
        raise PermissionDenied("Only the owner manages payouts.")
    return user


def _onboarding_out(state: OnboardingState) -> dict:
    return {"account_id": state.account_id, "onboarding_url": state.onboarding_url,
            "charges_enabled": state.charges_enabled, "payouts_enabled": state.payouts_enabled,
            "missing": state.missing}


def _money(money) -> dict:
    return {"amount": money.amount, "currency": money.currency}


def payout_out(payout) -> dict:
    return {"id": payout.stripe_payout_id, "amount": payout.amount, "currency": payout.currency,
            "status": payout.status,
            "arrival_date": payout.arrival_date.date().isoformat() if payout.arrival_date else None}


@router.post("/payouts/onboarding")
def onboarding_start(request: HttpRequest):
    owner = _owner(request)
    return _onboarding_out(owner_onboarding_link(request, owner))


@router.get("/payouts/onboarding")
def onboarding_get(request: HttpRequest):
    _owner(request)
    return _onboarding_out(onboarding_state())


def _currency(value: str | None) -> str | None:
    if value is None:
        return None
    if value.upper() not in balance_currencies():
        raise InvalidInput(f"No payments in “{value}”: use one of {', '.join(balance_currencies())}.")
    return value.upper()


@router.get("/payouts")
def payouts_get(request: HttpRequest, currency: str | None = None):
    """The balance in the tenant's payout currency (``?currency=`` for another one clients paid in)."""
    _owner(request)
    current = balance(currency=_currency(currency))
    return {"currency": current.currency, "available": _money(current.available),
            "pending": _money(current.pending), "payouts": [payout_out(p) for p in payout_history()]}


@router.post("/payouts", response={201: dict})
def payouts_withdraw(request: HttpRequest, currency: str | None = None):
    owner = _owner(request)
    payout = withdraw(requested_by=owner, currency=_currency(currency))
    return Status(201, payout_out(payout))
