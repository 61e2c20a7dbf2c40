"""The emulators' own storage (public schema): what the real provider would keep on its side."""

from django.db import models
from django.utils import timezone


class StripeObject(models.Model):
    """One Stripe object (account, account link, event, …) as the API returns it."""

    id = models.CharField(primary_key=True, max_length=64)
    object = models.CharField(max_length=40, db_index=True)
    data = models.JSONField()
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class StripeIdempotentRequest(models.Model):
    """A POST answered under an ``Idempotency-Key``: a retry gets the same answer."""

    key = models.CharField(max_length=255)
    path = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="stripe_idempotency_key_unique")]

    def __str__(self) -> str:
        return self.key
