from django.urls import path

from tenants import console

app_name = "console"

urlpatterns = [
    path("", console.tenants, name="tenants"),
    path("login/", console.ConsoleLoginView.as_view(), name="login"),
    path("logout/", console.ConsoleLogoutView.as_view(), name="logout"),
    path("tenants/new/", console.tenant_create, name="tenant_create"),
    path("tenants/<int:tenant_id>/", console.tenant_detail, name="tenant"),
    path("tenants/<int:tenant_id>/suspend/", console.tenant_suspend_view, name="tenant_suspend"),
    path("tenants/<int:tenant_id>/reactivate/", console.tenant_reactivate_view, name="tenant_reactivate"),
    path("tenants/<int:tenant_id>/plan/", console.tenant_plan_view, name="tenant_plan"),
    path("audit/", console.audit_log, name="audit"),
]
