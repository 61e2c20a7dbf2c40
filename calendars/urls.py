"""The consultant's calendars page on the tenant host."""

from django.urls import path

from calendars import views

app_name = "calendars"

urlpatterns = [
    path("calendars/", views.calendars_page, name="list"),
    path("calendars/connect/<str:provider>/", views.connect_view, name="connect"),
    path("calendars/<int:calendar_id>/", views.calendar_change_view, name="change"),
    path("calendars/connections/<int:connection_id>/disconnect/", views.disconnect_view, name="disconnect"),
    path("calendar-feed/<str:token>.ics", views.feed, name="feed"),
    path("calendars/feed/regenerate/", views.feed_regenerate_view, name="feed_regenerate"),
]
