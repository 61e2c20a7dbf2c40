"""``{% email_brand as brand %}``: the current tenant's colours and logo for an email template,
which is rendered without a request (so without context processors)."""

from __future__ import annotations

from django import template

from core.urls import host_url
from themes.contrast import text_color_on
from themes.presets import DEFAULT_PRESET, PRESETS

register = template.Library()


def _default() -> dict[str, str]:
    color = PRESETS[DEFAULT_PRESET].primary_color
    return {"color": color, "text_color": text_color_on(color), "link_color": color, "logo_url": ""}


@register.simple_tag
def email_brand() -> dict[str, str]:
    from notifications.outbox import current_tenant
    from themes.services import email_brand as brand_of

    tenant = current_tenant()
    if tenant is None:  # the platform's own emails: its default look
        return _default()
    return brand_of(site_url=host_url(tenant.primary_domain))
