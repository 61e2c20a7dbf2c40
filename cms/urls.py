from django.urls import path

from cms import views

app_name = "cms"

urlpatterns = [
    path("team/<int:user_id>/site-editor/", views.site_editor_view, name="site_editor"),
]
