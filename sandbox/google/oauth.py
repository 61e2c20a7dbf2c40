"""Google's OAuth 2 endpoints: the consent page (``/o/oauth2/v2/auth``), the token endpoint, revocation and
OpenID userinfo.

``GET …/o/oauth2/v2/auth?…&approve=1&login_hint=<email>`` approves at once and redirects as Google would
(``approve=0`` denies), so scripts and tests need no browser. PKCE (S256) is required."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from sandbox.google import store
from sandbox.google.errors import BEARER_CHALLENGE, OAuthError, oauth_fault
from sandbox.models import CalendarGrant

CODE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
OPENID_SCOPES = ("openid", "email", "profile")
GOOGLE_SCOPE_PREFIX = "https://www.googleapis.com/auth/"
SCOPE_DESCRIPTIONS = {
    "openid": "Associate you with your personal info on Google",
    "https://www.googleapis.com/auth/userinfo.email": "See your primary Google Account email address",
    "https://www.googleapis.com/auth/userinfo.profile": "See your personal info, including any personal info "
                                                        "you've made publicly available",
    store.CALENDAR_SCOPE: "See, edit, share, and permanently delete all the calendars you can access using "
                          "Google Calendar",
    f"{store.CALENDAR_SCOPE}.events": "View and edit events on all your calendars",
    f"{store.CALENDAR_SCOPE}.readonly": "See and download any calendar you can access using your Google Calendar",
}
# What the consent form carries from the authorization request to its POST.
REQUEST_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge",
                  "code_challenge_method", "access_type", "prompt", "login_hint", "include_granted_scopes")


@dataclass(frozen=True)
class AuthRequest:
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str
    code_challenge: str
    offline: bool
    consent: bool
    include_granted_scopes: bool
    login_hint: str


class AuthError(Exception):
    """A request Google refuses on its own error page, never redirecting to an unchecked redirect_uri."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _parse(params: QueryDict) -> AuthRequest:
    def required(name: str) -> str:
        value = params.get(name, "").strip()
        if not value:
            raise AuthError(400, "invalid_request", f"Missing required parameter: {name}")
        return value

    client_id = required("client_id")
    if client_id != settings.GOOGLE_CLIENT_ID:
        raise AuthError(401, "invalid_client", "The OAuth client was not found.")
    redirect_uri = required("redirect_uri")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise AuthError(400, "invalid_request", f"Invalid parameter value for redirect_uri: {redirect_uri}")
    response_type = required("response_type")
    if response_type != "code":
        raise AuthError(400, "unsupported_response_type", f"Invalid response_type: {response_type}")
    scopes = required("scope").split()
    invalid = [s for s in scopes if s not in OPENID_SCOPES and not s.startswith(GOOGLE_SCOPE_PREFIX)]
    if invalid:
        raise AuthError(400, "invalid_scope", f"Some requested scopes were invalid. {{invalid={invalid}}}")
    if not any(s.startswith(store.CALENDAR_SCOPE) for s in scopes):
        raise AuthError(400, "invalid_scope", f"Calendar access needs the scope {store.CALENDAR_SCOPE}.")
    method = params.get("code_challenge_method", "")
    if method != "S256":
        raise AuthError(400, "invalid_request", "Invalid code_challenge_method: PKCE with S256 is required."
                        if method else "Missing required parameter: code_challenge_method")
    challenge = required("code_challenge")
    if not CODE_CHALLENGE.fullmatch(challenge):
        raise AuthError(400, "invalid_request", "Invalid code_challenge: 43 to 128 characters of [A-Za-z0-9-._~].")
    access_type = params.get("access_type", "online") or "online"
    if access_type not in ("online", "offline"):
        raise AuthError(400, "invalid_request", f"Invalid access_type: {access_type}")
    prompts = params.get("prompt", "").split()
    if set(prompts) - {"none", "consent", "select_account"} or ("none" in prompts and len(prompts) > 1):
        raise AuthError(400, "invalid_request", f"Invalid prompt: {params.get('prompt')}")
    return AuthRequest(client_id=client_id, redirect_uri=redirect_uri, scopes=store.scopes_normalize(" ".join(scopes)),
                       state=params.get("state", ""), code_challenge=challenge, offline=access_type == "offline",
                       consent="consent" in prompts, login_hint=params.get("login_hint", "").strip(),
                       include_granted_scopes=params.get("include_granted_scopes", "").lower() == "true")


def _redirect(auth: AuthRequest, params: dict) -> HttpResponseRedirect:
    if auth.state:
        params = {"state": auth.state, **params}
    separator = "&" if urlsplit(auth.redirect_uri).query else "?"
    return HttpResponseRedirect(auth.redirect_uri + separator + urlencode(params))


def _approve(auth: AuthRequest, email: str) -> HttpResponseRedirect:
    code = store.code_issue(email=email, client_id=auth.client_id, redirect_uri=auth.redirect_uri,
                            scope=" ".join(auth.scopes), code_challenge=auth.code_challenge, offline=auth.offline,
                            consent=auth.consent, include_granted_scopes=auth.include_granted_scopes)
    return _redirect(auth, {"iss": "https://accounts.google.com", "code": code.value, "scope": code.scope,
                            "authuser": "0", "prompt": "consent"})


def _deny(auth: AuthRequest) -> HttpResponseRedirect:
    return _redirect(auth, {"error": "access_denied"})


def _consent_page(request: HttpRequest, auth: AuthRequest, params: QueryDict, *, email: str, error: str = "",
                  status: int = 200) -> HttpResponse:
    return render(request, "sandbox/google/consent.html", {
        "email": email, "error": error, "redirect_host": urlsplit(auth.redirect_uri).netloc,
        "scopes": [SCOPE_DESCRIPTIONS.get(scope, scope) for scope in auth.scopes],
        "hidden": [(name, params[name]) for name in REQUEST_PARAMS if params.get(name)],
    }, status=status)


def _error_page(request: HttpRequest, exc: AuthError) -> HttpResponse:
    return render(request, "sandbox/google/error.html",
                  {"status": exc.status, "error": exc.error, "description": exc.description}, status=exc.status)


def authorize(request: HttpRequest) -> HttpResponse:
    """The consent page (GET), its form (POST), or ``approve=1|0`` for scripts."""
    params = request.POST if request.method == "POST" else request.GET
    try:
        auth = _parse(params)
    except AuthError as exc:
        return _error_page(request, exc)
    if request.method == "POST":
        if request.POST.get("action") != "allow":
            return _deny(auth)
        try:
            email = store.email_clean(request.POST.get("email", ""))
        except store.DevError:
            return _consent_page(request, auth, params, email=request.POST.get("email", ""), status=400,
                                 error="Enter a valid email address.")
        return _approve(auth, email)
    if request.GET.get("approve") == "0":
        return _deny(auth)
    if request.GET.get("approve") == "1":
        try:
            return _approve(auth, store.email_clean(auth.login_hint))
        except store.DevError:
            return _error_page(request, AuthError(400, "invalid_request",
                                                  "approve=1 needs login_hint=<email address>."))
    return _consent_page(request, auth, params, email=auth.login_hint)


# --- token, revoke, userinfo ----------------------------------------------------------------------


def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    """client_secret_basic (Authorization: Basic) or client_secret_post, as Google accepts both."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client", "Unauthorized") from None
        return client_id, secret
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


def _token_json(body: dict) -> JsonResponse:
    response = JsonResponse(body)
    response["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    response["Pragma"] = "no-cache"
    return response


def _issue(request: HttpRequest) -> dict:
    if request.method != "POST":
        raise OAuthError(405, "invalid_request", "Method not allowed: use POST.")
    client_id, secret = _client_credentials(request)
    if not client_id:
        raise OAuthError(400, "invalid_request", "Could not determine client ID from request.")
    if client_id != settings.GOOGLE_CLIENT_ID:
        raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
    if secret != settings.GOOGLE_CLIENT_SECRET:
        raise OAuthError(401, "invalid_client", "Unauthorized")
    grant_type = request.POST.get("grant_type", "")
    if grant_type == "authorization_code":
        kind, field = CalendarGrant.Kind.CODE, "code"
    elif grant_type == "refresh_token":
        kind, field = CalendarGrant.Kind.REFRESH, "refresh_token"
    else:
        raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    value = request.POST.get(field, "")
    if not value:
        raise OAuthError(400, "invalid_request", f"Missing required parameter: {field}")
    fault = store.fault_take(store.grant_account(value, kind))
    if fault is not None:
        raise oauth_fault(*fault)
    if kind == CalendarGrant.Kind.CODE:
        return store.token_from_code(client_id=client_id, code=value,
                                     redirect_uri=request.POST.get("redirect_uri", ""),
                                     code_verifier=request.POST.get("code_verifier", ""))
    return store.token_from_refresh(client_id=client_id, refresh_token=value)


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    """``POST /token`` (form-encoded): ``authorization_code`` (with PKCE) and ``refresh_token`` grants."""
    try:
        return _token_json(_issue(request))
    except OAuthError as exc:
        return exc.response()


@csrf_exempt
def revoke(request: HttpRequest) -> HttpResponse:
    """``POST /revoke`` ``token=…`` (an access or a refresh token): the app's access ends."""
    value = request.POST.get("token") or request.GET.get("token", "")
    if not value:
        return OAuthError(400, "invalid_request", "Bad Request").response()
    try:
        store.token_revoke(value)
    except OAuthError as exc:
        return exc.response()
    return JsonResponse({})


@csrf_exempt
def userinfo(request: HttpRequest) -> HttpResponse:
    """OpenID Connect userinfo for a live access token."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    grant = store.access_grant(value.strip()) if scheme.lower() == "bearer" else None
    if grant is None:
        return OAuthError(401, "invalid_request", "Invalid Credentials",
                          headers={"WWW-Authenticate": BEARER_CHALLENGE}).response()
    return JsonResponse(store.userinfo(grant.account))
