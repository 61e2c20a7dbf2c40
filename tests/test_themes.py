"""Themes: the contrast rule, the owner's API and page, each tenant's brand on its own pages and
emails, "Powered by" per plan, and the cached style's cost."""

from __future__ import annotations

import io
import itertools
from dataclasses import asdict
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from PIL import Image

from accounts.models import User
from conftest import ALPHA_OWNER_PASSWORD, BETA_OWNER_PASSWORD, MEMBER_PASSWORD
from consultants.models import Profile
from tenants.models import Plan
from themes.context_processors import theme as theme_context
from themes.contrast import (
    contrast_ratio,
    darken_until,
    format_ratio,
    passes_aa,
    relative_luminance,
    text_color_on,
)
from themes.css import root_css, variables
from themes.models import Theme
from themes.presets import CORNERS, FONTS, MODES, PRESETS
from themes.services import CACHE_KEY, CACHE_SECONDS, ThemeInvalid, contrast_errors, style_of, theme_update

ALPHA_THEME = {"preset": "calm", "primary_color": "#0b6e4f", "accent_color": "#d9825b", "font": "lora",
               "mode": "light", "corners": "rounded"}
BETA_THEME = {"preset": "bold", "primary_color": "#ff6b9a", "accent_color": "#ffd400", "font": "merriweather",
              "mode": "dark", "corners": "square"}


@pytest.fixture(autouse=True)
def _fresh_theme_cache(tenant_alpha, tenant_beta):
    """Cached styles outlive a test's rolled-back rows: each test starts cold, and leaves the session
    tenants' caches holding what their committed state (no theme row) gives, so query counts
    pinned elsewhere do not depend on whether this module ran first."""

    def each(action):
        for tenant in (tenant_alpha, tenant_beta):
            with tenant_context(tenant):
                action()
        connection.set_schema_to_public()

    each(lambda: cache.delete(CACHE_KEY))
    yield
    each(lambda: cache.set(CACHE_KEY, asdict(style_of(Theme())), CACHE_SECONDS))


def png(size=(120, 40), color=(11, 110, 79)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def token_for(client, host: str, email: str, password: str = MEMBER_PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", {"email": email, "password": password},
                           content_type="application/json", HTTP_HOST=host)
    assert response.status_code == 200, response.content
    return response.json()["access"]


def put_theme(api, body, **kwargs):
    return api.call("put", "/me/theme", body, **kwargs)


@pytest.fixture
def owner_token(client, alpha_host) -> str:
    return token_for(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)


@pytest.fixture
def upload(client, alpha_host, owner_token):
    """A multipart request to the theme API as alpha's owner."""

    def send(path: str, data: dict | None = None):
        return client.post(f"/api/v1{path}", data or {}, HTTP_HOST=alpha_host,
                           HTTP_AUTHORIZATION=f"Bearer {owner_token}")

    return send


def stored(tenant) -> dict | None:
    with tenant_context(tenant):
        theme = Theme.objects.first()
        values = None if theme is None else {
            "preset": theme.preset, "primary_color": theme.primary_color, "accent_color": theme.accent_color,
            "font": theme.font, "mode": theme.mode, "corners": theme.corners, "logo": theme.logo.name,
            "show_powered_by": theme.show_powered_by}
    connection.set_schema_to_public()
    return values


def set_plan(tenant, name: str) -> None:
    tenant.plan = Plan.objects.get(name=name)
    tenant.save(update_fields=["plan"])


# --- The contrast formula --------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("#000000", "#ffffff", "21"),
    ("#ffffff", "#000000", "21"),  # either order
    ("#777777", "#ffffff", "4.47"),  # 4.478…: cut, never rounded up to a passing 4.5
    ("#767676", "#ffffff", "4.54"),  # the lightest grey that passes on white
    ("#ffffff", "#ffffff", "1"),
    ("#1f5fbf", "#ffffff", "6.09"),
    ("#ffd400", "#ffffff", "1.43"),
])
def test_contrast_ratio_follows_wcag(first, second, expected):
    assert format_ratio(contrast_ratio(first, second)) == expected


def test_contrast_formula_pinned_to_known_values():
    assert relative_luminance("#ffffff") == pytest.approx(1.0)
    assert relative_luminance("#000000") == 0.0
    assert relative_luminance("#808080") == pytest.approx(0.2158605, abs=1e-6)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.478, abs=0.001)
    assert round(contrast_ratio("#777777", "#ffffff"), 2) == 4.48
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert not passes_aa("#777777", "#ffffff") and passes_aa("#767676", "#ffffff")


def test_derived_text_colour_always_reaches_aa():
    for r, g, b in itertools.product(range(0, 256, 15), repeat=3):
        color = f"#{r:02x}{g:02x}{b:02x}"
        assert contrast_ratio(text_color_on(color), color) >= 4.5, color
    assert text_color_on("#1f5fbf") == "#ffffff" and text_color_on("#ffd400") == "#000000"


def test_email_colour_is_darkened_only_when_needed():
    assert darken_until("#1f5fbf", "#ffffff") == "#1f5fbf"
    darker = darken_until("#ffd400", "#ffffff")
    assert darker != "#ffd400" and contrast_ratio(darker, "#ffffff") >= 4.5


def test_presets_and_palettes_pass_their_own_rules():
    for name, preset in PRESETS.items():
        assert contrast_errors(preset.values(name)) == [], name
    for mode, palette in MODES.items():
        for surface in ("bg", "card"):
            for text in ("text", "muted", "danger"):
                assert passes_aa(palette[text], palette[surface]), (mode, text, surface)
        assert contrast_ratio(palette["field-border"], palette["card"]) >= 3, mode


def test_css_carries_every_property():
    css = root_css(ALPHA_THEME)
    for name in ("--primary:#0b6e4f", "--primary-text:#ffffff", "--accent:#d9825b", "--accent-text:#000000",
                 "--bg:#f7f8fa", "--card:#ffffff", "--text:#1b1f24", "--muted:#5b6470", "--radius:8px",
                 '--font:"Lora"'):
        assert name in css
    dark = variables(BETA_THEME)
    assert (dark["--bg"], dark["--radius"], dark["color-scheme"]) == (MODES["dark"]["bg"], CORNERS["square"][0],
                                                                      "dark")
    assert dark["--font"] == FONTS["merriweather"].family
    # Whatever reaches the <style> element is a checked value: anything else falls back to the default.
    assert "</style>" not in root_css({"primary_color": "red;}</style><script>", "accent_color": "#000000",
                                       "font": "x", "mode": "y", "corners": "z"})


# --- The API ---------------------------------------------------------------------------------------


def test_get_theme_answers_the_default_until_one_is_saved(alpha_api):
    response = alpha_api.call("get", "/me/theme")
    assert response.status_code == 200
    assert response.json() == {
        "preset": "classic", "primary_color": "#1f5fbf", "accent_color": "#1f5fbf",
        "primary_text_color": "#ffffff", "accent_text_color": "#ffffff", "font": "system", "mode": "light",
        "corners": "rounded", "logo_url": None, "favicon_url": None, "show_powered_by": True}


def test_put_theme_saves_and_returns_it(alpha_api, tenant_alpha):
    response = put_theme(alpha_api, {**ALPHA_THEME, "primary_color": "#0B6E4F"})
    assert response.status_code == 200, response.content
    assert response.json() == {**ALPHA_THEME, "primary_text_color": "#ffffff", "accent_text_color": "#000000",
                               "logo_url": None, "favicon_url": None, "show_powered_by": True}
    assert alpha_api.call("get", "/me/theme").json()["primary_color"] == "#0b6e4f"
    assert stored(tenant_alpha)["font"] == "lora"


def test_a_preset_fills_the_fields_given_as_null(alpha_api):
    response = put_theme(alpha_api, {"preset": "bold", "primary_color": None, "accent_color": "#5eead4",
                                     "font": None, "mode": None, "corners": None})
    assert response.status_code == 200, response.content
    body = response.json()
    bold = PRESETS["bold"]
    assert (body["primary_color"], body["accent_color"], body["font"], body["mode"], body["corners"]) == (
        bold.primary_color, "#5eead4", bold.font, bold.mode, bold.corners)
    assert body["primary_text_color"] == "#000000"


def test_a_read_theme_can_be_sent_back_as_it_is(alpha_api):
    read = alpha_api.call("get", "/me/theme").json()
    assert put_theme(alpha_api, read).status_code == 200


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"primary_color": "#ffd400"}, "primary_color",
     "primary_color #ffd400 on the light background #f7f8fa has a contrast of 1.34:1; text needs at least 4.5:1"),
    ({"primary_color": "#777777"}, "primary_color", "on the light background #f7f8fa has a contrast of 4.21:1"),
    ({"primary_color": "#1f4e99", "mode": "dark"}, "primary_color",
     "primary_color #1f4e99 on the dark card background #1c1f24 has a contrast of 2.05:1"),
])
def test_contrast_refusal_names_the_pair_and_changes_nothing(alpha_api, tenant_alpha, body, field, words):
    assert put_theme(alpha_api, ALPHA_THEME).status_code == 200
    before = stored(tenant_alpha)
    response = put_theme(alpha_api, {**ALPHA_THEME, **body})
    assert response.status_code == 422, response.content
    answer = response.json()
    assert (answer["code"], answer["field"]) == ("contrast", field)
    assert words in answer["detail"] and "WCAG AA" in answer["detail"]
    assert stored(tenant_alpha) == before


@pytest.mark.parametrize(("changes", "field", "code", "words"), [
    ({"primary_color": "red"}, "primary_color", "invalid_color", "“red” is not a colour written as #rrggbb"),
    ({"accent_color": "#fff"}, "accent_color", "invalid_color", "“#fff” is not a colour written as #rrggbb"),
    ({"accent_color": "#gg0000"}, "accent_color", "invalid_color", "six hexadecimal digits"),
    ({"preset": "neon"}, "preset", "unknown_preset", "Unknown preset “neon”: choose one of “classic”, “calm”"),
    ({"font": "comic-sans"}, "font", "unknown_font", "Unknown font “comic-sans”"),
    ({"mode": "sepia"}, "mode", "invalid_choice", "Unknown mode “sepia”: choose one of “light”, “dark”."),
    ({"corners": "round"}, "corners", "invalid_choice", "Unknown corners “round”"),
    ({"primary_color": 1193046}, "primary_color", "invalid_type", "primary_color must be a string"),
    ({"font": ["inter"]}, "font", "invalid_type", "font must be a string"),
    ({"preset": None}, "preset", "invalid_type", "preset must be a string"),
    ({"mode": True}, "mode", "invalid_type", "mode must be a string"),
    ({"show_powered_by": "no"}, "show_powered_by", "invalid_type", "show_powered_by must be true or false."),
    ({"logo": "x.png"}, "logo", "unknown_field", "logo is not a theme field."),
])
def test_invalid_input_is_refused_clearly_and_changes_nothing(alpha_api, tenant_alpha, changes, field, code, words):
    assert put_theme(alpha_api, ALPHA_THEME).status_code == 200
    before = stored(tenant_alpha)
    response = put_theme(alpha_api, {**ALPHA_THEME, **changes})
    assert response.status_code == 422, response.content
    answer = response.json()
    assert (answer["field"], answer["code"]) == (field, code)
    assert words in answer["detail"]
    assert stored(tenant_alpha) == before


def test_missing_fields_and_bad_bodies_are_refused(alpha_api, tenant_alpha, client, alpha_host, owner_token):
    response = put_theme(alpha_api, {"preset": "calm", "primary_color": "#0b6e4f"})
    assert response.status_code == 422
    answer = response.json()
    assert answer["code"] == "missing"
    assert [e["field"] for e in answer["errors"]] == ["accent_color", "font", "mode", "corners"]
    assert "accent_color is required." in answer["detail"]
    assert put_theme(alpha_api, ["calm"]).json()["code"] == "invalid_body"
    bad_json = client.put("/api/v1/me/theme", "{not json", content_type="application/json", HTTP_HOST=alpha_host,
                          HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    assert bad_json.status_code == 422 and bad_json.json()["code"] == "invalid_json"
    assert stored(tenant_alpha) is None


def test_several_problems_are_all_named(alpha_api):
    answer = put_theme(alpha_api, {**ALPHA_THEME, "primary_color": "blue", "font": "papyrus"}).json()
    assert {e["field"] for e in answer["errors"]} == {"primary_color", "font"}


def test_only_the_owner_reads_or_changes_the_theme(client, alpha_api, alpha_host, make_member, tenant_alpha):
    make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora Consultant")
    make_member(tenant_alpha, "assistant", "ann@alpha.example", "Ann Assistant")
    for email in ("cora@alpha.example", "ann@alpha.example"):
        token = token_for(client, alpha_host, email)
        assert alpha_api.call("get", "/me/theme", token=token).status_code == 403
        response = put_theme(alpha_api, ALPHA_THEME, token=token)
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
        assert alpha_api.call("post", "/me/theme/logo", token=token).status_code == 403
    assert alpha_api.call("get", "/me/theme", auth=False).status_code == 401
    assert stored(tenant_alpha) is None


def test_a_token_of_another_tenant_is_refused(client, alpha_api, beta_host):
    beta_token = token_for(client, beta_host, "bob@beta.example", BETA_OWNER_PASSWORD)
    assert alpha_api.call("get", "/me/theme", token=beta_token).status_code == 401


# --- Logo and favicon ------------------------------------------------------------------------------


def test_logo_and_favicon_upload_and_show_on_pages(client, upload, alpha_api, alpha_host, tenant_alpha):
    # Named .html by the uploader: stored under the name of what it really is.
    response = upload("/me/theme/logo", {"file": SimpleUploadedFile("brand.html", png())})
    assert response.status_code == 200, response.content
    logo_url = response.json()["logo_url"]
    assert logo_url.startswith("/media/themes/logo-") and logo_url.endswith(".png")
    favicon = upload("/me/theme/favicon", {"file": SimpleUploadedFile("icon.png", png((64, 64)))}).json()["favicon_url"]
    page = client.get("/c/", HTTP_HOST=alpha_host).content.decode()
    assert f'<img class="brand-logo" src="{logo_url}" alt="Alpha Advisory">' in page
    assert f'<link rel="icon" href="{favicon}">' in page and 'href="data:,"' not in page
    assert client.get(logo_url, HTTP_HOST=alpha_host).status_code == 200
    # The account emails show it too, by absolute URL (emails have no host to resolve it against).
    with tenant_context(tenant_alpha):
        html = render_to_string("emails/verify_email.html", {
            "site_name": "Alpha Advisory", "user": User.objects.get(email="alice@alpha.example"), "url": "x",
            "hours": 48})
    assert f'src="http://alpha.localhost:8000{logo_url}"' in html
    removed = alpha_api.call("delete", "/me/theme/logo")
    assert removed.status_code == 200 and removed.json()["logo_url"] is None
    assert "brand-logo" not in client.get("/c/", HTTP_HOST=alpha_host).content.decode()


def test_a_logo_that_is_not_an_image_is_refused(upload, tenant_alpha):
    response = upload("/me/theme/logo", {"file": SimpleUploadedFile("logo.png", b"<svg>not really a png</svg>")})
    assert response.status_code == 422
    answer = response.json()
    assert (answer["field"], answer["code"]) == ("logo", "not_an_image")
    assert answer["detail"] == "The logo: This file is not a JPEG, PNG or WebP image."
    assert stored(tenant_alpha) is None


def test_a_logo_over_10_mb_is_refused(upload, tenant_alpha):
    big = png() + b"\0" * (10 * 1024 * 1024)
    response = upload("/me/theme/favicon", {"file": SimpleUploadedFile("icon.png", big)})
    assert response.status_code == 422
    answer = response.json()
    assert (answer["field"], answer["code"]) == ("favicon", "too_large")
    assert "the limit is 10 MB" in answer["detail"]
    missing = upload("/me/theme/logo")
    assert missing.status_code == 422 and missing.json()["code"] == "missing"
    assert stored(tenant_alpha) is None


def test_a_refused_change_keeps_the_logo_it_came_with_out(tenant_alpha, settings):
    from pathlib import Path

    folder = Path(settings.MEDIA_ROOT) / tenant_alpha.schema_name / "themes"
    files_before = set(folder.iterdir()) if folder.exists() else set()
    with tenant_context(tenant_alpha), pytest.raises(ThemeInvalid) as refused:
        theme_update({"primary_color": "#ffd400"}, tenant=tenant_alpha,
                     logo=SimpleUploadedFile("logo.png", png()))
    connection.set_schema_to_public()
    assert refused.value.code == "contrast"
    assert stored(tenant_alpha) is None
    assert (set(folder.iterdir()) if folder.exists() else set()) == files_before


# --- Each tenant's brand on its own pages and emails ----------------------------------------------


@pytest.fixture
def branded(alpha_api, client, beta_host, tenant_alpha, tenant_beta):
    """Alpha and beta with their own themes, an offering each and alpha's owner on a public page."""
    from booking.availability import PeriodIn, availability_replace
    from booking.offerings import offering_create

    assert put_theme(alpha_api, ALPHA_THEME).status_code == 200
    beta_token = token_for(client, beta_host, "bob@beta.example", BETA_OWNER_PASSWORD)
    assert put_theme(alpha_api, BETA_THEME, host=beta_host, token=beta_token).status_code == 200
    offerings = {}
    for tenant, email in ((tenant_alpha, "alice@alpha.example"), (tenant_beta, "bob@beta.example")):
        with tenant_context(tenant):
            owner = User.objects.get(email=email)
            Profile.objects.filter(user=owner).update(photo="profiles/p.png", headline="Adviser",
                                                      description="Advice.", languages=["en"])
            availability_replace(consultant=owner, time_zone="Europe/Kyiv",
                                 weekly=[(d, PeriodIn("10:00", "12:00")) for d in range(7)], overrides=[])
            offerings[tenant.slug] = offering_create(consultant=owner, kind="individual", data={
                "title": "Strategy call", "duration_minutes": 60, "price_amount": 0, "min_notice_minutes": 0})
            offerings[f"{tenant.slug}-profile"] = owner.profile.slug
    connection.set_schema_to_public()
    return offerings


def assert_brand(page: str, own: dict, other: dict) -> None:
    assert f"--primary:{own['primary_color']}" in page
    assert FONTS[own["font"]].family.split(",")[0] in page
    assert f"color-scheme:{own['mode']}" in page
    assert other["primary_color"] not in page and FONTS[other["font"]].family.split(",")[0] not in page


def _book(tenant, offering):
    from booking.services import BookingRequest, booking_create

    with tenant_context(tenant):
        start = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo("Europe/Kyiv")).replace(
            hour=10, minute=0, second=0, microsecond=0)
        booked = booking_create(request=BookingRequest(
            offering_id=str(offering.public_id), start=start, name="Kim Client", email=f"kim@{tenant.slug}.example"))
    connection.set_schema_to_public()
    return booked


def test_each_tenant_shows_its_own_brand_on_its_pages(client, branded, alpha_host, beta_host, tenant_alpha,
                                                     tenant_beta, django_capture_on_commit_callbacks):
    for host, tenant, own, other in ((alpha_host, tenant_alpha, ALPHA_THEME, BETA_THEME),
                                     (beta_host, tenant_beta, BETA_THEME, ALPHA_THEME)):
        offering = branded[tenant.slug]
        paths = ["/", "/book/", f"/book/{offering.public_id}/", "/c/", f"/c/{branded[f'{tenant.slug}-profile']}/"]
        with django_capture_on_commit_callbacks(execute=True):
            booked = _book(tenant, offering)
        paths.append(f"/bookings/{booked.participant.public_id}/?token={booked.manage_token}")
        for path in paths:
            response = client.get(path, HTTP_HOST=host)
            assert response.status_code == 200, (host, path)
            assert_brand(response.content.decode(), own, other)
            assert "Powered by Consultio" in response.content.decode()


def test_each_tenant_brands_its_booking_emails(branded, tenant_alpha, tenant_beta, smtp_server,
                                               django_capture_on_commit_callbacks):
    import email
    from email import policy

    for tenant in (tenant_alpha, tenant_beta):
        with django_capture_on_commit_callbacks(execute=True):
            _book(tenant, branded[tenant.slug])
    messages = [email.message_from_bytes(raw, policy=policy.default) for raw in smtp_server.received]

    def html_to(address: str) -> str:
        message = next(m for m in messages if address in m["To"])
        return message.get_body(preferencelist=("html",)).get_content()

    alpha_mail, beta_mail = html_to("kim@alpha.example"), html_to("kim@beta.example")
    assert "background:#0b6e4f" in alpha_mail and "#1f5fbf" not in alpha_mail
    # Beta's primary is a light pink made for a dark page: emails are light, so it is darkened (same hue)
    # until it reaches 4.5:1 on the email's grey page (the site name sits there) and so on its white card,
    # for link text and behind white button labels alike.
    beta_email_color = darken_until(BETA_THEME["primary_color"], "#f7f8fa")
    assert f"background:{beta_email_color}" in beta_mail and "#0b6e4f" not in beta_mail
    assert contrast_ratio(beta_email_color, "#f7f8fa") >= 4.5 and contrast_ratio(beta_email_color, "#ffffff") >= 4.5


def test_the_video_room_styles_follow_the_theme():
    from pathlib import Path

    room = (Path(__file__).resolve().parent.parent / "static" / "video" / "room.css").read_text()
    for hard_coded in ("#e3e6ea", "#eef0f2", "#fff7e0", "#5b6470"):
        assert hard_coded not in room
    assert "var(--border)" in room and "var(--radius)" in room


def test_the_platform_host_keeps_the_default_look(client, platform_host, alpha_api):
    assert put_theme(alpha_api, ALPHA_THEME).status_code == 200
    page = client.get("/signup/", HTTP_HOST=platform_host).content.decode()
    assert "<style>:root" not in page and "Powered by" not in page and "#0b6e4f" not in page
    assert 'href="data:,"' in page


# --- Powered by, per plan --------------------------------------------------------------------------


def test_the_free_plan_cannot_hide_powered_by(alpha_api, tenant_alpha, client, alpha_host):
    assert tenant_alpha.plan.name == "Free" and not tenant_alpha.plan.white_label
    response = put_theme(alpha_api, {**ALPHA_THEME, "show_powered_by": False})
    assert response.status_code == 422
    answer = response.json()
    assert (answer["field"], answer["code"]) == ("show_powered_by", "plan_limit")
    assert answer["detail"] == ("Your Free plan shows “Powered by” on your site; hiding it needs a plan with "
                                "white-label.")
    assert stored(tenant_alpha) is None
    page = client.get("/book/", HTTP_HOST=alpha_host).content.decode()
    assert '<footer class="site-foot"><a href="http://localhost:8000" rel="noopener">Powered by Consultio</a>' in page


@pytest.mark.parametrize("plan", ["Pro", "Agency"])
def test_a_white_label_plan_hides_powered_by_until_a_downgrade(plan, alpha_api, tenant_alpha, client, alpha_host):
    set_plan(tenant_alpha, plan)
    response = put_theme(alpha_api, {**ALPHA_THEME, "show_powered_by": False})
    assert response.status_code == 200, response.content
    assert response.json()["show_powered_by"] is False
    assert "Powered by" not in client.get("/book/", HTTP_HOST=alpha_host).content.decode()
    set_plan(tenant_alpha, "Free")
    # The owner's choice is kept, but the plan no longer allows it: the footer is back.
    assert stored(tenant_alpha)["show_powered_by"] is False
    assert "Powered by Consultio" in client.get("/book/", HTTP_HOST=alpha_host).content.decode()
    assert alpha_api.call("get", "/me/theme").json()["show_powered_by"] is True


# --- The cached style ------------------------------------------------------------------------------


def test_the_context_processor_costs_one_query_cold_and_none_cached(tenant_alpha, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.tenant = tenant_alpha
    with tenant_context(tenant_alpha):
        User.objects.exists()  # the schema switch costs a query of its own, before the one counted
        with django_assert_num_queries(1):
            cold = theme_context(request)["theme"]
        with django_assert_num_queries(0):
            warm = theme_context(request)["theme"]
    assert cold.style == warm.style and warm.primary_color == "#1f5fbf" and warm.show_powered_by


def test_a_page_reads_the_theme_once_then_from_the_cache(client, alpha_host, alpha_api):
    assert put_theme(alpha_api, ALPHA_THEME).status_code == 200  # clears the cache

    def theme_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert "--primary:#0b6e4f" in client.get("/c/", HTTP_HOST=alpha_host).content.decode()
        return sum("themes_theme" in q["sql"] for q in queries.captured_queries)

    assert theme_queries() == 1
    assert theme_queries() == 0
    assert put_theme(alpha_api, {**ALPHA_THEME, "primary_color": "#123456"}).status_code == 200
    with CaptureQueriesContext(connection):
        assert "--primary:#123456" in client.get("/c/", HTTP_HOST=alpha_host).content.decode()


def test_the_platform_host_never_reads_a_theme(client, platform_host):
    with CaptureQueriesContext(connection) as queries:
        client.get("/signup/", HTTP_HOST=platform_host)
    assert not any("themes_theme" in q["sql"] for q in queries.captured_queries)


# --- The owner's page --------------------------------------------------------------------------


@pytest.fixture
def owner_client(client, alpha_host, login):
    return login(client, alpha_host, "alice@alpha.example", ALPHA_OWNER_PASSWORD)


def _form(**changes) -> dict:
    return {**ALPHA_THEME, "show_powered_by": "on", **changes}


def test_owner_page_shows_form_preview_and_plan_note(owner_client, alpha_host):
    page = owner_client.get("/settings/theme/", HTTP_HOST=alpha_host).content.decode()
    assert 'id="theme-preview"' in page and 'id="theme-preview-config"' in page and "themes/preview.js" in page
    assert 'type="color"' in page and 'name="primary_color"' in page
    assert 'name="show_powered_by"' in page and "disabled" in page.split('name="show_powered_by"')[1].split(">")[0]
    assert "The Pro and Agency plans can hide it." in page
    assert '<a href="/settings/theme/">Theme</a>' in page


def test_owner_saves_the_theme_from_the_page(owner_client, alpha_host, tenant_alpha):
    response = owner_client.post("/settings/theme/", _form(logo=SimpleUploadedFile("logo.png", png())),
                                 HTTP_HOST=alpha_host)
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = stored(tenant_alpha)
    assert {k: saved[k] for k in ALPHA_THEME} == ALPHA_THEME and saved["logo"].startswith("themes/logo-")
    page = owner_client.get("/settings/theme/", HTTP_HOST=alpha_host).content.decode()
    assert "Theme saved" in page and "--primary:#0b6e4f" in page


def test_choosing_a_preset_on_the_page_fills_what_was_not_changed(owner_client, alpha_host, tenant_alpha):
    # The page shows the default (classic) values; only the preset and the accent are changed.
    classic = PRESETS["classic"].values("classic")
    response = owner_client.post("/settings/theme/", {**classic, "preset": "corporate", "accent_color": "#5b3cc4",
                                                      "show_powered_by": "on"}, HTTP_HOST=alpha_host)
    assert response.status_code == 302
    corporate = PRESETS["corporate"]
    saved = stored(tenant_alpha)
    assert (saved["preset"], saved["primary_color"], saved["accent_color"], saved["font"], saved["corners"]) == (
        "corporate", corporate.primary_color, "#5b3cc4", corporate.font, corporate.corners)


def test_with_the_script_the_page_saves_the_theme_as_previewed(owner_client, alpha_host, tenant_alpha):
    """The script fills every field when a preset is chosen; the owner then sets the font back to the
    one saved before. What was previewed is what is saved — not the new preset's font."""
    classic = PRESETS["classic"].values("classic")
    corporate = PRESETS["corporate"]
    assert corporate.font != classic["font"]
    posted = {**corporate.values("corporate"), "font": classic["font"], "complete": "1", "show_powered_by": "on"}
    assert owner_client.post("/settings/theme/", posted, HTTP_HOST=alpha_host).status_code == 302
    saved = stored(tenant_alpha)
    assert (saved["preset"], saved["font"], saved["primary_color"]) == (
        "corporate", classic["font"], corporate.primary_color)


def test_page_errors_are_shown_and_nothing_is_saved(owner_client, alpha_host, tenant_alpha):
    response = owner_client.post("/settings/theme/", _form(primary_color="#ffd400", accent_color="nope",
                                                           favicon=SimpleUploadedFile("f.png", b"text")),
                                 HTTP_HOST=alpha_host)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved." in page
    assert "“nope” is not a colour written as #rrggbb" in page
    assert "The favicon: This file is not a JPEG, PNG or WebP image." in page
    assert "choose the logo or favicon again" in page
    assert stored(tenant_alpha) is None
    contrast = owner_client.post("/settings/theme/", _form(primary_color="#ffd400"), HTTP_HOST=alpha_host)
    assert contrast.status_code == 400
    assert "primary_color #ffd400 on the light background #f7f8fa has a contrast of 1.34:1" in contrast.content.decode()
    assert stored(tenant_alpha) is None


def test_the_free_plan_page_keeps_powered_by_whatever_is_posted(owner_client, alpha_host, tenant_alpha):
    response = owner_client.post("/settings/theme/", {**ALPHA_THEME}, HTTP_HOST=alpha_host)  # box not sent
    assert response.status_code == 302
    assert stored(tenant_alpha)["show_powered_by"] is True


def test_a_white_label_owner_hides_powered_by_from_the_page(owner_client, alpha_host, tenant_alpha):
    set_plan(tenant_alpha, "Agency")
    page = owner_client.get("/settings/theme/", HTTP_HOST=alpha_host).content.decode()
    assert "Your plan is white-label" in page
    assert owner_client.post("/settings/theme/", {**ALPHA_THEME}, HTTP_HOST=alpha_host).status_code == 302
    assert stored(tenant_alpha)["show_powered_by"] is False
    assert "Powered by" not in owner_client.get("/book/", HTTP_HOST=alpha_host).content.decode()


def test_only_the_owner_opens_the_theme_page(client, alpha_host, login, make_member, tenant_alpha):
    make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora Consultant")
    login(client, alpha_host, "cora@alpha.example")
    assert client.get("/settings/theme/", HTTP_HOST=alpha_host).status_code == 403
    assert client.post("/settings/theme/", _form(), HTTP_HOST=alpha_host).status_code == 403
    assert stored(tenant_alpha) is None
    page = client.get("/dashboard/", HTTP_HOST=alpha_host).content.decode()
    assert "/settings/theme/" not in page


