"""The choices a theme is made of: presets, bundled fonts, light and dark palettes, corners.

Plain constants: the model's check constraints, the services, the CSS and the live preview
(``themes/views.py`` hands them to ``static/themes/preview.js``) all read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    label: str
    description: str
    primary_color: str
    accent_color: str
    font: str
    mode: str
    corners: str

    def values(self, name: str) -> dict[str, str]:
        return {"preset": name, "primary_color": self.primary_color, "accent_color": self.accent_color,
                "font": self.font, "mode": self.mode, "corners": self.corners}


# Every preset passes the contrast rule in its own mode (pinned by the tests).
PRESETS: dict[str, Preset] = {
    "classic": Preset("Classic", "The look every site starts with: blue on light grey, system font.",
                      primary_color="#1f5fbf", accent_color="#1f5fbf", font="system", mode="light",
                      corners="rounded"),
    "calm": Preset("Calm", "Deep teal and warm clay, a serif for reading, soft corners.",
                   primary_color="#2f6f6a", accent_color="#d9825b", font="lora", mode="light",
                   corners="rounded"),
    "corporate": Preset("Corporate", "Navy and green, a clean sans-serif, square corners.",
                        primary_color="#1f4e99", accent_color="#0f7b6c", font="source-sans-3", mode="light",
                        corners="square"),
    "bold": Preset("Bold", "Pink and yellow on a dark background.",
                   primary_color="#ff6b9a", accent_color="#ffd400", font="inter", mode="dark",
                   corners="rounded"),
}
DEFAULT_PRESET = "classic"

SYSTEM_STACK = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'


@dataclass(frozen=True)
class Font:
    label: str
    family: str  # the CSS font-family value
    bundled: bool = True  # served from static/vendor/fonts/ (see static/css/fonts.css)


FONTS: dict[str, Font] = {
    "system": Font("System (the reader's own interface font)", SYSTEM_STACK, bundled=False),
    "inter": Font("Inter (sans-serif)", f'"Inter", {SYSTEM_STACK}'),
    "source-sans-3": Font("Source Sans 3 (sans-serif)", f'"Source Sans 3", {SYSTEM_STACK}'),
    "lora": Font("Lora (serif)", '"Lora", Georgia, "Times New Roman", serif'),
    "merriweather": Font("Merriweather (serif)", '"Merriweather", Georgia, "Times New Roman", serif'),
}

# Page colours per mode. Text and muted text reach at least 4.5:1 on both the page background
# and cards, field borders 3:1 on cards (pinned by the tests).
MODES: dict[str, dict[str, str]] = {
    "light": {
        "bg": "#f7f8fa", "card": "#ffffff", "text": "#1b1f24", "muted": "#5b6470", "border": "#e3e6ea",
        "field-border": "#868e99", "notice-bg": "#fff7e0", "notice-border": "#f2d48a", "ok-bg": "#e6f6ec",
        "ok-border": "#9fd8b4", "danger": "#b42318", "danger-bg": "#fde2e1", "warn-text": "#8a5a00",
    },
    "dark": {
        "bg": "#121417", "card": "#1c1f24", "text": "#e8eaed", "muted": "#a3abb5", "border": "#2e333a",
        "field-border": "#6b737d", "notice-bg": "#3a2f12", "notice-border": "#7a6224", "ok-bg": "#173524",
        "ok-border": "#2f6b47", "danger": "#ff8a80", "danger-bg": "#3d1a18", "warn-text": "#f2c14e",
    },
}
MODE_LABELS = {"light": "Light", "dark": "Dark"}

# (--radius for cards and panels, --radius-sm for buttons and fields)
CORNERS: dict[str, tuple[str, str]] = {"rounded": ("8px", "6px"), "square": ("0px", "0px")}
CORNER_LABELS = {"rounded": "Rounded", "square": "Square"}

# Emails are always light (most mail clients ignore a page's colour scheme). The brand colour is
# checked against the page behind the card (the site name sits there), the darker of the two.
EMAIL_BACKGROUND = MODES["light"]["bg"]


def preset_choices() -> list[tuple[str, str]]:
    return [(name, preset.label) for name, preset in PRESETS.items()]


def font_choices() -> list[tuple[str, str]]:
    return [(name, font.label) for name, font in FONTS.items()]
