"""WebSocket routes, served by the ASGI server beside HTTP (on tenant hosts only)."""

from video.routing import websocket_urlpatterns as video_routes

websocket_urlpatterns: list = [*video_routes]
