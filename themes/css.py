"""A theme as CSS custom properties (``:root{--primary:…}``), which ``static/css/app.css`` and
``static/video/room.css`` use for every colour, the font and the corners."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.safestring import SafeString, mark_safe

from themes.contrast import is_hex_color, text_color_on
from themes.presets import CORNERS, DEFAULT_PRESET, FONTS, MODES, PRESETS

# How much of the accent colour tints a card for highlighted rows (selected time, availability).
TINT_SHARE = 0.14


def mix(color: str, base: str, share: float) -> str:
    """``share`` of ``color`` over ``base`` (both ``#rrggbb``), as ``#rrggbb``."""
    a, b = color.lstrip("#"), base.lstrip("#")
    channels = (round(int(a[i:i + 2], 16) * share + int(b[i:i + 2], 16) * (1 - share)) for i in (0, 2, 4))
    return "#" + "".join(f"{channel:02x}" for channel in channels)


def _safe(values: Mapping[str, str]) -> dict[str, str]:
    """Stored values are checked by the database; anything else falls back to the default preset
    rather than ever reaching a ``<style>`` element."""
    default = PRESETS[DEFAULT_PRESET]
    return {
        "primary_color": values["primary_color"] if is_hex_color(values.get("primary_color"))
        else default.primary_color,
        "accent_color": values["accent_color"] if is_hex_color(values.get("accent_color"))
        else default.accent_color,
        "font": values["font"] if values.get("font") in FONTS else default.font,
        "mode": values["mode"] if values.get("mode") in MODES else default.mode,
        "corners": values["corners"] if values.get("corners") in CORNERS else default.corners,
    }


def variables(values: Mapping[str, str]) -> dict[str, str]:
    """Every custom property of a theme given its primary and accent colours, font, mode and corners."""
    clean = _safe(values)
    palette = MODES[clean["mode"]]
    radius, radius_small = CORNERS[clean["corners"]]
    primary, accent = clean["primary_color"], clean["accent_color"]
    return {
        "--primary": primary,
        "--primary-text": text_color_on(primary),
        "--accent": accent,
        "--accent-text": text_color_on(accent),
        **{f"--{name}": value for name, value in palette.items()},
        "--tint": mix(accent, palette["card"], TINT_SHARE),
        "--radius": radius,
        "--radius-sm": radius_small,
        "--font": FONTS[clean["font"]].family,
        "color-scheme": clean["mode"],
    }


def root_css(values: Mapping[str, str]) -> SafeString:
    """``:root{…}`` for a ``<style>`` element. Safe: every value is a checked colour or one of
    the constants in ``themes.presets``."""
    body = ";".join(f"{name}:{value}" for name, value in variables(values).items())
    return mark_safe(f":root{{{body}}}")  # noqa: S308 - built only from validated values


def inline_style(values: Mapping[str, str]) -> str:
    """The same properties for a ``style`` attribute (the settings page's preview panel); the
    template escapes it."""
    return ";".join(f"{name}:{value}" for name, value in variables(values).items() if name.startswith("--"))
