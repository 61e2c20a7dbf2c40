from django.urls import path

from sandbox.stripe import views as stripe_views

app_name = "sandbox"

urlpatterns = [
    path("stripe/v1/accounts", stripe_views.accounts, name="stripe_accounts"),
    path("stripe/v1/accounts/<str:account_id>", stripe_views.account_detail, name="stripe_account"),
    path("stripe/v1/account_links", stripe_views.account_links, name="stripe_account_links"),
    path("stripe/onboarding/<str:link_id>/", stripe_views.onboarding_page, name="stripe_onboarding_page"),
    path("stripe/accounts/<str:account_id>/onboarding", stripe_views.onboarding_script,
         name="stripe_onboarding_script"),
]
