import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image

from accounts.models import User
from consultants.models import Profile


def image_bytes(fmt="JPEG", size=(1200, 900), color=(30, 90, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def cora(make_member, tenant_alpha):
    return make_member(tenant_alpha, "consultant", "cora@alpha.example", "Cora Consultant")


@pytest.fixture
def cora_client(client, alpha_host, login, cora):
    return login(client, alpha_host, "cora@alpha.example")


VALID_PROFILE = {
    "full_name": "Cora Consultant", "slug": "cora", "headline": "Tax adviser for freelancers",
    "description": "Tax returns, VAT, invoices.", "experience": "12 years.", "languages": ["en", "uk"],
    "time_zone": "Europe/Kyiv", "time_format": "12h", "currency": "EUR",
}


def test_consultant_saves_profile(cora_client, alpha_host, tenant_alpha, cora):
    response = cora_client.post("/profile/", VALID_PROFILE, HTTP_HOST=alpha_host)
    assert response.status_code == 302
    with tenant_context(tenant_alpha):
        profile = Profile.objects.get(user=cora)
        assert (profile.slug, profile.time_zone, profile.time_format, profile.currency, profile.languages) == (
            "cora", "Europe/Kyiv", "12h", "EUR", ["en", "uk"])


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"full_name": ""}, "This field is required."),
        ({"slug": "Not A Slug"}, "Use lowercase letters, digits and single hyphens only."),
        ({"slug": "alice-alpha"}, "Another consultant already uses this address."),
        ({"time_zone": "Mars/Olympus"}, "“Mars/Olympus” is not a known time zone."),
        ({"currency": "XYZ"}, "“XYZ” is not an ISO 4217 currency code."),
        ({"currency": "usd"}, "“usd” is not an ISO 4217 currency code."),
        ({"languages": ["en", "zz"]}, "Unknown language code: zz."),
        ({"time_format": "13h"}, "Select a valid choice."),
    ],
)
def test_bad_profile_input_is_refused_and_nothing_saved(cora_client, alpha_host, tenant_alpha, cora, changes,
                                                        field_message):
    with tenant_context(tenant_alpha):
        before = Profile.objects.values().get(user=cora)
    response = cora_client.post("/profile/", {**VALID_PROFILE, **changes}, HTTP_HOST=alpha_host)
    assert response.status_code == 400
    assert field_message in response.content.decode()
    with tenant_context(tenant_alpha):
        assert Profile.objects.values().get(user=cora) == before
        assert User.objects.get(pk=cora.pk).full_name == "Cora Consultant"


def test_photo_is_validated_by_content_and_resized(cora_client, alpha_host, tenant_alpha, cora,
                                                    django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("me.png", image_bytes("PNG", (1600, 1200)), content_type="image/png")
    with django_capture_on_commit_callbacks(execute=True):
        response = cora_client.post("/profile/photo/", {"photo": upload}, HTTP_HOST=alpha_host,
                                    HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 200 and response.json()["ok"] is True
    with tenant_context(tenant_alpha):
        profile = Profile.objects.get(user=cora)
        assert profile.photo_status == Profile.PhotoStatus.READY
        sizes = {}
        for field in ("photo_small", "photo_medium", "photo_large"):
            with getattr(profile, field).open("rb") as fh, Image.open(fh) as img:
                sizes[field] = (img.format, img.size)
        assert sizes == {"photo_small": ("WEBP", (160, 120)), "photo_medium": ("WEBP", (480, 360)),
                         "photo_large": ("WEBP", (960, 720))}
        assert profile.photo.storage.exists(profile.photo.name), "the original is kept"
        assert profile.photo.path.startswith(str(settings.MEDIA_ROOT) + "/t_alpha/")
        first_files = [getattr(profile, f).name for f in ("photo", "photo_small", "photo_medium", "photo_large")]
        url = profile.photo_medium.url
    assert url.startswith("/media/profiles/")
    served = cora_client.get(url, HTTP_HOST=alpha_host)
    assert served.status_code == 200
    # Another tenant's host does not serve it.
    assert cora_client.get(url, HTTP_HOST="beta.localhost").status_code == 404

    # A new photo replaces the old one and its sizes; the old files are removed.
    with django_capture_on_commit_callbacks(execute=True):
        cora_client.post("/profile/photo/", {"photo": SimpleUploadedFile("new.webp", image_bytes("WEBP"))},
                         HTTP_HOST=alpha_host)
    with tenant_context(tenant_alpha):
        profile = Profile.objects.get(user=cora)
        storage = profile.photo.storage
        assert profile.photo_status == Profile.PhotoStatus.READY and storage.exists(profile.photo.name)
        assert not any(storage.exists(name) for name in first_files)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("fake.jpg", b"this is not an image at all", "This file is not a JPEG, PNG or WebP image."),
        ("animated.gif", None, "Use a JPEG, PNG or WebP image."),
        ("huge.jpg", b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024), "The file is 10.0 MB; the limit is 10 MB."),
        ("empty.png", b"", "The submitted file is empty."),
    ],
)
def test_bad_photos_are_refused(cora_client, alpha_host, tenant_alpha, cora, name, content, message):
    if content is None:
        buffer = io.BytesIO()
        Image.new("RGB", (10, 10)).save(buffer, "GIF")
        content = buffer.getvalue()
    response = cora_client.post("/profile/photo/", {"photo": SimpleUploadedFile(name, content)},
                                HTTP_HOST=alpha_host, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"]["photo"])
    with tenant_context(tenant_alpha):
        profile = Profile.objects.get(user=cora)
        assert not profile.photo and profile.photo_status == Profile.PhotoStatus.NONE


def test_photo_upload_without_javascript_redirects_back_with_message(cora_client, alpha_host):
    response = cora_client.post("/profile/photo/", {"photo": SimpleUploadedFile("x.jpg", b"nope")},
                                HTTP_HOST=alpha_host, follow=True)
    assert response.redirect_chain[-1][0] == "/profile/"
    assert "This file is not a JPEG, PNG or WebP image." in response.content.decode()


def test_certificates_accept_pdf_and_refuse_others(cora_client, alpha_host, tenant_alpha, cora):
    pdf = SimpleUploadedFile("cert.pdf", b"%PDF-1.4\n% test certificate\n")
    ok = cora_client.post("/profile/certificates/", {"title": "CPA", "file": pdf}, HTTP_HOST=alpha_host,
                          HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert ok.status_code == 200
    exe = SimpleUploadedFile("cert.pdf", b"MZ\x90\x00 definitely not a pdf")
    bad = cora_client.post("/profile/certificates/", {"title": "Fake", "file": exe}, HTTP_HOST=alpha_host,
                           HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert bad.status_code == 400
    assert "Upload a PDF, JPEG, PNG or WebP file." in bad.json()["errors"]["file"]
    with tenant_context(tenant_alpha):
        titles = list(Profile.objects.get(user=cora).certificates.values_list("title", "content_type"))
    assert titles == [("CPA", "application/pdf")]


def test_dashboard_lists_what_the_profile_still_needs(cora_client, alpha_host, tenant_alpha, cora,
                                                      django_capture_on_commit_callbacks):
    page = cora_client.get("/dashboard/", HTTP_HOST=alpha_host).content.decode()
    assert "Your profile is not complete yet." in page
    assert "a photo, a headline, a description of your services, the languages you consult in" in page
    cora_client.post("/profile/", VALID_PROFILE, HTTP_HOST=alpha_host)
    with django_capture_on_commit_callbacks(execute=True):
        cora_client.post("/profile/photo/", {"photo": SimpleUploadedFile("a.jpg", image_bytes())},
                         HTTP_HOST=alpha_host)
    page = cora_client.get("/dashboard/", HTTP_HOST=alpha_host).content.decode()
    assert "Your profile is not complete yet." not in page


def test_public_page_shows_complete_profiles_only(cora_client, client, alpha_host, beta_host, tenant_alpha,
                                                  django_capture_on_commit_callbacks):
    assert client.get("/c/cora-consultant/", HTTP_HOST=alpha_host).status_code == 404
    cora_client.post("/profile/", VALID_PROFILE, HTTP_HOST=alpha_host)
    with django_capture_on_commit_callbacks(execute=True):
        cora_client.post("/profile/photo/", {"photo": SimpleUploadedFile("a.jpg", image_bytes())},
                         HTTP_HOST=alpha_host)
    cora_client.post("/profile/certificates/", {"title": "Chartered Accountant",
                                                "file": SimpleUploadedFile("c.pdf", b"%PDF-1.7 x")},
                     HTTP_HOST=alpha_host)
    cora_client.logout()
    page = client.get("/c/cora/", HTTP_HOST=alpha_host)
    assert page.status_code == 200
    body = page.content.decode()
    for text in ("Cora Consultant", "Tax adviser for freelancers", "Tax returns, VAT, invoices.",
                 "Speaks English, Ukrainian", "Chartered Accountant", "/media/profiles/"):
        assert text in body, text
    listing = client.get("/c/", HTTP_HOST=alpha_host).content.decode()
    assert "Cora Consultant" in listing and 'href="/c/cora/"' in listing
    assert client.get("/c/cora/", HTTP_HOST=beta_host).status_code == 404
    assert "Cora" not in client.get("/c/", HTTP_HOST=beta_host).content.decode()


def test_revoked_consultant_page_disappears(cora_client, client, alpha_host, tenant_alpha, cora,
                                            django_capture_on_commit_callbacks):
    from accounts.services.people import member_revoke

    cora_client.post("/profile/", VALID_PROFILE, HTTP_HOST=alpha_host)
    with django_capture_on_commit_callbacks(execute=True):
        cora_client.post("/profile/photo/", {"photo": SimpleUploadedFile("a.jpg", image_bytes())},
                         HTTP_HOST=alpha_host)
    assert client.get("/c/cora/", HTTP_HOST=alpha_host).status_code == 200
    with tenant_context(tenant_alpha):
        member_revoke(actor=User.objects.get(email="alice@alpha.example"), member=cora)
    assert client.get("/c/cora/", HTTP_HOST=alpha_host).status_code == 404


def test_owner_has_a_profile_from_sign_up(tenant_alpha):
    with tenant_context(tenant_alpha):
        profile = User.objects.get(email="alice@alpha.example").profile
    assert (profile.slug, profile.currency, profile.time_format) == ("alice-alpha", "USD", "24h")


def test_people_from_before_profiles_existed_get_one(tenant_alpha):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("consultants.migrations.0002_profiles_for_existing_consultants")
    with tenant_context(tenant_alpha):
        old = User.objects.create_user(email="old@alpha.example", password="x" * 12, full_name="Alice Alpha",
                                       role=User.Role.CONSULTANT)
        helper = User.objects.create_user(email="as@alpha.example", password="x" * 12, full_name="Assistant",
                                          role=User.Role.ASSISTANT)
        migration.create_missing_profiles(apps, None)
        assert Profile.objects.get(user=old).slug == "alice-alpha-2"  # the owner has "alice-alpha"
        assert not Profile.objects.filter(user=helper).exists()


def test_photo_upload_with_progress_bar_shows_its_message_on_the_page_it_returns_to(cora_client, alpha_host):
    upload = SimpleUploadedFile("me.png", image_bytes("PNG", (200, 200)), content_type="image/png")
    response = cora_client.post("/profile/photo/", {"photo": upload}, HTTP_HOST=alpha_host,
                                HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.json()["ok"] is True
    page = cora_client.get(response.json()["redirect"], HTTP_HOST=alpha_host)
    assert "Photo uploaded; it is being resized." in page.content.decode()
