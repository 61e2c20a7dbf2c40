"""Colour contrast as WCAG 2.x defines it (pure functions, no Django).

Relative luminance of an sRGB colour: each channel ``c = v / 255`` is linearised as
``c / 12.92`` when ``c <= 0.04045`` and ``((c + 0.055) / 1.055) ** 2.4`` otherwise, then
``L = 0.2126 R + 0.7152 G + 0.0722 B``. The contrast ratio of two colours is
``(L_lighter + 0.05) / (L_darker + 0.05)``, from 1:1 to 21:1. Normal text needs at least
4.5:1 for level AA. (WCAG 2.0 printed the threshold as 0.03928; no 8-bit value falls
between the two, so the results are identical.) ``static/themes/preview.js`` repeats
this formula for the live warnings; keep the two in step.
"""

from __future__ import annotations

import math
import re

AA_TEXT = 4.5
WHITE = "#ffffff"
BLACK = "#000000"
HEX_COLOR = re.compile(r"^#[0-9a-f]{6}$")


def is_hex_color(value: object) -> bool:
    """``#rrggbb`` in lower case (callers lower-case input first)."""
    return isinstance(value, str) and bool(HEX_COLOR.match(value))


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    value = color.lstrip("#")
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours, in either order."""
    a, b = relative_luminance(first), relative_luminance(second)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)


def passes_aa(text: str, background: str) -> bool:
    """Normal-size text at level AA; compared unrounded, so 4.48:1 fails."""
    return contrast_ratio(text, background) >= AA_TEXT


def format_ratio(ratio: float) -> str:
    """``4.48`` for 4.4781…: cut (never rounded up), so a failing ratio never reads as 4.5."""
    cut = math.floor(ratio * 100) / 100
    return f"{cut:.2f}".rstrip("0").rstrip(".")


def text_color_on(background: str) -> str:
    """White or black, whichever contrasts more with ``background``.

    One of the two always reaches at least 4.58:1 (the worst case is a background whose
    contrast with both is equal: sqrt(21)). A softer near-black would not: with #111111
    some mid-tone colours get only 4.3:1 either way."""
    return WHITE if contrast_ratio(WHITE, background) >= contrast_ratio(BLACK, background) else BLACK


def darken_until(color: str, background: str, minimum: float = AA_TEXT) -> str:
    """``color`` mixed with black in small steps until it reaches ``minimum`` on ``background``
    (a light one). Keeps the hue for places that cannot follow the theme's mode, such as emails."""
    value = color.lstrip("#")
    rgb = [int(value[i:i + 2], 16) for i in (0, 2, 4)]
    for step in range(0, 101, 2):
        factor = 1 - step / 100
        mixed = "#" + "".join(f"{round(channel * factor):02x}" for channel in rgb)
        if contrast_ratio(mixed, background) >= minimum:
            return mixed
    return BLACK
