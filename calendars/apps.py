from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "calendars"
    verbose_name = "Calendar sync"

    def ready(self) -> None:
        from calendars import receivers  # noqa: F401
