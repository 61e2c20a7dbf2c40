"""The owner's domains page on the tenant host."""

from django.urls import path

from tenants import views_domains

app_name = "domains"

urlpatterns = [
    path("settings/domains/", views_domains.domains_page, name="list"),
    path("settings/domains/<int:domain_id>/verify/", views_domains.domain_verify_view, name="verify"),
    path("settings/domains/<int:domain_id>/primary/", views_domains.domain_primary_view, name="primary"),
    path("settings/domains/<int:domain_id>/remove/", views_domains.domain_remove_view, name="remove"),
]
