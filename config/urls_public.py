"""URLs of the platform host (the public schema)."""

from django.conf import settings
from django.urls import include, path

from billing.webhooks import stripe_webhook
from calendars import views as calendar_views
from core import devmail
from core.views import healthz
from sandbox.calendars_page import calendars_page
from tenants import views
from tenants.views_domains import tls_allowed

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("healthz", healthz, name="healthz"),
    path("webhooks/stripe", stripe_webhook, name="stripe_webhook"),
    # Calendar providers: one OAuth redirect URI per provider app, and their push notifications.
    path("oauth/callback/<str:provider>", calendar_views.oauth_callback, name="calendar_oauth_callback"),
    path("webhooks/google-calendar", calendar_views.google_push, name="google_calendar_push"),
    path("webhooks/microsoft-calendar", calendar_views.microsoft_push, name="microsoft_calendar_push"),
    path("console/", include("tenants.urls_console")),
    # On-demand TLS: the proxy asks before it requests a certificate for a host (platform/Caddyfile).
    path("internal/tls-allowed", tls_allowed, name="tls_allowed"),
    # The local outbox of `make dev` (DEBUG only; before the sandbox/ include below).
    path("sandbox/mail/", devmail.mail_list, name="sandbox_mail"),
    path("sandbox/mail.json", devmail.mail_json, name="sandbox_mail_json"),
    path("sandbox/mail/<str:message_id>/", devmail.mail_detail, name="sandbox_mail_detail"),
    path("sandbox/mail/<str:message_id>/attachments/<int:index>", devmail.mail_attachment,
         name="sandbox_mail_attachment"),
    path("dev/mail/", devmail.old_list, name="dev_mail"),
    path("dev/mail/<str:name>/", devmail.old_detail, name="dev_mail_detail"),
]

if settings.ZOOM_EMULATED:
    urlpatterns.append(path("sandbox/zoom/", include("sandbox.zoom_urls")))
if settings.DNS_EMULATED:
    urlpatterns.append(path("sandbox/dns/", include("sandbox.dns_urls")))
if settings.GOOGLE_EMULATED or settings.MICROSOFT_EMULATED:
    urlpatterns.append(path("sandbox/calendars/", calendars_page, name="sandbox_calendars"))
if settings.GOOGLE_EMULATED:
    urlpatterns.append(path("sandbox/google/", include("sandbox.google.urls")))
if settings.MICROSOFT_EMULATED:
    urlpatterns.append(path("sandbox/microsoft/", include("sandbox.microsoft.urls")))
if settings.STRIPE_EMULATED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
