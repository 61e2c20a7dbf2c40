from django.urls import path

from booking import views

app_name = "booking"

urlpatterns = [
    path("book/", views.offerings, name="offerings"),
    path("book/<str:offering_id>/", views.book, name="book"),
    path("bookings/<str:booking_id>/", views.manage, name="manage"),
]
