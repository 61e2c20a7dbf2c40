"""Uploaded files, kept apart per tenant.

Files live under ``MEDIA_ROOT/<schema>/`` and are served at ``/media/<name>`` on
the tenant's own host, which only ever reads its own folder: another tenant's
files are neither reachable nor guessable from it. Paths follow the connection's
current schema (and ``MEDIA_ROOT``) at each call, in web requests and in tasks alike.
"""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import connection


class TenantMediaStorage(FileSystemStorage):
    @property
    def base_location(self) -> str:
        return os.path.join(settings.MEDIA_ROOT, connection.schema_name)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> str:
        return settings.MEDIA_URL
