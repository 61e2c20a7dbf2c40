"""The blocks a tenant builds its pages from. Live blocks (offerings, consultants) read the
booking data when the page is shown, so a page never lists an archived offering."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ValidationError
from django.utils import timezone
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock


class LinkBlock(blocks.CharBlock):
    """A site path (``/book/``) or an http(s) address."""

    def __init__(self, **kwargs):
        super().__init__(max_length=500, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value and (value.startswith("//") or not (value.startswith("/") or re.match(r"^https?://", value))):
            raise ValidationError("Use a path on this site (starting with /) or an http(s) address.")
        return value


class HeroBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120)
    text = blocks.TextBlock(required=False, max_length=400)
    image = ImageChooserBlock(required=False)
    button_text = blocks.CharBlock(required=False, max_length=40, default="Book a call")
    button_link = LinkBlock(required=False, default="/book/")

    class Meta:
        template = "cms/blocks/hero.html"
        icon = "title"
        label = "Hero"


class ImageTextBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    heading = blocks.CharBlock(max_length=120, required=False)
    text = blocks.RichTextBlock(features=["bold", "italic", "link", "ol", "ul"])
    image_side = blocks.ChoiceBlock(choices=[("left", "Left"), ("right", "Right")], default="left")

    class Meta:
        template = "cms/blocks/image_text.html"
        icon = "image"
        label = "Image with text"


class OfferingsBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, default="Book a session")
    intro = blocks.TextBlock(required=False, max_length=400)
    limit = blocks.IntegerBlock(min_value=1, max_value=24, default=6)

    class Meta:
        template = "cms/blocks/offerings.html"
        icon = "date"
        label = "Live offerings"

    def get_context(self, value, parent_context=None):
        from booking.selectors import offering_public_list

        context = super().get_context(value, parent_context)
        context["offerings"] = offering_public_list(now=timezone.now())[: value["limit"]]
        return context


class ConsultantsBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, default="Our consultants")
    limit = blocks.IntegerBlock(min_value=1, max_value=24, default=6)

    class Meta:
        template = "cms/blocks/consultants.html"
        icon = "group"
        label = "Consultant cards"

    def get_context(self, value, parent_context=None):
        from consultants.selectors import profile_public_list

        context = super().get_context(value, parent_context)
        context["profiles"] = list(profile_public_list()[: value["limit"]])
        return context


class TestimonialBlock(blocks.StructBlock):
    quote = blocks.TextBlock(max_length=600)
    name = blocks.CharBlock(max_length=80)
    role = blocks.CharBlock(max_length=120, required=False)


class TestimonialsBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, default="What clients say")
    items = blocks.ListBlock(TestimonialBlock(), min_num=1)

    class Meta:
        template = "cms/blocks/testimonials.html"
        icon = "openquote"
        label = "Testimonials"


class QuestionBlock(blocks.StructBlock):
    question = blocks.CharBlock(max_length=200)
    answer = blocks.RichTextBlock(features=["bold", "italic", "link", "ol", "ul"])


class FaqBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120, default="Questions")
    items = blocks.ListBlock(QuestionBlock(), min_num=1)

    class Meta:
        template = "cms/blocks/faq.html"
        icon = "help"
        label = "FAQ"


class CallToActionBlock(blocks.StructBlock):
    heading = blocks.CharBlock(max_length=120)
    text = blocks.TextBlock(required=False, max_length=400)
    button_text = blocks.CharBlock(max_length=40, default="Book a call")
    button_link = LinkBlock(default="/book/")

    class Meta:
        template = "cms/blocks/cta.html"
        icon = "pick"
        label = "Call to action"


def video_embed_url(url: str) -> str | None:
    """The privacy-friendly player address of a YouTube or Vimeo link, or None. Built from the
    link itself: the server never asks the video site anything (no oEmbed at run time)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    video_id = None
    if host in ("youtu.be",):
        video_id = parts.path.strip("/").split("/")[0]
    elif host.endswith("youtube.com"):
        if parts.path == "/watch":
            video_id = (parse_qs(parts.query).get("v") or [None])[0]
        elif parts.path.startswith(("/embed/", "/shorts/", "/live/")):
            video_id = parts.path.split("/")[2]
        if video_id and re.fullmatch(r"[A-Za-z0-9_-]{6,20}", video_id):
            return f"https://www.youtube-nocookie.com/embed/{video_id}"
        return None
    if video_id and re.fullmatch(r"[A-Za-z0-9_-]{6,20}", video_id):
        return f"https://www.youtube-nocookie.com/embed/{video_id}"
    if host.endswith("vimeo.com"):
        number = parts.path.strip("/").split("/")[-1]
        if number.isdigit():
            return f"https://player.vimeo.com/video/{number}?dnt=1"
    return None


class VideoBlock(blocks.StructBlock):
    url = blocks.URLBlock(help_text="A YouTube or Vimeo link; other links are shown as a link.")
    caption = blocks.CharBlock(max_length=200, required=False)

    class Meta:
        template = "cms/blocks/video.html"
        icon = "media"
        label = "Embedded video"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context)
        context["embed_url"] = video_embed_url(value["url"])
        return context


class RichTextSection(blocks.RichTextBlock):
    class Meta:
        template = "cms/blocks/rich_text.html"
        icon = "doc-full"
        label = "Rich text"


def page_blocks() -> list[tuple[str, blocks.Block]]:
    return [
        ("hero", HeroBlock()),
        ("rich_text", RichTextSection(features=["h2", "h3", "bold", "italic", "link", "ol", "ul", "hr"])),
        ("image_text", ImageTextBlock()),
        ("offerings", OfferingsBlock()),
        ("consultants", ConsultantsBlock()),
        ("testimonials", TestimonialsBlock()),
        ("faq", FaqBlock()),
        ("call_to_action", CallToActionBlock()),
        ("video", VideoBlock()),
    ]
