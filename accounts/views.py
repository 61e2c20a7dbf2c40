from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import access_invitation, access_member, member_required, owner_required
from accounts.forms import AcceptInvitationForm, AssignForm, InvitationForm, LoginForm, TokenForm, apply_errors
from accounts.selectors import (
    CALL_TABS,
    call_list,
    dashboard_summary,
    invitations_open,
    personal_tokens,
    team_members,
)
from accounts.services.api_tokens import personal_token_create, personal_token_revoke
from accounts.services.handoff import HandoffInvalid, login_handoff_redeem
from accounts.services.invitations import (
    InvitationInvalid,
    invitation_accept,
    invitation_create,
    invitation_get_open,
    invitation_revoke,
)
from accounts.services.people import assistant_assign, member_revoke
from accounts.services.throttle import (
    request_allowed,
    signin_failure_record,
    signin_lockout,
    signin_success_record,
)
from accounts.services.verification import VerificationInvalid, email_verify, verification_email_send
from core.exceptions import ApplicationError
from core.http import client_address

RESETS_PER_ADDRESS = 5  # per 15 minutes


def _locked(request: HttpRequest, lockout) -> HttpResponse:
    response = render(request, "accounts/locked.html", {"message": lockout.message}, status=429)
    response["Retry-After"] = str(lockout.retry_after)
    return response


class LoginView(auth_views.LoginView):
    """Email and password; throttled; the session key is rotated by ``login()``."""

    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        email = request.POST.get("username", "")
        lockout = signin_lockout(email=email, address=client_address(request))
        if lockout is not None:
            return _locked(request, lockout)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        signin_success_record(email=form.cleaned_data["username"], address=client_address(self.request))
        response = super().form_valid(form)
        if not form.cleaned_data.get("remember_me"):
            self.request.session.set_expiry(0)
        return response

    def form_invalid(self, form):
        lockout = signin_failure_record(email=self.request.POST.get("username", ""),
                                        address=client_address(self.request))
        if lockout is not None:
            return _locked(self.request, lockout)
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("accounts:login")


@never_cache
def handoff(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = login_handoff_redeem(token=token)
    except HandoffInvalid as exc:
        return render(request, "accounts/handoff_invalid.html", {"message": exc.message}, status=400)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("accounts:dashboard")


def _viewer_tz(user) -> str:
    profile = getattr(user, "profile", None) if user.is_consultant else None
    return profile.time_zone if profile else "UTC"


@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    from billing.selectors import payments_setup_needed
    from calendars.services import calendars_to_reconnect

    return render(request, "accounts/dashboard.html", {
        "tenant": request.tenant, "summary": dashboard_summary(user=request.user),
        "viewer_tz": _viewer_tz(request.user),
        "payments_setup_needed": request.user.is_owner and payments_setup_needed(),
        "calendars_to_reconnect": calendars_to_reconnect(request.user) if request.user.is_consultant else [],
    })


@member_required
def calls(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "upcoming")
    if tab not in dict(CALL_TABS):
        tab = "upcoming"
    return render(request, "accounts/calls.html", {
        "tabs": CALL_TABS, "tab": tab, "calls": call_list(user=request.user, tab=tab)[:200],
        "viewer_tz": _viewer_tz(request.user),
    })


# --- Email verification -------------------------------------------------------------


@never_cache
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = email_verify(token=token)
    except VerificationInvalid as exc:
        return render(request, "accounts/message.html", {
            "title": "Confirmation link not valid", "message": exc.message}, status=400)
    if request.user.is_authenticated and request.user.pk == user.pk:
        messages.success(request, "Thank you: your email address is confirmed.")
        return redirect("accounts:dashboard")
    return render(request, "accounts/message.html", {
        "title": "Email address confirmed", "message": f"{user.email} is confirmed. You can sign in now."})


@member_required
@require_POST
def verify_email_resend(request: HttpRequest) -> HttpResponse:
    if request.user.email_verified_at is None:
        verification_email_send(user=request.user, domain=request.tenant.primary_domain,
                                site_name=request.tenant.name)
        messages.success(request, f"We sent a new confirmation link to {request.user.email}.")
    return redirect("accounts:dashboard")


# --- Team and invitations -----------------------------------------------------------


@owner_required
@require_http_methods(["GET", "POST"])
def team(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        plan = request.tenant.plan
        try:
            invitation_create(
                actor=request.user, email=form.cleaned_data["email"], role=form.cleaned_data["role"],
                domain=request.tenant.primary_domain, site_name=request.tenant.name,
                max_consultants=plan.max_consultants if plan else None,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("accounts:team")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/team.html", {
        "form": form, "members": team_members(), "invitations": invitations_open(),
    }, status=status)


@owner_required
@require_POST
def member_revoke_view(request: HttpRequest, user_id: int) -> HttpResponse:
    member = access_member(actor=request.user, member_id=user_id)
    try:
        member_revoke(actor=request.user, member=member)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member.full_name} can no longer sign in. Their calls stay visible to you.")
    return redirect("accounts:team")


@owner_required
@require_POST
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = access_invitation(actor=request.user, invitation_id=invitation_id)
    try:
        invitation_revoke(actor=request.user, invitation=invitation)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The invitation to {invitation.email} is withdrawn.")
    return redirect("accounts:team")


@owner_required
@require_http_methods(["GET", "POST"])
def assistant_assign_view(request: HttpRequest, user_id: int) -> HttpResponse:
    assistant = access_member(actor=request.user, member_id=user_id)
    initial = {"consultants": [a.consultant_id for a in assistant.assignments.all()]}
    form = AssignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            assistant_assign(actor=request.user, assistant=assistant,
                             consultants=list(form.cleaned_data["consultants"]))
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Saved whom {assistant.full_name} assists.")
            return redirect("accounts:team")
    return render(request, "accounts/assign.html", {"form": form, "assistant": assistant},
                  status=400 if request.method == "POST" else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_get_open(token=token)
    except InvitationInvalid as exc:
        return render(request, "accounts/message.html", {
            "title": "Invitation not valid", "message": exc.message}, status=400)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(token=token, full_name=form.cleaned_data["full_name"],
                                     password=form.cleaned_data["password"],
                                     time_zone=form.cleaned_data["time_zone"] or "UTC")
        except ValidationError as exc:
            apply_errors(form, exc)
        except InvitationInvalid as exc:
            return render(request, "accounts/message.html", {
                "title": "Invitation not valid", "message": exc.message}, status=400)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {request.tenant.name}!")
            return redirect("consultants:profile_edit" if user.is_consultant else "accounts:dashboard")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation},
                  status=400 if request.method == "POST" else 200)


# --- Personal access tokens ---------------------------------------------------------


@member_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    created_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _, created_secret = personal_token_create(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            form = TokenForm()
    response = render(request, "accounts/tokens.html", {
        "form": form, "tokens": personal_tokens(user=request.user), "created_secret": created_secret,
    }, status=400 if request.method == "POST" and created_secret is None else 200)
    response["Cache-Control"] = "no-store"
    return response


@member_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        pat = personal_token_revoke(user=request.user, token_id=token_id)
    except ApplicationError:
        raise Http404 from None
    messages.success(request, f"Token “{pat.name}” revoked.")
    return redirect("accounts:tokens")


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's reset email, through the tenant's outbox like every other email."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        from django.template import loader

        from notifications.outbox import Email, message_queue

        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        html = loader.render_to_string(html_email_template_name, context) if html_email_template_name else ""
        message_queue(Email(kind="password_reset", to=to_email, subject=subject,
                            text=loader.render_to_string(email_template_name, context), html=html))


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset flow (single-use token, ``PASSWORD_RESET_TIMEOUT``) in the tenant's name."""

    template_name = "accounts/password_reset.html"
    email_template_name = "emails/password_reset.txt"
    html_email_template_name = "emails/password_reset.html"
    subject_template_name = "emails/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        if not request_allowed(scope="password-reset", address=client_address(request), limit=RESETS_PER_ADDRESS):
            return render(request, "accounts/message.html", {
                "title": "Too many requests",
                "message": "Too many password reset requests from your network. Try again in 15 minutes."},
                status=429)
        return super().post(request, *args, **kwargs)

    form_class = OutboxPasswordResetForm

    def form_valid(self, form):
        self.extra_email_context = {"site_name": self.request.tenant.name}
        self.from_email = f"{self.request.tenant.name} <{settings.DEFAULT_FROM_EMAIL}>"
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's confirm step; a link that is bogus, used or expired gets its page with a 400."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def render_to_response(self, context, **response_kwargs):
        if not context.get("validlink"):
            response_kwargs.setdefault("status", 400)
        return super().render_to_response(context, **response_kwargs)
