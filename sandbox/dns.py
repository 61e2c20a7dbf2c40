"""The emulated DNS zone: the TXT records that verify custom domains under ``make dev`` and in tests
(``DNS_EMULATED``), answered by ``tenants.dns.txt_records`` instead of real DNS.

Records live in the cache (Redis) under ``sandbox:dns:``, always in the public schema's key space:
DNS is one zone for everyone, while cache keys otherwise carry the schema of the current host.

For scripts (JSON in, JSON out), on the platform host:

- ``POST /sandbox/dns/txt`` ``{"name": "_consultio-verify.book.acme.com", "value": "consultio-verify=…"}``
  sets the TXT record at ``name`` (replacing what was there) → 200 ``{"name", "values"}``;
- ``DELETE /sandbox/dns/txt`` ``{"name"}`` removes the records at ``name`` → 200 ``{"name", "values": []}``;
- ``GET /sandbox/dns/txt?name=…`` reads them → 200 ``{"name", "values"}``.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django_tenants.utils import get_public_schema_name, schema_context

PREFIX = "sandbox:dns:txt:"
RECORD_TTL_SECONDS = 7 * 24 * 3600
MAX_NAME_LENGTH = 253
MAX_VALUE_LENGTH = 2048


def _name(value: str) -> str:
    return value.strip().lower().rstrip(".")


def zone_txt(name: str) -> list[str]:
    """The TXT values at ``name`` in the emulated zone (``[]`` when there are none)."""
    with schema_context(get_public_schema_name()):
        return list(cache.get(PREFIX + _name(name)) or [])


def zone_txt_set(name: str, values: list[str]) -> None:
    with schema_context(get_public_schema_name()):
        if values:
            cache.set(PREFIX + _name(name), list(values), RECORD_TTL_SECONDS)
        else:
            cache.delete(PREFIX + _name(name))


def _invalid(detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": "invalid"}, status=422)


def _body(request: HttpRequest) -> dict | None:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _checked_name(value) -> str | None:
    if not isinstance(value, str):
        return None
    name = _name(value)
    return name if name and len(name) <= MAX_NAME_LENGTH and " " not in name else None


@csrf_exempt
def txt(request: HttpRequest) -> HttpResponse:
    if not (settings.DNS_EMULATED and settings.DNS_SANDBOX):
        raise Http404  # a production deployment never lets anyone write DNS answers
    if request.method == "GET":
        name = _checked_name(request.GET.get("name"))
        if name is None:
            return _invalid("Give the record's name as ?name=.")
        return JsonResponse({"name": name, "values": zone_txt(name)})
    if request.method not in ("POST", "DELETE"):
        return JsonResponse({"detail": f"{request.method} is not supported here.", "code": "method_not_allowed"},
                            status=405)
    body = _body(request)
    if body is None:
        return _invalid("Send a JSON object.")
    name = _checked_name(body.get("name"))
    if name is None:
        return _invalid(f"“name” must be a DNS name of at most {MAX_NAME_LENGTH} characters.")
    if request.method == "DELETE":
        zone_txt_set(name, [])
        return JsonResponse({"name": name, "values": []})
    value = body.get("value")
    if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH:
        return _invalid(f"“value” must be a string of at most {MAX_VALUE_LENGTH} characters.")
    zone_txt_set(name, [value])
    return JsonResponse({"name": name, "values": [value]})
