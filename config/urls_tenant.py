"""URLs of a tenant host (that tenant's schema)."""

from django.urls import include, path

from accounts.views import site_home
from core.views import healthz

urlpatterns = [
    path("", site_home, name="site_home"),
    path("healthz", healthz, name="healthz"),
    path("", include("accounts.urls")),
]
