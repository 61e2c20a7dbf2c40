"""WebSocket routes, served by the ASGI server beside HTTP."""

websocket_urlpatterns: list = []
