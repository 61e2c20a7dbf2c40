"""Uploaded files, kept apart per tenant.

Files live under ``MEDIA_ROOT/<schema>/`` and are served at ``/media/<name>`` on
the tenant's own host, which only ever reads its own folder: another tenant's
files are neither reachable nor guessable from it.
"""

from django.conf import settings
from django_tenants.files.storage import TenantFileSystemStorage


class TenantMediaStorage(TenantFileSystemStorage):
    @property
    def base_url(self) -> str:
        return settings.MEDIA_URL
