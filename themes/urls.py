from django.urls import path

from themes import views

app_name = "themes"

urlpatterns = [
    path("settings/theme/", views.theme_settings, name="settings"),
]
