"""Each tenant's own site: the home page a new tenant starts with, live blocks, the editor at
/cms/ per role and per host, per-tenant media, drafts, and sitemap/robots per tenant."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.images import ImageFile
from django_tenants.utils import schema_context, tenant_context
from PIL import Image as PILImage

from conftest import ALPHA_OWNER_PASSWORD, BETA_OWNER_PASSWORD

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


def test_a_new_tenant_starts_with_a_ready_home_page(client, platform_host):
    from cms.models import HomePage
    from tenants.services import tenant_provision

    tenant = tenant_provision(slug="fresh", name="Fresh Advice", owner_name="Fay Fresh",
                              owner_email="fay@fresh.example", owner_password="fresh-owner-pass-1").tenant
    with tenant_context(tenant):
        home = HomePage.objects.get()
        assert home.live and home.title == "Fresh Advice"
        assert [block.block_type for block in home.body] == ["hero", "offerings", "consultants", "call_to_action"]
        from wagtail.models import Site

        site = Site.objects.get(is_default_site=True)
        assert site.root_page_id == home.pk and site.hostname == "fresh.localhost"
    page = client.get("/", HTTP_HOST="fresh.localhost")
    body = _text(page)
    assert page.status_code == 200
    assert "<h1>Fresh Advice</h1>" in body and "Book a consultation with Fresh Advice" in body
    assert 'href="/book/"' in body and "Meet the team" in body


def test_the_offerings_block_shows_live_offerings_and_hides_archived_ones(client, tenant_alpha, alpha_host):
    from accounts.models import User
    from booking.offerings import offering_archive, offering_create

    with tenant_context(tenant_alpha):
        owner = User.objects.get(email="alice@alpha.example")
        kept = offering_create(consultant=owner, kind="individual", data={
            "title": "Tax check-up", "duration_minutes": 45, "price_amount": 9000, "currency": "EUR"})
        gone = offering_create(consultant=owner, kind="individual", data={
            "title": "Old workshop format", "duration_minutes": 45, "price_amount": 0, "currency": "EUR"})
        offering_archive(consultant=owner, offering_id=str(gone.public_id))
    body = _text(client.get("/", HTTP_HOST=alpha_host))
    assert "Tax check-up" in body and f"/book/{kept.public_id}/" in body
    assert "Old workshop format" not in body


def test_the_editor_is_for_the_owner_and_people_they_let(client, login, tenant_alpha, alpha_host, make_member):
    make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora Consultant")
    anonymous = client.get("/cms/", HTTP_HOST=alpha_host)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/?next=/cms/")

    login(client, alpha_host, "cora@alpha.example")
    assert client.get("/cms/", HTTP_HOST=alpha_host).status_code in (302, 403)
    client.logout()

    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    editor = client.get("/cms/", HTTP_HOST=alpha_host)
    assert editor.status_code == 200
    assert "gravatar" not in editor.content.decode()  # nothing fetched from third parties
    with tenant_context(tenant_alpha):
        from accounts.models import User

        cora = User.objects.get(email="cora@alpha.example")
    granted = client.post(f"/team/{cora.pk}/site-editor/", {"allowed": "1"}, HTTP_HOST=alpha_host)
    assert granted.status_code == 302
    client.logout()
    login(client, alpha_host, "cora@alpha.example")
    assert client.get("/cms/", HTTP_HOST=alpha_host).status_code == 200
    client.logout()

    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    client.post(f"/team/{cora.pk}/site-editor/", {"allowed": "0"}, HTTP_HOST=alpha_host)
    client.logout()
    login(client, alpha_host, "cora@alpha.example")
    assert client.get("/cms/", HTTP_HOST=alpha_host).status_code in (302, 403)


def test_nobody_reaches_a_tenants_editor_from_another_host(client, login, alpha_host, beta_host, platform_host,
                                                            staff_client, tenant_beta):
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    editor = client.get("/cms/", HTTP_HOST=alpha_host)
    assert editor.status_code == 200
    # The editor names the tenant's site, not the platform (nor Wagtail).
    title = editor.content.decode().split("<title>", 1)[1].split("</title>", 1)[0]
    assert "Alpha Advisory site editor" in title and "Wagtail" not in title
    # Wagtail's own uses of the site name (e.g. "type the site's name to confirm") follow the tenant too.
    with tenant_context(tenant_beta):
        assert str(settings.WAGTAIL_SITE_NAME) == "Beta Coaching"
    with schema_context("public"):
        assert str(settings.WAGTAIL_SITE_NAME) == "Consultio"
    # Alpha's session means nothing on beta's host, and the platform host has no editor at all.
    assert client.get("/cms/", HTTP_HOST=beta_host).status_code == 302
    assert client.get("/cms/", HTTP_HOST=platform_host).status_code == 404
    assert staff_client.get("/cms/", HTTP_HOST=alpha_host).status_code == 302
    # Alpha's owner cannot sign in on beta with alpha's password either.
    refused = client.post("/login/", {"username": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD},
                          HTTP_HOST=beta_host)
    assert refused.status_code == 200


def _image(title: str, colour=(30, 90, 160), name: str = "cover.png"):
    from wagtail.images.models import Image

    buffer = io.BytesIO()
    PILImage.new("RGB", (800, 600), colour).save(buffer, "PNG")
    return Image.objects.create(title=title, file=ImageFile(buffer, name=name))


def _colour(response) -> tuple:
    return PILImage.open(io.BytesIO(b"".join(response.streaming_content))).convert("RGB").getpixel((10, 10))


def test_images_and_renditions_are_kept_per_tenant(client, tenant_alpha, tenant_beta, alpha_host, beta_host):
    """Two tenants upload files of the same name and make the same rendition: each host serves
    its own, from its own folder."""
    red, blue = (200, 20, 20), (20, 20, 200)
    with tenant_context(tenant_alpha):
        alpha_rendition = _image("Alpha office", red).get_rendition("fill-720x480")
        alpha_only = _image("Alpha team", red, name="alpha-team.png").get_rendition("fill-300x200")
        alpha_path = Path(alpha_rendition.file.path)
    with tenant_context(tenant_beta):
        beta_rendition = _image("Beta office", blue).get_rendition("fill-720x480")
        beta_path = Path(beta_rendition.file.path)
    media = Path(settings.MEDIA_ROOT)
    assert alpha_path.is_relative_to(media / tenant_alpha.schema_name)
    assert beta_path.is_relative_to(media / tenant_beta.schema_name)
    assert alpha_rendition.url == beta_rendition.url and alpha_path != beta_path
    assert _colour(client.get(alpha_rendition.url, HTTP_HOST=alpha_host)) == red
    assert _colour(client.get(beta_rendition.url, HTTP_HOST=beta_host)) == blue
    assert client.get(alpha_only.url, HTTP_HOST=alpha_host).status_code == 200
    assert client.get(alpha_only.url, HTTP_HOST=beta_host).status_code == 404


def test_a_hero_image_and_a_content_page_render_on_the_site(client, tenant_alpha, alpha_host):
    from cms.models import ContentPage, HomePage

    with tenant_context(tenant_alpha):
        image = _image("Our office")
        home = HomePage.objects.get()
        raw = list(home.body.raw_data)
        raw[0] = {"type": "hero", "value": {**raw[0]["value"], "image": image.pk}}
        home.body = raw
        home.save_revision().publish()
        about = ContentPage(title="About us", slug="about", show_in_menus=True, body=[
            {"type": "rich_text", "value": "<p>Founded in 2019.</p>"},
            {"type": "faq", "value": {"heading": "Questions", "items": [
                {"question": "Do you work remotely?", "answer": "<p>Yes, always.</p>"}]}},
            {"type": "video", "value": {"url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "caption": "Intro"}},
        ])
        home.add_child(instance=about)
        about.save_revision().publish()
    home_html = _text(client.get("/", HTTP_HOST=alpha_host))
    assert 'class="hero-image"' in home_html and '<a href="/about/">About us</a>' in home_html
    about_html = _text(client.get("/about/", HTTP_HOST=alpha_host))
    assert "Founded in 2019." in about_html and "<summary>Do you work remotely?</summary>" in about_html
    assert "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ" in about_html


def test_drafts_stay_unpublished_until_published_and_the_owner_can_preview_them(client, login, tenant_alpha,
                                                                                  alpha_host):
    from cms.models import HomePage

    with tenant_context(tenant_alpha):
        home = HomePage.objects.get()
        draft = home.get_latest_revision_as_object()
        raw = list(draft.body.raw_data)
        raw[0] = {"type": "hero", "value": {**raw[0]["value"], "heading": "Alpha Advisory — spring offer"}}
        draft.body = raw
        draft.save_revision()
        home_id = home.pk
    assert "spring offer" not in _text(client.get("/", HTTP_HOST=alpha_host))
    login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)
    preview = client.get(f"/cms/pages/{home_id}/view_draft/", HTTP_HOST=alpha_host)
    assert preview.status_code == 200 and "spring offer" in _text(preview)
    with tenant_context(tenant_alpha):
        HomePage.objects.get().get_latest_revision().publish()
    assert "spring offer" in _text(client.get("/", HTTP_HOST=alpha_host))


def test_sitemap_and_robots_are_per_tenant(client, alpha_host, beta_host):
    alpha = _text(client.get("/sitemap.xml", HTTP_HOST=alpha_host))
    beta = _text(client.get("/sitemap.xml", HTTP_HOST=beta_host))
    assert "alpha.localhost" in alpha and "beta.localhost" not in alpha
    assert "beta.localhost" in beta
    robots = client.get("/robots.txt", HTTP_HOST=beta_host)
    assert robots["Content-Type"].startswith("text/plain")
    assert "Disallow: /cms/" in _text(robots) and "Sitemap: http://beta.localhost" in _text(robots)


@pytest.mark.parametrize(("url", "embed"), [
    ("https://youtu.be/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=4", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871?dnt=1"),
    ("https://example.com/video.mp4", None),
    ("https://www.youtube.com/watch?v=<script>", None),
])
def test_video_links_become_players_without_asking_the_video_site(url, embed):
    from cms.blocks import video_embed_url

    assert video_embed_url(url) == embed


def test_button_links_must_be_site_paths_or_web_addresses():
    from django.core.exceptions import ValidationError

    from cms.blocks import LinkBlock

    block = LinkBlock()
    assert block.clean("/book/") == "/book/"
    assert block.clean("https://example.com/") == "https://example.com/"
    for bad in ("javascript:alert(1)", "book", "ftp://x", "//evil.example/"):
        with pytest.raises(ValidationError):
            block.clean(bad)


def test_beta_owner_edits_only_betas_pages(client, login, tenant_alpha, beta_host):
    from cms.models import HomePage

    with schema_context(tenant_alpha.schema_name):
        alpha_home_id = HomePage.objects.get().pk
    login(client, beta_host, "bob@beta.example", BETA_OWNER_PASSWORD)
    with schema_context("t_beta"):
        beta_ids = set(HomePage.objects.values_list("pk", flat=True))
    if alpha_home_id not in beta_ids:  # the same id may exist in both schemas: it is then beta's page
        assert client.get(f"/cms/pages/{alpha_home_id}/edit/", HTTP_HOST=beta_host).status_code == 404
    edit = client.get(f"/cms/pages/{min(beta_ids)}/edit/", HTTP_HOST=beta_host)
    assert edit.status_code == 200 and "Beta Coaching" in _text(edit) and "Alpha Advisory" not in _text(edit)


def test_the_editor_has_no_sign_in_or_reset_of_its_own(client, alpha_host):
    """Wagtail's own pages would skip the tenant's throttled sign-in and its reset rules."""
    login_page = client.get("/cms/login/", HTTP_HOST=alpha_host)
    assert login_page.status_code == 302 and login_page["Location"] == "/login/?next=/cms/"
    posted = client.post("/cms/login/", {"username": "alice@alpha.example", "password": ALPHA_OWNER_PASSWORD},
                         HTTP_HOST=alpha_host)
    assert posted.status_code == 302 and posted["Location"].startswith("/login/")
    assert client.get("/cms/", HTTP_HOST=alpha_host).status_code == 302  # still signed out
    reset = client.get("/cms/password_reset/", HTTP_HOST=alpha_host)
    assert reset.status_code == 302 and reset["Location"] == "/password-reset/"


def test_media_serves_images_and_documents_only(client, tenant_alpha, alpha_host):
    """Whatever a stored file is called, the media view never serves it as a page."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    with tenant_context(tenant_alpha):
        html = default_storage.save("themes/trick.html", ContentFile(b"<script>alert(1)</script>"))
        png = default_storage.save("themes/fine.png", ContentFile(b"\x89PNG\r\n\x1a\n"))
    assert client.get(f"/media/{html}", HTTP_HOST=alpha_host).status_code == 404
    assert client.get(f"/media/{png}", HTTP_HOST=alpha_host).status_code == 200
