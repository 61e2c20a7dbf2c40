from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("bookings/<str:booking_id>/pay/", views.pay, name="pay"),
    path("bookings/<str:booking_id>/paid/", views.paid, name="paid"),
    path("bookings/<str:booking_id>/checkout-canceled/", views.checkout_canceled, name="checkout_canceled"),
    path("payouts/", views.payouts_page, name="payouts"),
    path("payouts/onboarding/", views.onboarding_refresh, name="onboarding_refresh"),
]
