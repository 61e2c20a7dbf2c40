"""Consultio settings. Every value comes from the environment (see ``config/env.py``
and the README's configuration table)."""

from __future__ import annotations

import hashlib

import dj_database_url
from django.utils.functional import lazy

from config.env import (
    BASE_DIR,
    env_bool,
    env_int,
    env_list,
    env_str,
    secret_key,
    service_url,
)

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = secret_key()

# Host validation happens in the tenant middleware: a host that is neither the platform
# domain nor a tenant's domain (platform subdomain or verified custom domain) gets a 404.
# When ALLOWED_HOSTS is set, verified custom domains are admitted on top of it at run time
# (core/middleware.py).
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"])

PLATFORM_DOMAIN = env_str("PLATFORM_DOMAIN", "localhost").lower()
PLATFORM_NAME = env_str("PLATFORM_NAME", "Consultio")
# How links to the platform and tenant hosts are written (emails, redirects, CLI output).
PUBLIC_URL_SCHEME = env_str("PUBLIC_URL_SCHEME", "http")
PUBLIC_URL_PORT = env_str("PUBLIC_URL_PORT", env_str("PORT", "8000"))

# --- Apps --------------------------------------------------------------------

SHARED_APPS = [
    # ``tenants`` comes before ``django_tenants`` so that its ``migrate`` and
    # ``create_tenant`` commands take precedence over the library's.
    "tenants",
    "django_tenants",
    "core",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "channels",
    "sandbox",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "accounts",
    "consultants",
    "booking",
    "billing",
    "notifications",
    "video",
    "calendars",
    "themes",
    "cms",
    "wagtail.contrib.forms",
    "wagtail.contrib.sitemaps",
    "django.contrib.sitemaps",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
]

INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# New tenants are cloned from this schema, which ``migrate`` keeps migrated.
TENANT_TEMPLATE_SCHEMA = "tenant_template"
# Schemas cloned ahead of time, so a sign-up renames one instead of cloning (tenants/spares.py).
TENANT_SPARE_SCHEMAS = env_int("TENANT_SPARE_SCHEMAS", 2)
DEFAULT_NOT_FOUND_TENANT_VIEW = "core.views.unknown_host"
# Set the search_path once per schema switch instead of before every query.
TENANT_LIMIT_SET_CALLS = True

AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "core.middleware.TenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.TenantStatusMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.platform",
                "themes.context_processors.theme",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Database, cache, channels, Celery ---------------------------------------

DATABASE_URL = service_url("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/consultio"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        engine="django_tenants.postgresql_backend",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

REDIS_URL = service_url("REDIS_URL") or "redis://127.0.0.1:6379/0"
# Namespace of the app's own Redis keys (sign-in throttling); tests use their own.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "consultio")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        # Keys carry the schema name, so one tenant never reads another's entry.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "consultio:channels"},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {
    # Finds due work in the public schema's index and queues it per tenant.
    "due-work": {"task": "core.tasks.due_work_dispatch", "schedule": 60.0},
}

# --- Auth --------------------------------------------------------------------

PASSWORD_HASHERS = [
    # Argon2 first: as strong as PBKDF2 at Django's default cost, and fast enough
    # that sign-up (which hashes the owner's password) stays well under 2 s.
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
PASSWORD_RESET_TIMEOUT = 60 * 60  # password reset links live one hour
# "Remember me" keeps a session 30 days; without it the session ends with the browser.
SESSION_COOKIE_AGE = 30 * 24 * 60 * 60

# Signs API access tokens (JWT). Defaults to a key derived from the secret key.
API_TOKEN_SECRET = env_str("API_TOKEN_SECRET") or hashlib.sha256(f"api-token:{SECRET_KEY}".encode()).hexdigest()

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PUBLIC_URL_SCHEME == "https"
CSRF_COOKIE_SECURE = PUBLIC_URL_SCHEME == "https"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
# CSRF checks the Origin header against the host; tenant hosts are dynamic.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Email -------------------------------------------------------------------

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 1025)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"no-reply@{PLATFORM_DOMAIN}")
# Where the local SMTP server of `make dev` keeps messages; shown at /sandbox/mail/ (and as JSON at
# /sandbox/mail.json) on the platform host when DEBUG is on.
DEV_MAIL_DIR = BASE_DIR / ".local" / "mail"
# The local mail catcher's pages (/sandbox/mail/ on the platform host) answer only where this is on.
MAIL_SANDBOX = env_bool("MAIL_SANDBOX", DEBUG)

# --- I18n, static, media -----------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "/media/"
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / ".local" / "media"))
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"  # files of a tenant live in MEDIA_ROOT/<schema>/
STORAGES = {
    "default": {"BACKEND": "core.storage.TenantMediaStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploads are at most 10 MB each (checked per file); leave room for the form around them.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _tenant_site_name() -> str:
    """The site editor names the tenant it edits (e.g. "type the site's name to confirm" when
    deleting many pages), so the setting follows the schema of the request."""
    from django.db import connection

    return getattr(getattr(connection, "tenant", None), "name", "") or PLATFORM_NAME


WAGTAIL_SITE_NAME = lazy(_tenant_site_name, str)()
WAGTAILADMIN_BASE_URL = f"{PUBLIC_URL_SCHEME}://{PLATFORM_DOMAIN}"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
# The site editor (/cms/ on a tenant host) signs people in through the tenant's own sign-in page
# (throttled, with remember-me), never Wagtail's.
WAGTAILADMIN_LOGIN_URL = "/login/"
# Pages are edited by a tenant's staff; their images and documents live in the tenant's media folder.
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
WAGTAILDOCS_EXTENSIONS = ["pdf", "docx", "xlsx", "pptx", "txt", "csv", "odt"]
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAIL_ENABLE_UPDATE_CHECK = False  # no calls home from the admin
# Passwords and email addresses are the tenant's sign-in's business (throttled, tenant-branded
# emails), never the editor's; Wagtail's own login and reset pages are routed away (urls_tenant).
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_EMAIL_MANAGEMENT_ENABLED = False
# Wagtail's moderation and comment emails would link to the platform host, where there is no editor.
WAGTAIL_WORKFLOW_ENABLED = False
WAGTAILADMIN_COMMENTS_ENABLED = False
# No oEmbed requests from the server: video blocks build their player address from the link.
WAGTAILEMBEDS_FINDERS: list = []
# Editors' avatars would be fetched from Gravatar by their browsers: no third-party requests.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ALLOW_UNICODE_SLUGS = False

HEALTH_CHECK_TIMEOUT = 2.0

# --- Stripe ----------------------------------------------------------------------
# With no STRIPE_SECRET_KEY the local emulator (sandbox/) is mounted on the platform
# host and used instead; nothing else in the product changes.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_EMULATED = not STRIPE_SECRET_KEY
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "whsec_consultio_local_emulator")
_port_suffix = f":{PUBLIC_URL_PORT}" if PUBLIC_URL_PORT not in ("", "80", "443") else ""
# The emulator accepts any test key; with a real key requests go to Stripe itself.
STRIPE_API_KEY = STRIPE_SECRET_KEY or "sk_test_consultio_emulator"
STRIPE_API_BASE = env_str(
    "STRIPE_API_BASE",
    f"{PUBLIC_URL_SCHEME}://{PLATFORM_DOMAIN}{_port_suffix}/sandbox/stripe" if STRIPE_EMULATED
    else "https://api.stripe.com")
STRIPE_MAX_NETWORK_RETRIES = 2
STRIPE_WEBHOOK_URL = env_str(
    "STRIPE_WEBHOOK_URL",
    f"{PUBLIC_URL_SCHEME}://{PLATFORM_DOMAIN}{_port_suffix}/webhooks/stripe" if STRIPE_EMULATED else "")

# --- Custom domains -------------------------------------------------------------
# Owners prove control of a domain with a TXT record (tenants/domains.py) and point a CNAME at
# CUSTOM_DOMAIN_TARGET. With DNS_EMULATED (the default under DEBUG) lookups are answered from the
# emulated zone that ``POST /sandbox/dns/txt`` fills on the platform host; otherwise DNS is asked
# through DNS_NAMESERVERS (empty: the system's resolvers), each lookup giving up after
# DNS_TIMEOUT_SECONDS.
DNS_EMULATED = env_bool("DNS_EMULATED", DEBUG)
# The emulated zone's write endpoint answers only where this is on (make dev, tests).
DNS_SANDBOX = env_bool("DNS_SANDBOX", DEBUG)
DNS_NAMESERVERS = env_list("DNS_NAMESERVERS", [])
DNS_PORT = env_int("DNS_PORT", 53)
DNS_TIMEOUT_SECONDS = float(env_str("DNS_TIMEOUT_SECONDS", "5"))
CUSTOM_DOMAIN_TARGET = env_str("CUSTOM_DOMAIN_TARGET", PLATFORM_DOMAIN).strip().lower().rstrip(".")

# --- Video -----------------------------------------------------------------------
# "webrtc" (built in: browsers connect to each other, our WebSocket signals) or "zoom"
# (Zoom Video SDK); a tenant may choose another in its video settings.
VIDEO_PROVIDER = env_str("VIDEO_PROVIDER", "webrtc")
# A mesh sends everyone's video to everyone: past a handful of people it overwhelms uplinks.
VIDEO_MESH_MAX_PEOPLE = env_int("VIDEO_MESH_MAX_PEOPLE", 6)
VIDEO_STUN_URLS = env_list("VIDEO_STUN_URLS", [])
VIDEO_TURN_URLS = env_list("VIDEO_TURN_URLS", [])
VIDEO_TURN_USERNAME = env_str("VIDEO_TURN_USERNAME")
VIDEO_TURN_PASSWORD = env_str("VIDEO_TURN_PASSWORD")
# Zoom Video SDK (VIDEO_PROVIDER=zoom). With no SDK key the local emulator (sandbox/zoom/)
# stands in for Zoom's REST API; browsers can only join real sessions with real keys.
# Zoom issues two pairs: the SDK key/secret sign the browsers' JWTs, the API key/secret the
# REST API's bearer token; both are needed with real Zoom.
ZOOM_VIDEO_SDK_KEY = env_str("ZOOM_VIDEO_SDK_KEY")
ZOOM_VIDEO_SDK_SECRET = env_str("ZOOM_VIDEO_SDK_SECRET")
ZOOM_API_KEY = env_str("ZOOM_API_KEY")
ZOOM_API_SECRET = env_str("ZOOM_API_SECRET")
ZOOM_EMULATED = not ZOOM_VIDEO_SDK_KEY
# The emulator answers only where this is on (make dev, tests); elsewhere Zoom needs real keys.
ZOOM_SANDBOX = env_bool("ZOOM_SANDBOX", DEBUG)
ZOOM_API_BASE = env_str(
    "ZOOM_API_BASE",
    f"{PUBLIC_URL_SCHEME}://{PLATFORM_DOMAIN}{_port_suffix}/sandbox/zoom/v2" if ZOOM_EMULATED
    else "https://api.zoom.us/v2")
# How long the token a room page hands its WebSocket stays valid (it is renewed on reconnect).
VIDEO_ROOM_TOKEN_SECONDS = env_int("VIDEO_ROOM_TOKEN_SECONDS", 120)

# --- Calendar sync ----------------------------------------------------------------
# Google Calendar and Microsoft Graph over OAuth 2. With no client id the local emulators
# (sandbox/google/, sandbox/microsoft/ on the platform host) stand in for the provider; nothing
# else changes. The OAuth callback is /oauth/callback/<provider> on the platform host and push
# notifications arrive at /webhooks/google-calendar and /webhooks/microsoft-calendar there.
_platform_url = f"{PUBLIC_URL_SCHEME}://{PLATFORM_DOMAIN}{_port_suffix}"
GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID")
GOOGLE_EMULATED = not GOOGLE_CLIENT_ID
GOOGLE_CLIENT_SECRET = env_str("GOOGLE_CLIENT_SECRET", "emulator-secret" if GOOGLE_EMULATED else "")
if GOOGLE_EMULATED:
    GOOGLE_CLIENT_ID = "consultio-local.apps.googleusercontent.com"
_google = f"{_platform_url}/sandbox/google"
GOOGLE_AUTH_URL = env_str("GOOGLE_AUTH_URL", f"{_google}/o/oauth2/v2/auth" if GOOGLE_EMULATED
                          else "https://accounts.google.com/o/oauth2/v2/auth")
GOOGLE_TOKEN_URL = env_str("GOOGLE_TOKEN_URL", f"{_google}/token" if GOOGLE_EMULATED
                           else "https://oauth2.googleapis.com/token")
GOOGLE_REVOKE_URL = env_str("GOOGLE_REVOKE_URL", f"{_google}/revoke" if GOOGLE_EMULATED
                            else "https://oauth2.googleapis.com/revoke")
GOOGLE_USERINFO_URL = env_str("GOOGLE_USERINFO_URL", f"{_google}/v1/userinfo" if GOOGLE_EMULATED
                              else "https://openidconnect.googleapis.com/v1/userinfo")
GOOGLE_CALENDAR_API_BASE = env_str("GOOGLE_CALENDAR_API_BASE", f"{_google}/calendar/v3" if GOOGLE_EMULATED
                                   else "https://www.googleapis.com/calendar/v3")
MICROSOFT_CLIENT_ID = env_str("MICROSOFT_CLIENT_ID")
MICROSOFT_EMULATED = not MICROSOFT_CLIENT_ID
MICROSOFT_CLIENT_SECRET = env_str("MICROSOFT_CLIENT_SECRET", "emulator-secret" if MICROSOFT_EMULATED else "")
if MICROSOFT_EMULATED:
    MICROSOFT_CLIENT_ID = "00000000-0000-0000-0000-00000c0a5017"
# "common" lets both work/school and personal Microsoft accounts sign in.
MICROSOFT_TENANT = env_str("MICROSOFT_TENANT", "common")
_microsoft = f"{_platform_url}/sandbox/microsoft"
MICROSOFT_AUTHORITY = env_str("MICROSOFT_AUTHORITY", _microsoft if MICROSOFT_EMULATED
                              else "https://login.microsoftonline.com")
MICROSOFT_GRAPH_BASE = env_str("MICROSOFT_GRAPH_BASE", f"{_microsoft}/graph/v1.0" if MICROSOFT_EMULATED
                               else "https://graph.microsoft.com/v1.0")
# The emulators answer only where this is on (make dev, tests).
CALENDAR_SANDBOX = env_bool("CALENDAR_SANDBOX", DEBUG)
# Fernet keys that encrypt calendar tokens at rest (first encrypts; all decrypt, for rotation).
# Unset: one is derived from DJANGO_SECRET_KEY.
CALENDAR_TOKEN_KEYS = env_list("CALENDAR_TOKEN_KEYS", [])
# Whether ICS addresses may point at loopback or private networks (never in production: the
# server would fetch from inside its own network). On under make dev and in tests.
CALENDAR_ICS_ALLOW_PRIVATE = env_bool("CALENDAR_ICS_ALLOW_PRIVATE", DEBUG)
# How often calendars are polled when push notifications are missed, and ICS addresses fetched.
CALENDAR_POLL_SECONDS = env_int("CALENDAR_POLL_SECONDS", 900)
CALENDAR_ICS_POLL_SECONDS = env_int("CALENDAR_ICS_POLL_SECONDS", 900)
# Where providers deliver push notifications (the platform's public https address in production).
CALENDAR_PUSH_BASE_URL = env_str("CALENDAR_PUSH_BASE_URL", _platform_url).rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant_context": {"()": "django_tenants.log.TenantContextFilter"}},
    "formatters": {
        "tenant": {"format": "%(asctime)s %(levelname)s [%(schema_name)s:%(domain_url)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["tenant_context"], "formatter": "tenant"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},
        # httpx logs whole request URLs at INFO; ICS addresses often carry a secret in the path.
        "httpx": {"level": "WARNING"},
    },
}

# ``User.email`` is unique case-insensitively through a functional constraint
# (``Lower("email")``), which this check does not recognise.
SILENCED_SYSTEM_CHECKS = ["auth.E003"]
