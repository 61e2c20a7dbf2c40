from django.urls import path

from video import views

app_name = "video"

urlpatterns = [
    path("calls/<str:call_id>/room/", views.room, name="room"),
    path("calls/<str:call_id>/room/token/", views.token, name="token"),
    path("calls/<str:call_id>/room/files/", views.chat_files, name="chat_files"),
    path("calls/<str:call_id>/room/files/<str:message_id>/", views.chat_file, name="chat_file"),
    path("calls/<str:call_id>/rating/", views.rating, name="rating"),
    path("settings/video/", views.settings_view, name="settings"),
]
