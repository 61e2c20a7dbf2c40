"""The tenant's theme: one row per tenant schema (see ``themes.services``)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from core.uploads import safe_extension
from themes.presets import CORNER_LABELS, CORNERS, DEFAULT_PRESET, FONTS, MODE_LABELS, MODES, PRESETS

HEX_COLOR_REGEX = r"^#[0-9a-f]{6}$"
_default = PRESETS[DEFAULT_PRESET]


def _logo_path(instance: Theme, filename: str) -> str:
    return f"themes/logo-{uuid.uuid4().hex[:12]}.{safe_extension(filename, 'img')}"


def _favicon_path(instance: Theme, filename: str) -> str:
    return f"themes/favicon-{uuid.uuid4().hex[:12]}.{safe_extension(filename, 'img')}"


class Theme(models.Model):
    """What clients see of the tenant's brand. Absent until the owner first saves one: the
    default preset stands in until then."""

    preset = models.CharField(max_length=20, choices=[(k, p.label) for k, p in PRESETS.items()],
                              default=DEFAULT_PRESET, help_text="The preset the theme started from.")
    primary_color = models.CharField(max_length=7, default=_default.primary_color,
                                     help_text="Buttons and links, as #rrggbb.")
    accent_color = models.CharField(max_length=7, default=_default.accent_color,
                                    help_text="Highlights (selected times, current tab, charts), as #rrggbb.")
    font = models.CharField(max_length=20, choices=[(k, f.label) for k, f in FONTS.items()],
                            default=_default.font)
    mode = models.CharField(max_length=5, choices=list(MODE_LABELS.items()), default=_default.mode)
    corners = models.CharField(max_length=7, choices=list(CORNER_LABELS.items()), default=_default.corners)
    logo = models.ImageField(upload_to=_logo_path, blank=True)
    favicon = models.ImageField(upload_to=_favicon_path, blank=True)
    show_powered_by = models.BooleanField(
        default=True, help_text="Show “Powered by …” in the footer; only plans with white-label may hide it.")
    # Fixed to True and unique: the table can never hold a second row.
    singleton = models.BooleanField(default=True, editable=False, unique=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="theme_single_row"),
            models.CheckConstraint(condition=Q(primary_color__regex=HEX_COLOR_REGEX),
                                   name="theme_primary_color_hex"),
            models.CheckConstraint(condition=Q(accent_color__regex=HEX_COLOR_REGEX),
                                   name="theme_accent_color_hex"),
            models.CheckConstraint(condition=Q(preset__in=list(PRESETS)), name="theme_preset_known"),
            models.CheckConstraint(condition=Q(font__in=list(FONTS)), name="theme_font_known"),
            models.CheckConstraint(condition=Q(mode__in=list(MODES)), name="theme_mode_valid"),
            models.CheckConstraint(condition=Q(corners__in=list(CORNERS)), name="theme_corners_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.preset}: {self.primary_color}/{self.accent_color}, {self.font}, {self.mode}, {self.corners}"
