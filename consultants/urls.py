from django.urls import path

from consultants import views

app_name = "consultants"

urlpatterns = [
    path("profile/", views.profile_edit, name="profile_edit"),
    path("profile/photo/", views.profile_photo, name="profile_photo"),
    path("profile/certificates/", views.certificate_create, name="certificate_create"),
    path("profile/certificates/<int:certificate_id>/delete/", views.certificate_delete, name="certificate_delete"),
    path("team/<int:user_id>/profile/", views.profile_edit, name="member_profile_edit"),
    path("team/<int:user_id>/profile/photo/", views.profile_photo, name="member_profile_photo"),
    path("team/<int:user_id>/profile/certificates/", views.certificate_create, name="member_certificate_create"),
    path("team/<int:user_id>/profile/certificates/<int:certificate_id>/delete/", views.certificate_delete,
         name="member_certificate_delete"),
    path("c/", views.consultant_list, name="list"),
    path("c/<slug:slug>/", views.consultant_page, name="page"),
]
