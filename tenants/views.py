from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.services.throttle import request_allowed
from core.http import client_address
from tenants.forms import SignupForm
from tenants.services import tenant_provision


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/home.html")


SIGNUPS_PER_ADDRESS = 10  # per 15 minutes


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and not request_allowed(
            scope="signup", address=client_address(request), limit=SIGNUPS_PER_ADDRESS):
        return render(request, "tenants/signup_limited.html", status=429)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = tenant_provision(**form.cleaned_data, source="sign-up")
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            return HttpResponseRedirect(result.login_url)
    status = 400 if request.method == "POST" else 200
    return render(request, "tenants/signup.html", {"form": form}, status=status)
