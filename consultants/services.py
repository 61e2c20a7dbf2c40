"""Profiles: creation with sensible defaults, edits, photo and certificates."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.text import slugify
from PIL import Image, ImageOps

from accounts.models import User
from consultants.models import Certificate, Profile
from core.choices import currencies, languages, time_zones
from core.uploads import document_validate, image_validate

logger = logging.getLogger(__name__)

# Renditions made from an uploaded photo: (field, longest side in px).
PHOTO_SIZES = (("photo_small", 160), ("photo_medium", 480), ("photo_large", 960))
RESERVED_PROFILE_SLUGS = frozenset({"new", "edit", "me", "api", "admin"})


def _unique_slug(base: str, *, exclude_pk: int | None = None) -> str:
    base = (slugify(base)[:50].strip("-") or "consultant")
    candidate, n = base, 1
    taken = Profile.objects.exclude(pk=exclude_pk) if exclude_pk else Profile.objects.all()
    while candidate in RESERVED_PROFILE_SLUGS or taken.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def profile_create(*, user: User, time_zone: str = "UTC") -> Profile:
    """Every owner and consultant has a profile from the start: slug from the name, USD, 24-hour clock."""
    if time_zone not in time_zones():
        time_zone = "UTC"
    return Profile.objects.create(user=user, slug=_unique_slug(user.full_name), time_zone=time_zone)


@dataclass(frozen=True)
class ProfileData:
    full_name: str
    slug: str
    headline: str
    description: str
    experience: str
    languages: list[str]
    time_zone: str
    time_format: str
    currency: str


def profile_validate(*, profile: Profile, data: ProfileData) -> None:
    errors: dict[str, list[str]] = {}
    if not data.full_name.strip():
        errors.setdefault("full_name", []).append("Enter your name.")
    slug = data.slug.strip()
    if not slug:
        errors.setdefault("slug", []).append("Choose the address of your public page.")
    elif slug != slugify(slug) or len(slug) > 60 or "--" in slug:
        errors.setdefault("slug", []).append("Use lowercase letters, digits and single hyphens only.")
    elif slug in RESERVED_PROFILE_SLUGS:
        errors.setdefault("slug", []).append(f"“{slug}” is reserved; choose another.")
    elif Profile.objects.exclude(pk=profile.pk).filter(slug=slug).exists():
        errors.setdefault("slug", []).append("Another consultant already uses this address.")
    if data.time_zone not in time_zones():
        errors.setdefault("time_zone", []).append(f"“{data.time_zone}” is not a known time zone.")
    if data.currency not in currencies():
        errors.setdefault("currency", []).append(f"“{data.currency}” is not an ISO 4217 currency code.")
    unknown = [code for code in data.languages if code not in languages()]
    if unknown:
        errors.setdefault("languages", []).append(f"Unknown language code: {', '.join(unknown)}.")
    if data.time_format not in Profile.TimeFormat.values:
        errors.setdefault("time_format", []).append("Choose 12-hour or 24-hour time.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def profile_update(*, profile: Profile, data: ProfileData) -> Profile:
    profile_validate(profile=profile, data=data)
    user = profile.user
    user.full_name = data.full_name.strip()
    user.save(update_fields=["full_name"])
    profile.slug = data.slug.strip()
    profile.headline = data.headline.strip()
    profile.description = data.description.strip()
    profile.experience = data.experience.strip()
    profile.languages = list(dict.fromkeys(data.languages))
    profile.time_zone = data.time_zone
    profile.time_format = data.time_format
    profile.currency = data.currency
    profile.save(update_fields=["slug", "headline", "description", "experience", "languages", "time_zone",
                                "time_format", "currency", "updated_at"])
    return profile


@transaction.atomic
def profile_photo_set(*, profile: Profile, upload: UploadedFile) -> Profile:
    """Store the original at once and make the sizes in the background."""
    image_validate(upload)
    profile = Profile.objects.select_for_update().get(pk=profile.pk)
    # Names, not FieldFile objects: saving the new photo reuses the same FieldFile.
    old_names = [getattr(profile, name).name for name in ("photo", *(field for field, _ in PHOTO_SIZES))]
    profile.photo.save(upload.name or "photo", upload, save=False)
    for field, _ in PHOTO_SIZES:
        setattr(profile, field, "")
    profile.photo_status = Profile.PhotoStatus.PROCESSING
    profile.save(update_fields=["photo", "photo_small", "photo_medium", "photo_large", "photo_status",
                                "updated_at"])
    from consultants.tasks import profile_photo_process_task

    transaction.on_commit(lambda: profile_photo_process_task.delay(profile.pk))
    storage = profile.photo.storage
    transaction.on_commit(lambda: [storage.delete(name) for name in old_names if name])
    return profile


def profile_photo_process(*, profile_id: int) -> Profile | None:
    """Make the square-ish renditions of the current photo (WebP, EXIF orientation applied)."""
    profile = Profile.objects.filter(pk=profile_id).first()
    if profile is None or not profile.photo:
        return None
    source_name = profile.photo.name
    try:
        with profile.photo.open("rb") as fh, Image.open(fh) as original:
            image = ImageOps.exif_transpose(original).convert("RGB")
        renditions = {}
        for field, side in PHOTO_SIZES:
            copy = image.copy()
            copy.thumbnail((side, side), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            copy.save(buffer, "WEBP", quality=85)
            renditions[field] = ContentFile(buffer.getvalue())
    except OSError:
        logger.exception("Could not resize photo of profile %s", profile_id)
        Profile.objects.filter(pk=profile_id, photo=source_name).update(photo_status=Profile.PhotoStatus.FAILED)
        return profile
    with transaction.atomic():
        profile = Profile.objects.select_for_update().get(pk=profile_id)
        if profile.photo.name != source_name:
            return profile  # a newer photo arrived meanwhile; its own task handles it
        for field, side in PHOTO_SIZES:
            getattr(profile, field).save(f"{side}.webp", renditions[field], save=False)
        profile.photo_status = Profile.PhotoStatus.READY
        profile.save(update_fields=[field for field, _ in PHOTO_SIZES] + ["photo_status"])
    return profile


@transaction.atomic
def certificate_add(*, profile: Profile, title: str, upload: UploadedFile) -> Certificate:
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = ["Give the certificate a title."]
    try:
        content_type = document_validate(upload)
    except ValidationError as exc:
        errors["file"] = exc.messages
    if errors:
        raise ValidationError(errors)
    certificate = Certificate(profile=profile, title=title.strip()[:160], content_type=content_type,
                              size=upload.size)
    certificate.file.save(upload.name or "certificate", upload, save=False)
    certificate.save()
    return certificate


@transaction.atomic
def certificate_remove(*, certificate: Certificate) -> None:
    name, storage = certificate.file.name, certificate.file.storage
    certificate.delete()
    transaction.on_commit(lambda: storage.delete(name))
