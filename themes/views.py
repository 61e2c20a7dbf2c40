from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.access import owner_required
from tenants.models import Plan
from themes.contrast import AA_TEXT
from themes.css import TINT_SHARE, inline_style
from themes.forms import ThemeForm
from themes.models import Theme
from themes.presets import CORNERS, FONTS, MODES, PRESETS
from themes.services import (
    FIELDS,
    SURFACES,
    ThemeInvalid,
    powered_by_shown,
    theme_get,
    theme_update,
    theme_values,
    white_label_allowed,
)


def _changes(cleaned: dict, theme: Theme) -> dict:
    """What the owner changed on the page. With the page's script the form holds the whole theme
    as previewed, and all of it is saved (a field set back to its saved value after choosing a
    preset must not take the preset's). Without it, a new preset fills every field left as it was."""
    current = theme_values(theme)
    if cleaned.get("complete"):
        data = {name: cleaned[name] for name in FIELDS}
    else:
        data = {name: cleaned[name] for name in FIELDS if cleaned[name] != current[name]}
    data["show_powered_by"] = cleaned["show_powered_by"]
    return data


def _preview_config() -> dict:
    """Everything the live preview needs to compute the page's variables as ``themes.css`` does."""
    return {
        "presets": {name: preset.values(name) for name, preset in PRESETS.items()},
        "modes": MODES, "fonts": {name: font.family for name, font in FONTS.items()},
        "corners": {name: list(radii) for name, radii in CORNERS.items()},
        "tintShare": TINT_SHARE, "aa": AA_TEXT, "surfaces": [list(pair) for pair in SURFACES],
    }


@owner_required
@require_http_methods(["GET", "POST"])
def theme_settings(request: HttpRequest) -> HttpResponse:
    theme = theme_get()
    white_label = white_label_allowed(request.tenant)
    initial = {**theme_values(theme), "show_powered_by": powered_by_shown(request.tenant, theme.show_powered_by)}
    form = ThemeForm(request.POST or None, request.FILES or None, initial=initial, white_label=white_label)
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        try:
            theme_update(_changes(cleaned, theme), tenant=request.tenant, logo=cleaned["logo"],
                         favicon=cleaned["favicon"], remove_logo=cleaned["remove_logo"],
                         remove_favicon=cleaned["remove_favicon"])
        except ThemeInvalid as exc:
            for error in exc.errors:
                form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Theme saved: your site, booking pages and emails use it now.")
            return redirect(request.path)
    failed = request.method == "POST"
    return render(request, "themes/settings.html", {
        "form": form, "saved_theme": theme, "preview_style": inline_style(theme_values(theme)),
        "preview_config": _preview_config(), "white_label": white_label,
        "white_label_plans": [] if white_label else list(
            Plan.objects.filter(white_label=True).values_list("name", flat=True)),
        "files_dropped": failed and bool(request.FILES),
    }, status=400 if failed else 200)
