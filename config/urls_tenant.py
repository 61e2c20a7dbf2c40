"""URLs of a tenant host (that tenant's schema)."""

from django.urls import include, path

from accounts.views import site_home
from consultants.views import media
from core.api import api
from core.views import healthz

urlpatterns = [
    path("", site_home, name="site_home"),
    path("healthz", healthz, name="healthz"),
    path("api/", api.urls),
    path("media/<path:path>", media, name="media"),
    path("", include("accounts.urls")),
    path("", include("consultants.urls")),
    path("", include("billing.urls")),
    path("", include("notifications.urls")),
    path("", include("video.urls")),
    path("", include("booking.urls")),
    path("", include("booking.urls_workspace")),
]
