"""URLs of the platform host (the public schema)."""

from django.urls import include, path

from core.views import healthz
from tenants import views

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("healthz", healthz, name="healthz"),
    path("console/", include("tenants.urls_console")),
]
