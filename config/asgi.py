"""ASGI entry point: HTTP through Django, WebSockets through Channels.

WebSocket routes are added by the apps that need them (the video room); they run in the schema
of the tenant whose host the browser connected to."""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

# WhiteNoise serves static files with a synchronous iterator, which Django's ASGI
# handler consumes in a thread and warns about on every file; the files are small.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.websocket_urls import websocket_urlpatterns  # noqa: E402
from core.asgi_tenants import TenantOriginValidator, TenantWebsocketMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": TenantOriginValidator(TenantWebsocketMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
