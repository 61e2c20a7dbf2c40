"""Reading and changing the tenant's theme.

``theme_update`` checks everything before writing anything: a refused change leaves the theme,
its files and the cache as they were. Rendering reads ``theme_style()``, cached per tenant in
the Django cache (its keys carry the schema name) and dropped whenever the theme is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.safestring import SafeString

from core.exceptions import InvalidInput
from core.uploads import image_validate
from themes.contrast import AA_TEXT, contrast_ratio, darken_until, format_ratio, text_color_on
from themes.css import root_css
from themes.models import Theme
from themes.presets import CORNERS, EMAIL_BACKGROUND, FONTS, MODES, PRESETS

FIELDS = ("preset", "primary_color", "accent_color", "font", "mode", "corners")
CACHE_KEY = "themes:style:v1"
# Saving clears the entry; the expiry only bounds how long a change made behind the app's back
# (a restored database, hand-written SQL) can go unseen.
CACHE_SECONDS = 60 * 60
EXAMPLES = {"primary_color": "#1f5fbf", "accent_color": "#0f7b6c"}
# Where the primary colour is used as text (links, link-styled buttons): the page and cards.
SURFACES = (("bg", "background"), ("card", "card background"))


@dataclass(frozen=True)
class ThemeError:
    field: str
    code: str
    message: str


class ThemeInvalid(InvalidInput):
    """Every problem found in a theme change; ``message``, ``code`` and ``field`` are the first's."""

    def __init__(self, errors: list[ThemeError]) -> None:
        first = errors[0]
        super().__init__(" ".join(e.message for e in errors), code=first.code, field=first.field)
        self.errors = errors


# --- Reading -------------------------------------------------------------------------------


def theme_get() -> Theme:
    """The tenant's theme row, or an unsaved one holding the default preset while there is none."""
    return Theme.objects.first() or Theme()


def theme_values(theme: Theme) -> dict[str, str]:
    return {name: getattr(theme, name) for name in FIELDS}


@dataclass(frozen=True)
class ThemeStyle:
    """What pages and emails need of a theme: small, and cached (as a dict) per tenant."""

    preset: str
    primary_color: str
    accent_color: str
    font: str
    mode: str
    corners: str
    logo_url: str
    favicon_url: str
    show_powered_by: bool  # the owner's choice; the plan decides whether it may be False

    @property
    def primary_text_color(self) -> str:
        return text_color_on(self.primary_color)

    @property
    def accent_text_color(self) -> str:
        return text_color_on(self.accent_color)

    @property
    def root_css(self) -> SafeString:
        return root_css(self.values())

    @property
    def font_bundled(self) -> bool:
        return FONTS[self.font].bundled

    def values(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FIELDS}


def style_of(theme: Theme) -> ThemeStyle:
    return ThemeStyle(**theme_values(theme), logo_url=theme.logo.url if theme.logo else "",
                      favicon_url=theme.favicon.url if theme.favicon else "",
                      show_powered_by=theme.show_powered_by)


def theme_style() -> ThemeStyle:
    """The current tenant's theme for rendering: no query when cached, one otherwise.

    Cached as a plain dict, so an entry written by an older release of ``ThemeStyle`` is simply
    read again from the database instead of breaking a page."""
    cached = cache.get(CACHE_KEY)
    if isinstance(cached, dict):
        try:
            return ThemeStyle(**cached)
        except TypeError:
            pass
    style = style_of(theme_get())
    cache.set(CACHE_KEY, asdict(style), CACHE_SECONDS)
    return style


def theme_cache_clear() -> None:
    """Now, for what this transaction renders next, and after commit, for a request that cached
    the old theme in between."""
    cache.delete(CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))


def white_label_allowed(tenant) -> bool:
    plan = getattr(tenant, "plan", None)
    return bool(plan is not None and plan.white_label)


def powered_by_shown(tenant, show_powered_by: bool) -> bool:
    """Shown unless the owner hid it on a plan that allows it (after a downgrade it shows again)."""
    return show_powered_by or not white_label_allowed(tenant)


def email_brand(*, site_url: str = "") -> dict[str, str]:
    """Colours and logo for emails, which are always light and cannot use CSS variables.

    The primary colour is darkened (same hue) when it would not reach 4.5:1 on the email's page
    background (and so on its white card) — a dark theme's light primary — so it works as link
    text and behind white button labels."""
    style = theme_style()
    color = darken_until(style.primary_color, EMAIL_BACKGROUND)
    return {"color": color, "text_color": text_color_on(color), "link_color": color,
            "logo_url": f"{site_url}{style.logo_url}" if style.logo_url and site_url else ""}


def theme_out(theme: Theme, *, tenant) -> dict:
    """The API's view of a theme."""
    return {**theme_values(theme), "primary_text_color": text_color_on(theme.primary_color),
            "accent_text_color": text_color_on(theme.accent_color),
            "logo_url": theme.logo.url if theme.logo else None,
            "favicon_url": theme.favicon.url if theme.favicon else None,
            "show_powered_by": powered_by_shown(tenant, theme.show_powered_by)}


# --- Checking --------------------------------------------------------------------------------


def _choices(options) -> str:
    return ", ".join(f"“{name}”" for name in options)


def _check_choice(name: str, value: object, options, errors: list[ThemeError]) -> str | None:
    if not isinstance(value, str):
        errors.append(ThemeError(name, "invalid_type",
                                 f"{name} must be a string, one of {_choices(options)}."))
        return None
    if value.strip() not in options:
        errors.append(ThemeError(name, f"unknown_{name}" if name in ("preset", "font") else "invalid_choice",
                                 f"Unknown {name} “{value}”: choose one of {_choices(options)}."))
        return None
    return value.strip()


def _check_color(name: str, value: object, errors: list[ThemeError]) -> str | None:
    if not isinstance(value, str):
        errors.append(ThemeError(name, "invalid_type",
                                 f"{name} must be a string: a colour written as #rrggbb, e.g. {EXAMPLES[name]}."))
        return None
    color = value.strip().lower()
    if not (len(color) == 7 and color.startswith("#") and all(c in "0123456789abcdef" for c in color[1:])):
        errors.append(ThemeError(name, "invalid_color",
                                 f"{name} “{value}” is not a colour written as #rrggbb (six hexadecimal digits, "
                                 f"e.g. {EXAMPLES[name]})."))
        return None
    return color


def contrast_errors(values: Mapping[str, str]) -> list[ThemeError]:
    """The primary colour as text (links) must reach 4.5:1 on the mode's page and card
    backgrounds. Text *on* the primary and accent colours is derived, so it always passes."""
    palette = MODES[values["mode"]]
    worst = min(((contrast_ratio(values["primary_color"], palette[key]), key, label) for key, label in SURFACES))
    ratio, key, label = worst
    if ratio >= AA_TEXT:
        return []
    return [ThemeError("primary_color", "contrast",
                       f"primary_color {values['primary_color']} on the {values['mode']} {label} {palette[key]} has "
                       f"a contrast of {format_ratio(ratio)}:1; text needs at least {AA_TEXT:g}:1 (WCAG AA). "
                       f"Choose a {'darker' if values['mode'] == 'light' else 'lighter'} primary colour "
                       f"or the {'dark' if values['mode'] == 'light' else 'light'} mode.")]


def theme_validate(data: Mapping[str, object], *, current: Mapping[str, str]) -> dict[str, str]:
    """The theme ``data`` describes, checked. A ``preset`` in ``data`` fills every field that
    ``data`` does not give (or gives as None); otherwise missing fields keep ``current``."""
    errors: list[ThemeError] = []
    values = dict(current)
    if "preset" in data and data["preset"] is not None:
        preset = _check_choice("preset", data["preset"], PRESETS, errors)
        if preset is not None:
            values = PRESETS[preset].values(preset)
    checked = {
        "primary_color": lambda v: _check_color("primary_color", v, errors),
        "accent_color": lambda v: _check_color("accent_color", v, errors),
        "font": lambda v: _check_choice("font", v, FONTS, errors),
        "mode": lambda v: _check_choice("mode", v, MODES, errors),
        "corners": lambda v: _check_choice("corners", v, CORNERS, errors),
    }
    for name, check in checked.items():
        if data.get(name) is not None:
            value = check(data[name])
            if value is not None:
                values[name] = value
    if errors:
        raise ThemeInvalid(errors)
    problems = contrast_errors(values)
    if problems:
        raise ThemeInvalid(problems)
    return values


IMAGE_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def _check_upload(name: str, upload: UploadedFile | None, errors: list[ThemeError]) -> None:
    """Validate by content, then name the file after what it really is: a stored name never
    keeps the extension the uploader chose (``logo.html`` holding a PNG is stored as ``.png``)."""
    if upload is None:
        return
    try:
        upload.name = f"{name}.{IMAGE_EXTENSIONS[image_validate(upload)]}"
    except ValidationError as exc:
        label = "logo" if name == "logo" else "favicon"
        errors.append(ThemeError(name, exc.code or "invalid_image", f"The {label}: {' '.join(exc.messages)}"))


# --- Changing ----------------------------------------------------------------------------------


def _locked_row() -> Theme:
    theme = Theme.objects.select_for_update().first()
    if theme is not None:
        return theme
    try:
        with transaction.atomic():
            return Theme.objects.create()
    except IntegrityError:  # another request made the row meanwhile
        return Theme.objects.select_for_update().get()


@transaction.atomic
def theme_update(data: Mapping[str, object], *, tenant, logo: UploadedFile | None = None,
                 favicon: UploadedFile | None = None, remove_logo: bool = False,
                 remove_favicon: bool = False) -> Theme:
    """Change the theme: any of ``FIELDS`` and ``show_powered_by`` in ``data``, new or removed
    logo and favicon (JPEG, PNG or WebP, checked by content, at most 10 MB). All or nothing."""
    errors: list[ThemeError] = []
    show_powered_by = data.get("show_powered_by")
    if show_powered_by is not None and not isinstance(show_powered_by, bool):
        errors.append(ThemeError("show_powered_by", "invalid_type", "show_powered_by must be true or false."))
    elif show_powered_by is False and not white_label_allowed(tenant):
        plan = getattr(getattr(tenant, "plan", None), "name", "") or "current"
        errors.append(ThemeError(
            "show_powered_by", "plan_limit",
            f"Your {plan} plan shows “Powered by” on your site; hiding it needs a plan with white-label."))
    _check_upload("logo", logo, errors)
    _check_upload("favicon", favicon, errors)
    theme = _locked_row()
    try:
        values = theme_validate(data, current=theme_values(theme))
    except ThemeInvalid as exc:
        errors = exc.errors + errors
    if errors:
        raise ThemeInvalid(errors)

    old_files: list[str] = []
    for name, upload, remove in (("logo", logo, remove_logo), ("favicon", favicon, remove_favicon)):
        current = getattr(theme, name)
        if (upload is not None or remove) and current:
            old_files.append(current.name)
        if upload is not None:
            current.save(upload.name or name, upload, save=False)
        elif remove:
            setattr(theme, name, "")
    for name, value in values.items():
        setattr(theme, name, value)
    if show_powered_by is not None:
        theme.show_powered_by = show_powered_by
    theme.save()
    storage = Theme._meta.get_field("logo").storage
    transaction.on_commit(lambda: [storage.delete(name) for name in old_files])
    theme_cache_clear()
    return theme
