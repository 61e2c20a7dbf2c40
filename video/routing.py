from django.urls import path

from video.consumers import RoomConsumer

websocket_urlpatterns = [
    path("ws/calls/<str:call_id>/room/", RoomConsumer.as_asgi()),
]
