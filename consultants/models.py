"""The public face of a consultant: profile, photo and certificates."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from core.uploads import safe_extension


def _photo_path(instance: Profile, filename: str) -> str:
    return f"profiles/{instance.user_id}/photo-{uuid.uuid4().hex[:12]}.{safe_extension(filename, 'img')}"


def _rendition_path(instance: Profile, filename: str) -> str:
    return f"profiles/{instance.user_id}/photo-{uuid.uuid4().hex[:12]}-{filename}"


def _certificate_path(instance: Certificate, filename: str) -> str:
    ext = safe_extension(filename, "bin")
    return f"profiles/{instance.profile.user_id}/certificates/{uuid.uuid4().hex}.{ext}"


class Profile(models.Model):
    class TimeFormat(models.TextChoices):
        H24 = "24h", "24-hour (14:30)"
        H12 = "12h", "12-hour (2:30 PM)"

    class PhotoStatus(models.TextChoices):
        NONE = "none", "No photo"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    slug = models.SlugField(max_length=60, unique=True)
    headline = models.CharField(max_length=160, blank=True)
    description = models.TextField("Services", blank=True, max_length=5000)
    experience = models.TextField(blank=True, max_length=5000)
    languages = ArrayField(models.CharField(max_length=3), default=list, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    time_format = models.CharField(max_length=3, choices=TimeFormat.choices, default=TimeFormat.H24)
    currency = models.CharField(max_length=3, default="USD")
    photo = models.ImageField(upload_to=_photo_path, blank=True)
    photo_small = models.ImageField(upload_to=_rendition_path, blank=True)
    photo_medium = models.ImageField(upload_to=_rendition_path, blank=True)
    photo_large = models.ImageField(upload_to=_rendition_path, blank=True)
    photo_status = models.CharField(max_length=12, choices=PhotoStatus.choices, default=PhotoStatus.NONE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="profile_currency_iso"),
            models.CheckConstraint(condition=Q(slug__regex=r"^[a-z0-9]+(-[a-z0-9]+)*$"), name="profile_slug_format"),
        ]

    def __str__(self) -> str:
        return self.slug


class Certificate(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="certificates")
    title = models.CharField(max_length=160)
    file = models.FileField(upload_to=_certificate_path)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__lte=10 * 1024 * 1024), name="certificate_at_most_10mb"),
        ]

    def __str__(self) -> str:
        return self.title
