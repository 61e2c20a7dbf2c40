from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "video"
    verbose_name = "Video"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from video import receivers  # noqa: F401 - schedules completion when calls are booked or moved
