"""A tenant's own site: a home page and content pages (about, terms, privacy), built from blocks."""

from __future__ import annotations

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page

from cms.blocks import page_blocks


class SitePage(Page):
    """What every page of a tenant's site has: a body of blocks and an image for social cards
    (title and description for search engines are Wagtail's own ``seo_title`` and
    ``search_description``)."""

    body = StreamField(page_blocks(), blank=True, use_json_field=True)
    social_image = models.ForeignKey("wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", help_text="Shown when the page is shared (1200×630).")

    content_panels = [*Page.content_panels, FieldPanel("body")]
    promote_panels = [*Page.promote_panels, FieldPanel("social_image")]

    class Meta:
        abstract = True

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        home = HomePage.objects.live().first()
        context["site_menu"] = list(home.get_children().live().in_menu().specific()) if home else []
        return context


class HomePage(SitePage):
    max_count = 1
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["cms.ContentPage"]
    template = "cms/home_page.html"

    class Meta:
        verbose_name = "Home page"


class ContentPage(SitePage):
    parent_page_types = ["cms.HomePage", "cms.ContentPage"]
    subpage_types = ["cms.ContentPage"]
    template = "cms/content_page.html"

    class Meta:
        verbose_name = "Content page"
