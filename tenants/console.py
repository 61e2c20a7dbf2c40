"""The platform staff console, on the platform host only. Staff are users of
the public schema with ``is_staff``; every action goes through a service that
writes the audit log."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import NotFound
from tenants.forms import ConsoleTenantForm, PlanForm, SuspendForm
from tenants.models import Tenant
from tenants.selectors import staff_action_list, tenant_get, tenant_list
from tenants.services import tenant_change_plan, tenant_provision, tenant_reactivate, tenant_suspend


def staff_required(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("console:login"))
        if not (request.user.is_staff and request.user.is_active):
            return render(request, "console/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


class ConsoleLoginView(auth_views.LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = False
    next_page = reverse_lazy("console:tenants")


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("console:login")


def _tenant_or_404(tenant_id: int) -> Tenant:
    try:
        return tenant_get(tenant_id=tenant_id)
    except NotFound:
        raise Http404("No such tenant.") from None


@staff_required
def tenants(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    status = request.GET.get("status", "")
    if status not in ("", *Tenant.Status.values):
        status = ""
    page = Paginator(tenant_list(query=query, status=status), 50).get_page(request.GET.get("page"))
    return render(request, "console/tenants.html", {
        "page": page, "query": query, "status": status, "statuses": Tenant.Status.choices,
    })


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_create(request: HttpRequest) -> HttpResponse:
    form = ConsoleTenantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = tenant_provision(**form.cleaned_data, actor=request.user, source="console")
        except ValidationError as exc:
            form.apply_errors(exc)
        else:
            messages.success(request, f"Created {result.tenant.name} at {result.url}.")
            return redirect("console:tenant", tenant_id=result.tenant.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "console/tenant_create.html", {"form": form}, status=status)


@staff_required
def tenant_detail(request: HttpRequest, tenant_id: int) -> HttpResponse:
    tenant = _tenant_or_404(tenant_id)
    return render(request, "console/tenant_detail.html", {
        "tenant": tenant,
        "domains": tenant.domains.order_by("-is_primary", "domain"),
        "actions": staff_action_list(tenant=tenant)[:50],
        "suspend_form": SuspendForm(),
        "plan_form": PlanForm(initial={"plan": tenant.plan_id}),
    })


def _apply(request: HttpRequest, tenant: Tenant, action, success: str, form=None) -> HttpResponse:
    if form is not None and not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("console:tenant", tenant_id=tenant.pk)
    try:
        action()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return redirect("console:tenant", tenant_id=tenant.pk)


@staff_required
@require_POST
def tenant_suspend_view(request: HttpRequest, tenant_id: int) -> HttpResponse:
    tenant = _tenant_or_404(tenant_id)
    form = SuspendForm(request.POST)
    return _apply(
        request, tenant,
        lambda: tenant_suspend(tenant=tenant, actor=request.user, reason=form.cleaned_data["reason"]),
        f"{tenant.name} is suspended.", form,
    )


@staff_required
@require_POST
def tenant_reactivate_view(request: HttpRequest, tenant_id: int) -> HttpResponse:
    tenant = _tenant_or_404(tenant_id)
    return _apply(
        request, tenant, lambda: tenant_reactivate(tenant=tenant, actor=request.user),
        f"{tenant.name} is active again.",
    )


@staff_required
@require_POST
def tenant_plan_view(request: HttpRequest, tenant_id: int) -> HttpResponse:
    tenant = _tenant_or_404(tenant_id)
    form = PlanForm(request.POST)
    return _apply(
        request, tenant,
        lambda: tenant_change_plan(tenant=tenant, plan=form.cleaned_data["plan"], actor=request.user),
        f"{tenant.name} plan changed.", form,
    )


@staff_required
def audit_log(request: HttpRequest) -> HttpResponse:
    page = Paginator(staff_action_list(), 100).get_page(request.GET.get("page"))
    return render(request, "console/audit.html", {"page": page})
