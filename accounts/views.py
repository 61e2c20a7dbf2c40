from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache

from accounts.services import HandoffInvalid, login_handoff_redeem


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("accounts:login")


@never_cache
def handoff(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = login_handoff_redeem(token=token)
    except HandoffInvalid as exc:
        return render(request, "accounts/handoff_invalid.html", {"message": exc.message}, status=400)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("accounts:dashboard")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/dashboard.html", {"tenant": request.tenant})


def site_home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/site_home.html", {"tenant": request.tenant})
