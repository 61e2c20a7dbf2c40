from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("auth/handoff/<str:token>/", views.handoff, name="handoff"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
