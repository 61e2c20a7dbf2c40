from django.db import models


class DueWork(models.Model):
    """When a tenant next has periodic work of a kind (e.g. unpaid holds to release).

    Lives in the public schema, so the periodic dispatcher finds what is due with
    one indexed query instead of visiting every tenant's schema."""

    schema_name = models.CharField(max_length=63)
    kind = models.CharField(max_length=40)
    due_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["schema_name", "kind"], name="due_work_one_per_kind")]

    def __str__(self) -> str:
        return f"{self.kind} in {self.schema_name} at {self.due_at:%Y-%m-%d %H:%M}"


class WebhookEvent(models.Model):
    """Every provider event received on the platform host, as it arrived.

    Its id is unique per provider, which makes a re-delivered event a no-op; the
    schema it was routed to and the outcome are kept for support and replay."""

    class Outcome(models.TextChoices):
        HANDLED = "handled", "Handled"
        IGNORED = "ignored", "Not a type we handle"
        UNROUTED = "unrouted", "No tenant to route it to"

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    account = models.CharField(max_length=255, blank=True)
    schema_name = models.CharField(max_length=63, blank=True)
    payload = models.TextField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    created = models.DateTimeField(null=True, blank=True, help_text="When the provider created the event.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"


def settings_row(model: type[models.Model]) -> models.Model:
    """A tenant's one-row settings table (booking, billing, notification rules): the row, made on first use."""
    return model.objects.first() or model.objects.create()


class PushRoute(models.Model):
    """Which tenant a provider's push channel belongs to. Calendar providers notify the platform
    host naming only their channel (or subscription); this public row routes the notification to
    the tenant's schema, where the channel's secret is checked."""

    provider = models.CharField(max_length=20)
    channel_id = models.CharField(max_length=200)
    schema_name = models.CharField(max_length=63)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "channel_id"], name="push_route_once")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.channel_id} → {self.schema_name}"
