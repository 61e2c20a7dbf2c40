from django.urls import path

from booking import workspace

app_name = "booking_workspace"

urlpatterns = [
    path("availability/", workspace.availability, name="availability"),
    path("availability/periods/", workspace.period_add, name="period_add"),
    path("availability/periods/<int:period_id>/delete/", workspace.period_delete, name="period_delete"),
    path("availability/dates/", workspace.override_add, name="override_add"),
    path("availability/dates/<int:override_id>/delete/", workspace.override_delete, name="override_delete"),
    path("availability/vacations/", workspace.vacation_create, name="vacation_add"),
    path("availability/vacations/<str:vacation_id>/delete/", workspace.vacation_remove, name="vacation_delete"),
    path("offerings/", workspace.offerings, name="offerings"),
    path("calls/<str:call_id>/", workspace.call_detail, name="call"),
    path("settings/booking/", workspace.booking_settings_view, name="settings"),
    path("offerings/<str:offering_id>/", workspace.offering_edit, name="offering_edit"),
    path("offerings/<str:offering_id>/copy/", workspace.offering_copy, name="offering_copy"),
    path("offerings/<str:offering_id>/archive/", workspace.offering_remove, name="offering_archive"),
    path("offerings/<str:offering_id>/media/", workspace.offering_media_upload, name="offering_media"),
    path("offerings/<str:offering_id>/media/<int:media_id>/delete/", workspace.offering_media_delete,
         name="offering_media_delete"),
]
