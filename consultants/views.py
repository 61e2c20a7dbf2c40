from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django.views.static import serve

from accounts.access import access_profile_user, consultant_required
from accounts.forms import apply_errors
from consultants.forms import CertificateForm, PhotoForm, ProfileForm
from consultants.models import Certificate
from consultants.selectors import profile_completeness, profile_public_get, profile_public_list
from consultants.services import (
    ProfileData,
    certificate_add,
    certificate_remove,
    profile_photo_set,
    profile_update,
)
from core.choices import languages
from core.exceptions import NotFound
from core.http import upload_response


def _form_errors(form) -> dict[str, list[str]]:
    return {field: list(errors) for field, errors in form.errors.items()}


@consultant_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest, user_id: int | None = None) -> HttpResponse:
    person = access_profile_user(actor=request.user, user_id=user_id)
    profile = person.profile
    initial = {
        "full_name": person.full_name, "slug": profile.slug, "headline": profile.headline,
        "description": profile.description, "experience": profile.experience, "languages": profile.languages,
        "time_zone": profile.time_zone, "time_format": profile.time_format, "currency": profile.currency,
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            profile_update(profile=profile, data=ProfileData(**form.cleaned_data))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Profile saved.")
            return redirect(request.path)
    profile.refresh_from_db()
    return render(request, "consultants/profile_edit.html", {
        "form": form, "profile": profile, "person": person,
        "completeness": profile_completeness(profile=profile),
        "photo_form": PhotoForm(), "certificate_form": CertificateForm(),
        "certificates": profile.certificates.all(),
    }, status=400 if request.method == "POST" else 200)


@consultant_required
@require_POST
def profile_photo(request: HttpRequest, user_id: int | None = None) -> HttpResponse:
    person = access_profile_user(actor=request.user, user_id=user_id)
    form = PhotoForm(request.POST, request.FILES)
    ok = False
    if form.is_valid():
        try:
            profile_photo_set(profile=person.profile, upload=form.cleaned_data["photo"])
            ok = True
        except ValidationError as exc:
            form.add_error("photo", exc.messages)
    back = request.path.rsplit("photo/", 1)[0]
    return upload_response(request, redirect_to=back, message="Photo uploaded; it is being resized.",
                           errors=None if ok else _form_errors(form))


@consultant_required
@require_POST
def certificate_create(request: HttpRequest, user_id: int | None = None) -> HttpResponse:
    person = access_profile_user(actor=request.user, user_id=user_id)
    form = CertificateForm(request.POST, request.FILES)
    ok = False
    if form.is_valid():
        try:
            certificate_add(profile=person.profile, title=form.cleaned_data["title"],
                            upload=form.cleaned_data["file"])
            ok = True
        except ValidationError as exc:
            apply_errors(form, exc)
    back = request.path.rsplit("certificates/", 1)[0]
    return upload_response(request, redirect_to=back, message="Certificate added.",
                           errors=None if ok else _form_errors(form))


@consultant_required
@require_POST
def certificate_delete(request: HttpRequest, certificate_id: int, user_id: int | None = None) -> HttpResponse:
    person = access_profile_user(actor=request.user, user_id=user_id)
    certificate = Certificate.objects.filter(pk=certificate_id, profile__user=person).first()
    if certificate is None:
        raise Http404
    certificate_remove(certificate=certificate)
    messages.success(request, f"Certificate “{certificate.title}” removed.")
    return redirect(request.path.rsplit("certificates/", 1)[0])


def consultant_list(request: HttpRequest) -> HttpResponse:
    return render(request, "consultants/list.html", {"profiles": profile_public_list()})


def consultant_page(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        profile = profile_public_get(slug=slug)
    except NotFound:
        raise Http404("No consultant at this address.") from None
    from booking.selectors import offering_public_list

    names = languages()
    return render(request, "consultants/page.html", {
        "profile": profile, "languages": [names[code] for code in profile.languages if code in names],
        "offerings": offering_public_list(now=timezone.now(), consultant=profile.user),
    })


# Photos, logos, covers, Wagtail images and renditions, certificates (documents have their own view).
MEDIA_EXTENSIONS = {"jpg", "jpeg", "png", "webp", "gif", "avif", "pdf"}


def media(request: HttpRequest, path: str) -> HttpResponse:
    """Serve a file of the current tenant only: the document root is this tenant's own folder."""
    if path.startswith("calls/"):  # chat files: only through the call's own access-checked view
        raise Http404
    if path.rsplit(".", 1)[-1].lower() not in MEDIA_EXTENSIONS:
        raise Http404  # whatever a stored name says, only images and PDFs are served from here
    root = Path(settings.MEDIA_ROOT) / connection.schema_name
    return serve(request, path, document_root=str(root))
