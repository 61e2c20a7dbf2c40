"""The Celery app. Tasks carry the tenant schema in their headers
(``tenant_schemas_celery``): a task queued while a tenant is active runs in that
tenant's schema on the worker, and the public schema is restored afterwards."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = CeleryApp("consultio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
