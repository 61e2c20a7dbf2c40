"""The emulated DNS zone's URLs, mounted at ``sandbox/dns/`` on the platform host when DNS_EMULATED."""

from django.urls import path

from sandbox import dns

urlpatterns = [
    path("txt", dns.txt, name="sandbox_dns_txt"),
]
