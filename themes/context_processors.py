"""``theme`` for every template on a tenant host; None on the platform host, which keeps the default look."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.safestring import SafeString

from themes.services import ThemeStyle, powered_by_shown, theme_style


class PageTheme:
    """What ``templates/base.html`` reads: the cached style, and "Powered by" as the plan allows."""

    def __init__(self, style: ThemeStyle, *, show_powered_by: bool) -> None:
        self.style = style
        self.show_powered_by = show_powered_by
        self.mode = style.mode
        self.font_bundled = style.font_bundled
        self.logo_url = style.logo_url
        self.favicon_url = style.favicon_url
        self.primary_color = style.primary_color

    @property
    def css(self) -> SafeString:
        return self.style.root_css


def theme(request: HttpRequest) -> dict:
    """Costs no query when the tenant's theme is cached and one otherwise: the plan comes with the
    tenant, which the tenant middleware loads with it."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_public:
        return {"theme": None}
    style = theme_style()
    return {"theme": PageTheme(style, show_powered_by=powered_by_shown(tenant, style.show_powered_by))}
