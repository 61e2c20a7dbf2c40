"""URLs of a tenant host (that tenant's schema)."""

from django.urls import include, path, re_path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from cms.views import robots_txt
from consultants.views import media
from core.api import api
from core.views import healthz

# Pages answering Http404, in the tenant's schema and theme (see core.views.page_not_found).
handler404 = "core.views.page_not_found"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("robots.txt", robots_txt, name="robots_txt"),
    path("sitemap.xml", sitemap, name="sitemap"),
    # The tenant's own site editor (Wagtail), for the owner and people they let edit.
    # Signing in, and resetting a password, go through the tenant's own pages only.
    path("cms/login/", RedirectView.as_view(url="/login/?next=/cms/", query_string=False)),
    re_path(r"^cms/password_reset/", RedirectView.as_view(url="/password-reset/")),
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("api/", api.urls),
    path("media/<path:path>", media, name="media"),
    path("", include("accounts.urls")),
    path("", include("cms.urls")),
    path("", include("consultants.urls")),
    path("", include("billing.urls")),
    path("", include("notifications.urls")),
    path("", include("video.urls")),
    path("", include("themes.urls")),
    path("", include("tenants.urls_domains")),
    path("", include("calendars.urls")),
    path("", include("booking.urls")),
    path("", include("booking.urls_workspace")),
    # Last: every other path is a page of the tenant's site (the home page at /).
    path("", include(wagtail_urls)),
]
