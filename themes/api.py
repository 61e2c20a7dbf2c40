"""The owner's theme over the API (``/api/v1/me/theme``).

The body of ``PUT`` is read here rather than by a schema so that every refusal is one clear
sentence naming the field (``{"detail", "code", "field"}``), as the theme page shows them.
"""

from __future__ import annotations

import json

from django.http import HttpRequest
from ninja import Router

from accounts.models import User
from core.exceptions import PermissionDenied
from themes.presets import CORNERS, FONTS, MODES, PRESETS
from themes.services import FIELDS, ThemeError, ThemeInvalid, theme_get, theme_out, theme_update

router = Router(tags=["theme"])

# What GET answers besides the fields: accepted and ignored, so a script may send back what it read.
READ_ONLY = {"primary_text_color", "accent_text_color", "logo_url", "favicon_url"}

_COLOR = {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$", "nullable": True,
          "description": "#rrggbb; null takes the preset's value."}
_PUT_SCHEMA = {
    "type": "object",
    "required": list(FIELDS),
    "properties": {
        "preset": {"type": "string", "enum": list(PRESETS)},
        "primary_color": _COLOR,
        "accent_color": _COLOR,
        "font": {"type": "string", "enum": list(FONTS), "nullable": True},
        "mode": {"type": "string", "enum": list(MODES), "nullable": True},
        "corners": {"type": "string", "enum": list(CORNERS), "nullable": True},
        "show_powered_by": {"type": "boolean", "description": "Optional; false needs a white-label plan."},
    },
}
_PUT_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": _PUT_SCHEMA}}}}


def _owner(request: HttpRequest) -> User:
    user = request.auth
    if not user.is_owner:
        raise PermissionDenied("Only the owner changes the theme.")
    return user


def _refused(request: HttpRequest, exc: ThemeInvalid):
    errors = [{"field": e.field, "code": e.code, "detail": e.message} for e in exc.errors]
    from core.api import api

    return api.create_response(
        request, {"detail": exc.message, "code": exc.code, "field": exc.field, "errors": errors}, status=422)


def _body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ThemeInvalid([ThemeError("body", "invalid_json", "The body is not valid JSON.")]) from None
    if not isinstance(data, dict):
        raise ThemeInvalid([ThemeError("body", "invalid_body", "The body must be a JSON object with the theme's "
                                                               f"fields: {', '.join(FIELDS)}.")])
    missing = [name for name in FIELDS if name not in data]
    if missing:
        raise ThemeInvalid([ThemeError(name, "missing", f"{name} is required.") for name in missing])
    if data["preset"] is None:
        raise ThemeInvalid([ThemeError("preset", "invalid_type",
                                       f"preset must be a string, one of {', '.join(PRESETS)}.")])
    unknown = sorted(set(data) - set(FIELDS) - {"show_powered_by"} - READ_ONLY)
    if unknown:
        raise ThemeInvalid([ThemeError(name, "unknown_field", f"{name} is not a theme field.") for name in unknown])
    return data


@router.get("/theme")
def theme_read(request: HttpRequest):
    """The theme, with the button-label colours derived from the primary and accent colours."""
    _owner(request)
    return theme_out(theme_get(), tenant=request.tenant)


@router.put("/theme", openapi_extra=_PUT_DOC)
def theme_replace(request: HttpRequest):
    """Every field is required; a colour, font, mode or corners of null takes the preset's value.
    422 names the field, e.g. a primary colour that misses 4.5:1 as link text on the mode's background."""
    _owner(request)
    try:
        theme = theme_update(_body(request), tenant=request.tenant)
    except ThemeInvalid as exc:
        return _refused(request, exc)
    return theme_out(theme, tenant=request.tenant)


def _upload(request: HttpRequest, name: str):
    _owner(request)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ThemeInvalid([ThemeError(name, "missing",
                                           f"Send the {name} as a multipart form field named “file”.")])
        theme = theme_update({}, tenant=request.tenant, **{name: upload})
    except ThemeInvalid as exc:
        return _refused(request, exc)
    return theme_out(theme, tenant=request.tenant)


def _remove(request: HttpRequest, name: str):
    _owner(request)
    return theme_out(theme_update({}, tenant=request.tenant, **{f"remove_{name}": True}), tenant=request.tenant)


@router.post("/theme/logo")
def theme_logo_set(request: HttpRequest):
    """Multipart, field ``file``: a JPEG, PNG or WebP image (checked by content), at most 10 MB."""
    return _upload(request, "logo")


@router.delete("/theme/logo")
def theme_logo_remove(request: HttpRequest):
    return _remove(request, "logo")


@router.post("/theme/favicon")
def theme_favicon_set(request: HttpRequest):
    """Multipart, field ``file``: a JPEG, PNG or WebP image (checked by content), at most 10 MB."""
    return _upload(request, "favicon")


@router.delete("/theme/favicon")
def theme_favicon_remove(request: HttpRequest):
    return _remove(request, "favicon")
