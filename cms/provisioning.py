"""Every tenant's site starts with a ready home page: its name, a hero, its live offerings, its
consultants and a call to book. The page lives in the template schema new tenants are cloned
from, so provisioning only writes the tenant's name into it (no page tree is built per sign-up)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from wagtail.models import Page, Site

from cms.models import HomePage

PLACEHOLDER_NAME = "Your consultancy"
WAGTAIL_WELCOME_TITLE = "Welcome to your new Wagtail site!"
EDITORS_GROUP = "Moderators"  # Wagtail's group that may edit and publish every page


def default_body(name: str) -> list[dict]:
    return [
        {"type": "hero", "value": {
            "heading": name, "image": None, "button_text": "Book a call", "button_link": "/book/",
            "text": f"Book a consultation with {name}: pick a time that suits you, pay securely and meet online."}},
        {"type": "offerings", "value": {"heading": "Book a session", "intro": "", "limit": 6}},
        {"type": "consultants", "value": {"heading": "Meet the team", "limit": 6}},
        {"type": "call_to_action", "value": {
            "heading": "Ready when you are", "text": "Choose a time that suits you and meet online.",
            "button_text": "See available times", "button_link": "/book/"}},
    ]


def home_page_ensure() -> HomePage:
    """The schema's home page (made once, in place of Wagtail's placeholder page), and its Site."""
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()
        for placeholder in root.get_children().filter(title=WAGTAIL_WELCOME_TITLE, content_type__model="page"):
            if not placeholder.get_children().exists():
                Site.objects.filter(root_page=placeholder).update(root_page=root)
                placeholder.delete()
        home = HomePage(title=PLACEHOLDER_NAME, slug="home", body=default_body(PLACEHOLDER_NAME))
        root.add_child(instance=home)
        home.save_revision().publish()
    site = Site.objects.filter(is_default_site=True).first() or Site(is_default_site=True)
    if site.root_page_id != home.pk:
        site.root_page = home
        site.hostname = site.hostname or "localhost"
        site.save()
    return home


def site_personalize(*, name: str, hostname: str, owner=None) -> HomePage:
    """Write the tenant's name and host into its site, and let the owner edit it at /cms/."""
    home = home_page_ensure()
    if home.title == PLACEHOLDER_NAME:
        home.title = name
        home.body = default_body(name)
        home.seo_title = name
        home.search_description = f"Book a consultation with {name}."
        home.save_revision().publish()
    site_hostname_set(hostname, site_name=name)
    if owner is not None:
        group = Group.objects.filter(name=EDITORS_GROUP).first()
        if group is not None:
            owner.groups.add(group)
    return home


def site_hostname_set(hostname: str, *, site_name: str | None = None) -> None:
    """Point the schema's site at the tenant's primary host (its pages' full URLs use it)."""
    port = int(settings.PUBLIC_URL_PORT or (443 if settings.PUBLIC_URL_SCHEME == "https" else 80))
    changes = {"hostname": hostname, "port": port}
    if site_name is not None:
        changes["site_name"] = site_name[:255]
    Site.objects.filter(is_default_site=True).update(**changes)
    Site.clear_site_root_paths_cache()
