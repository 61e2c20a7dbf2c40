"""Validation of uploaded files by their content, never by their name."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # ~ 8000 x 5000; larger is a decompression bomb, not a photo
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
PDF_MAGIC = b"%PDF-"


def size_check(upload: UploadedFile) -> None:
    """Refuse an empty file or one over 10 MB, with the message every upload form uses."""
    if upload.size is None or upload.size == 0:
        raise ValidationError("The file is empty.", code="empty")
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is 10 MB.", code="too_large"
        )


def image_validate(upload: UploadedFile) -> str:
    """Return the image's MIME type; refuse anything that is not a real JPEG, PNG or WebP."""
    size_check(upload)
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            fmt = image.format
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ValidationError("The image has too many pixels; use one under 40 megapixels.",
                                      code="too_many_pixels")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError("This file is not a JPEG, PNG or WebP image.", code="not_an_image") from None
    finally:
        upload.seek(0)
    if fmt not in IMAGE_FORMATS:
        raise ValidationError("Use a JPEG, PNG or WebP image.", code="unsupported_format")
    return IMAGE_FORMATS[fmt]


def document_validate(upload: UploadedFile) -> str:
    """Certificates: a PDF or an image, checked by content. Returns the MIME type."""
    size_check(upload)
    upload.seek(0)
    head = upload.read(len(PDF_MAGIC))
    upload.seek(0)
    if head == PDF_MAGIC:
        return "application/pdf"
    try:
        return image_validate(upload)
    except ValidationError as exc:
        if exc.code == "too_large":
            raise
        raise ValidationError("Upload a PDF, JPEG, PNG or WebP file.", code="unsupported_document") from None


def safe_extension(filename: str, default: str) -> str:
    """The lower-case extension of an uploaded file's name for storage paths (letters and digits only).
    The content is what gets validated; the name is only kept as a hint for browsers."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    ext = "".join(ch for ch in ext if ch.isascii() and ch.isalnum())[:5]
    return ext or default
