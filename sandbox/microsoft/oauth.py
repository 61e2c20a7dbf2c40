"""The identity platform's v2.0 endpoints: ``/{tenant}/oauth2/v2.0/authorize`` (a consent page standing in
for Microsoft's sign-in) and ``/{tenant}/oauth2/v2.0/token`` (authorization code with PKCE, refresh).

As at Microsoft, a request whose client or redirect URI cannot be trusted gets an error page; once
the redirect URI is known good, other errors go back to it (``error``, ``error_description``,
``state``). ``&approve=1&login_hint=<email>`` skips the page and approves at once, for scripts.

Codes live 10 minutes and redeem once; access tokens live an hour; refresh tokens do not expire but
are rotated on use (the old one keeps working). Tokens are opaque, like those of personal accounts;
the id_token is an HS256 JWT signed with the client secret."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox.microsoft import store
from sandbox.microsoft.errors import OAuthError, missing_parameter
from sandbox.models import CalendarAccount, CalendarGrant

CODE_LIFETIME = timedelta(minutes=10)
ACCESS_LIFETIME = 3600
GRAPH = "https://graph.microsoft.com/"
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
GRAPH_SCOPES = {name.lower(): name for name in (
    "User.Read", "Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared",
    "Calendars.ReadBasic")}
CALENDAR_SCOPES = ("Calendars.ReadWrite", "Calendars.Read")
RESPONSE_MODES = ("query", "fragment", "form_post")
PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
Kind = CalendarGrant.Kind


def scopes_parse(text: str) -> list[str]:
    """Scopes in their short form (``Calendars.ReadWrite``), Graph's resource prefix removed, deduplicated."""
    found: list[str] = []
    for raw in text.split():
        name = raw[len(GRAPH):] if raw.lower().startswith(GRAPH) else raw
        name = name.lower() if name.lower() in OIDC_SCOPES else GRAPH_SCOPES.get(name.lower(), name)
        # ".default": what the app registration asks for.
        names = ["User.Read", "Calendars.ReadWrite"] if name == ".default" else [name]
        found += [n for n in names if n not in found]
    return found


def scope_allows(scope: str, needed: tuple[str, ...]) -> bool:
    granted = scope.split()
    return any(name in granted for name in needed)


def _scope_out(scopes: list[str]) -> str:
    """The granted scopes as the token endpoint reports them (Graph's, with its resource prefix)."""
    return " ".join(name if name in OIDC_SCOPES else GRAPH + name for name in scopes if name != "offline_access")


# --- authorize ---------------------------------------------------------------------------------------


def _error_page(request: HttpRequest, exc: OAuthError) -> HttpResponse:
    body = exc.body()
    return render(request, "sandbox/microsoft/error.html",
                  {"error": exc, "code": exc.aadsts, "trace_id": body["trace_id"],
                   "correlation_id": body["correlation_id"], "timestamp": body["timestamp"]}, status=400)


def _trusted_redirect(params) -> tuple[str, str]:
    """(client_id, redirect_uri), or the OAuthError that must be shown on a page rather than redirected."""
    client_id = params.get("client_id", "")
    if not client_id:
        raise missing_parameter("client_id")
    if client_id != settings.MICROSOFT_CLIENT_ID:
        raise OAuthError("unauthorized_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the directory "
                         f"'{settings.MICROSOFT_TENANT}'. This can happen if the application has not been installed "
                         "by the administrator of the tenant or consented to by any user in the tenant. You may "
                         "have sent your authentication request to the wrong tenant.")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri:
        raise missing_parameter("redirect_uri")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise OAuthError("invalid_request", 50011,
                         f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
                         f"URIs configured for the application '{client_id}'. Make sure the redirect URI sent in "
                         "the request matches one added to your application in the Azure portal.")
    return client_id, redirect_uri


def _checked(params) -> list[str]:
    """The requested scopes, once the rest of the request is valid; OAuthError to redirect otherwise."""
    response_type = params.get("response_type", "")
    if not response_type:
        raise missing_parameter("response_type")
    if response_type != "code":
        raise OAuthError("unsupported_response_type", 700051,
                         f"response_type '{response_type}' is not enabled for the application.")
    if params.get("response_mode", "query") not in RESPONSE_MODES:
        raise OAuthError("invalid_request", 900144, f"Invalid response_mode '{params.get('response_mode')}'.")
    if not params.get("scope"):
        raise missing_parameter("scope")
    scopes = scopes_parse(params["scope"])
    if not any(name in scopes for name in CALENDAR_SCOPES):
        raise OAuthError("invalid_scope", 70011,
                         f"The provided value for the input parameter 'scope' is not valid. The scope "
                         f"'{params['scope']}' does not include Calendars.ReadWrite or Calendars.Read.")
    challenge = params.get("code_challenge", "")
    if not challenge:
        raise missing_parameter("code_challenge")
    if params.get("code_challenge_method") != "S256":
        raise OAuthError("invalid_request", 50149, "Invalid Code_Challenge_method parameter. Only S256 is accepted.")
    if not PKCE_CHALLENGE.match(challenge):
        raise OAuthError("invalid_request", 501491, "InvalidCodeChallengeMethodInvalidSize - Invalid size of "
                         "Code_Challenge parameter.")
    return scopes


def _back(params, redirect_uri: str, values: dict[str, str]) -> HttpResponse:
    """Send the answer back to the client in the response_mode it asked for."""
    if params.get("state") is not None:
        values["state"] = params["state"]
    mode = params.get("response_mode", "query")
    if mode == "form_post":
        return HttpResponse(render_form_post(redirect_uri, values))
    separator = "#" if mode == "fragment" else ("&" if "?" in redirect_uri else "?")
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(values)}")


def render_form_post(redirect_uri: str, values: dict[str, str]) -> str:
    return render_to_string("sandbox/microsoft/form_post.html", {"action": redirect_uri, "values": values})


def _error_back(params, redirect_uri: str, exc: OAuthError) -> HttpResponse:
    return _back(params, redirect_uri, {"error": exc.error, "error_description": exc.body()["error_description"]})


def _approve(params, redirect_uri: str, client_id: str, scopes: list[str], account: CalendarAccount) -> HttpResponse:
    code = CalendarGrant.objects.create(
        account=account, kind=Kind.CODE, value="M.C5_BAY." + secrets.token_urlsafe(48), client_id=client_id,
        redirect_uri=redirect_uri, scope=" ".join(scopes), code_challenge=params["code_challenge"],
        expires_at=timezone.now() + CODE_LIFETIME)
    return _back(params, redirect_uri, {"code": code.value, "session_state": str(uuid.uuid4())})


@csrf_exempt
def authorize(request: HttpRequest, tenant: str) -> HttpResponse:
    params = request.GET
    try:
        client_id, redirect_uri = _trusted_redirect(params)
    except OAuthError as exc:
        return _error_page(request, exc)
    try:
        scopes = _checked(params)
    except OAuthError as exc:
        return _error_back(params, redirect_uri, exc)

    hint = params.get("login_hint", "").strip()
    if request.method == "POST":
        if request.POST.get("decision") != "allow":
            return _error_back(params, redirect_uri, OAuthError(
                "access_denied", 65004, "User declined to consent to access the app."))
        email = request.POST.get("email", "").strip()
        try:
            validate_email(email)
        except ValidationError:
            return render(request, "sandbox/microsoft/consent.html",
                          {"scopes": scopes, "email": email, "client_id": client_id, "redirect_uri": redirect_uri,
                           "problem": "Enter a valid email address."}, status=400)
        return _approve(params, redirect_uri, client_id, scopes, store.account_ensure(email))
    if params.get("approve") == "1" and hint:
        return _approve(params, redirect_uri, client_id, scopes, store.account_ensure(hint))
    if params.get("prompt") == "none":
        account = store.account_find(hint) if hint else None
        if account is None:
            return _error_back(params, redirect_uri, OAuthError(
                "login_required", 50058, "A silent sign-in request was sent but no user is signed in."))
        if not CalendarGrant.objects.filter(account=account, client_id=client_id, revoked=False).exists():
            return _error_back(params, redirect_uri, OAuthError(
                "consent_required", 65001, f"The user or administrator has not consented to use the application "
                f"with ID '{client_id}'. Send an interactive authorization request for this user and resource."))
        return _approve(params, redirect_uri, client_id, scopes, account)
    return render(request, "sandbox/microsoft/consent.html",
                  {"scopes": scopes, "email": hint, "client_id": client_id, "redirect_uri": redirect_uri})


# --- token ---------------------------------------------------------------------------------------------


def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    """client_secret_basic (Authorization: Basic) or client_secret_post."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
            return client_id, secret
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", 7000215, "Invalid client secret provided.", status=401) from None
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


def _check_client(client_id: str, secret: str, tenant: str) -> None:
    if not client_id:
        raise missing_parameter("client_id")
    if client_id != settings.MICROSOFT_CLIENT_ID:
        raise OAuthError("unauthorized_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
                         "This can happen if the application has not been installed by the administrator of the "
                         "tenant or consented to by any user in the tenant. You may have sent your authentication "
                         "request to the wrong tenant.")
    if not secret:
        raise OAuthError("invalid_client", 7000218, "The request body must contain the following parameter: "
                         "'client_assertion' or 'client_secret'.", status=401)
    if not secrets.compare_digest(secret.encode(), settings.MICROSOFT_CLIENT_SECRET.encode()):
        raise OAuthError("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in "
                         "the request is the client secret value, not the client secret ID, for a secret added to "
                         f"app '{client_id}'.", status=401)


def _fault(account: CalendarAccount | None) -> None:
    fault = store.fault_take(account)
    if fault is None:
        return
    if fault.status == 429:
        raise OAuthError("temporarily_unavailable", 90055, "TenantThrottlingError - There are too many incoming "
                         "requests. Try again later.", status=429, headers={"Retry-After": str(fault.retry_after)})
    raise OAuthError("temporarily_unavailable", 90033, "A transient error has occurred. Please try again.",
                     status=fault.status, headers={"Retry-After": str(fault.retry_after)})


def _id_token(account: CalendarAccount, client_id: str, scopes: list[str]) -> str:
    now = int(timezone.now().timestamp())
    oid = str(uuid.UUID(int=int(store.user_id(account), 16)))
    claims = {
        "ver": "2.0", "iss": f"https://login.microsoftonline.com/{store.TENANT_ID}/v2.0", "aud": client_id,
        "iat": now, "nbf": now, "exp": now + ACCESS_LIFETIME, "tid": store.TENANT_ID, "oid": oid,
        "sub": hashlib.sha256(f"{oid}:{client_id}".encode()).hexdigest()[:43],
        "name": account.data.get("displayName", account.email), "preferred_username": account.email,
    }
    if "email" in scopes:
        claims["email"] = account.email
    return jwt.encode(claims, settings.MICROSOFT_CLIENT_SECRET, algorithm="HS256",
                      headers={"kid": "sandbox-microsoft"})


def _issue(account: CalendarAccount, client_id: str, scopes: list[str]) -> dict:
    scope = " ".join(scopes)
    access = CalendarGrant.objects.create(
        account=account, kind=Kind.ACCESS, value="EwB" + secrets.token_urlsafe(96), client_id=client_id,
        scope=scope, expires_at=timezone.now() + timedelta(seconds=ACCESS_LIFETIME))
    body = {"token_type": "Bearer", "scope": _scope_out(scopes), "expires_in": ACCESS_LIFETIME,
            "ext_expires_in": ACCESS_LIFETIME, "access_token": access.value}
    if "offline_access" in scopes:
        refresh = CalendarGrant.objects.create(account=account, kind=Kind.REFRESH, client_id=client_id, scope=scope,
                                               value="M.C5" + secrets.token_urlsafe(96))
        body["refresh_token"] = refresh.value
    if "openid" in scopes:
        body["id_token"] = _id_token(account, client_id, scopes)
    return body


def _redeem_code(form, client_id: str, grant: CalendarGrant | None) -> dict:
    if grant is None:
        raise OAuthError("invalid_grant", 70000, "The provided value for the 'code' parameter is not valid.")
    with transaction.atomic():
        grant = CalendarGrant.objects.select_for_update().select_related("account").get(pk=grant.pk)
        if grant.client_id != client_id or grant.revoked:
            raise OAuthError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
        if grant.used:
            raise OAuthError("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry "
                             "with a new valid code or use an existing refresh token.")
        if grant.expires_at <= timezone.now():
            raise OAuthError("invalid_grant", 70008, "The provided authorization code or refresh token has expired "
                             "due to inactivity. Send a new interactive authorization request for this user and "
                             "resource.")
        redirect_uri = form.get("redirect_uri", "")
        if not redirect_uri:
            raise missing_parameter("redirect_uri")
        if redirect_uri != grant.redirect_uri:
            raise OAuthError("invalid_grant", 70000, "The provided value for the 'redirect_uri' is not valid. The "
                             "value must exactly match the redirect URI used to obtain the authorization code.")
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if not verifier or not secrets.compare_digest(digest, grant.code_challenge):
            raise OAuthError("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied "
                             "in the authorization request.")
        grant.used = True
        grant.save(update_fields=["used"])
        return _issue(grant.account, client_id, grant.scope.split())


def _refresh(form, client_id: str, grant: CalendarGrant | None) -> dict:
    if grant is None:
        raise OAuthError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
    if grant.revoked:
        issued = grant.created.strftime("%m/%d/%Y %H:%M:%S")
        raise OAuthError("invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh "
                         "auth token is needed. The user might have changed or reset their password. The grant was "
                         f"issued on '{issued}' and the TokensValidFrom date (before which tokens are not valid) for "
                         f"this user is '{timezone.now().strftime('%m/%d/%Y %H:%M:%S')}'.")
    if grant.client_id != client_id:
        raise OAuthError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
    granted = grant.scope.split()
    asked = scopes_parse(form.get("scope", "")) or granted
    if any(name not in granted for name in asked):
        raise OAuthError("invalid_grant", 65001, f"The user or administrator has not consented to use the "
                         f"application with ID '{client_id}'. Send an interactive authorization request for this "
                         "user and resource.")
    return _issue(grant.account, client_id, granted)


@csrf_exempt
def token(request: HttpRequest, tenant: str) -> HttpResponse:
    try:
        if request.method != "POST":
            raise OAuthError("invalid_request", 900561, f"The endpoint only accepts POST, OPTIONS requests. "
                             f"Received a {request.method} request.")
        form = request.POST
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise missing_parameter("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError("unsupported_grant_type", 70003,
                             f"The app requested an unsupported grant type '{grant_type}'.")
        kind, field = (Kind.CODE, "code") if grant_type == "authorization_code" else (Kind.REFRESH, "refresh_token")
        value = form.get(field, "")
        if not value:
            raise missing_parameter(field)
        grant = (CalendarGrant.objects.select_related("account")
                 .filter(value=value, kind=kind, account__provider=store.PROVIDER).first())
        _fault(grant.account if grant else None)
        client_id, secret = _client_credentials(request)
        _check_client(client_id, secret, tenant)
        body = _redeem_code(form, client_id, grant) if kind == Kind.CODE else _refresh(form, client_id, grant)
    except OAuthError as exc:
        return exc.response()
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store, no-cache"
    response["Pragma"] = "no-cache"
    return response
