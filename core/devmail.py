"""The outbox of local runs: the emails the local SMTP server received, as pages and JSON.

``make dev`` sends every email over SMTP to ``devstack.mailcatcher``, which keeps each
message as an ``.eml`` file in ``settings.DEV_MAIL_DIR`` (``.local/mail/``). This module
shows them on the platform host, and only while ``MAIL_SANDBOX`` is on (by default under DEBUG; 404 otherwise):

- ``/sandbox/mail/``: the list, newest first (``?to=<address>`` to filter);
- ``/sandbox/mail/<id>/``: one message: headers, text, the HTML part in a sandboxed
  iframe, attachments (``.ics`` invitations also shown as text);
- ``/sandbox/mail/<id>/attachments/<n>``: attachment ``n`` (0-based, the order of
  ``attachments`` in the JSON), as a download;
- ``/sandbox/mail.json?to=<address>&limit=100``: the messages for scripts, newest first:
  ``[{"id", "from", "to", "subject", "sent_at", "text", "html", "attachments": [{"filename",
  "content_type", "content", "encoding": "text"|"base64"}]}]``.

``id`` is the file name without ``.eml``; names start with the time of receipt, so sorting
names orders messages without opening them. ``to`` holds the bare addresses of the To and
Cc headers and of the SMTP envelope (``X-Envelope-To``, written by the catcher; it also
names Bcc recipients). The old ``/dev/mail/`` links redirect here.
"""

from __future__ import annotations

import base64
import email
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

# The header devstack/mailcatcher.py prepends with the SMTP envelope recipients.
ENVELOPE_HEADER = "X-Envelope-To"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
LIST_PAGE_SIZE = 200
CALENDAR_FILENAME = "invite.ics"

_ID = re.compile(r"^[\w-][\w.-]*$")
_LIMIT = re.compile(r"^[0-9]{1,6}$")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


# --- Files -------------------------------------------------------------------


def _mail_dir() -> Path:
    return Path(settings.DEV_MAIL_DIR)


def _ids() -> list[str]:
    """Message ids, newest first: sorting the names is enough, no file is opened."""
    try:
        with os.scandir(_mail_dir()) as entries:
            names = [entry.name[:-4] for entry in entries
                     if entry.name.endswith(".eml") and _ID.match(entry.name[:-4])]
    except (FileNotFoundError, NotADirectoryError):
        return []
    names.sort(reverse=True)
    return names


def _path(message_id: str) -> Path:
    if not _ID.match(message_id):
        raise Http404
    path = _mail_dir() / f"{message_id}.eml"
    if not path.is_file():
        raise Http404
    return path


def _read_headers(path: Path) -> bytes:
    """The header block of a message file, read in small chunks so attachments stay on disk."""
    data = b""
    with path.open("rb") as handle:
        while chunk := handle.read(8192):
            start = max(0, len(data) - 3)  # a blank line may straddle two chunks
            data += chunk
            end = _HEADER_END.search(data, start)
            if end is not None:
                return data[: end.end()]
    return data


# --- Messages ------------------------------------------------------------------


def _raw_values(message, name: str) -> list[str]:
    """A header's values as sent (unfolded, encoded words kept): cheap, and safe to split into
    addresses (a decoded display name may hold a comma)."""
    values = []
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            if isinstance(value, str):  # bytes that were not ASCII come back surrogate-escaped
                value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            values.append(_FOLD.sub("", str(value)).strip())
    return values


def _decode(raw: str) -> str:
    try:
        return str(make_header(decode_header(raw)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return raw


def _header(message, name: str) -> str:
    """The first value of a header, decoded for display ("" when absent)."""
    values = _raw_values(message, name)
    return _decode(values[0]) if values else ""


def _addresses(values: list[str]) -> list[str]:
    return [address for _, address in getaddresses(values) if address]


def _recipients(message) -> tuple[list[str], list[str], list[str]]:
    """(To + Cc addresses, envelope-only addresses, all of them once, in that order)."""
    headed = _addresses(_raw_values(message, "To") + _raw_values(message, "Cc"))
    envelope = _addresses(_raw_values(message, ENVELOPE_HEADER)[:1])  # the first one: the catcher's
    seen: set[str] = set()
    every: list[str] = []
    for address in headed + envelope:
        if address.lower() not in seen:
            seen.add(address.lower())
            every.append(address)
    headed_lower = {a.lower() for a in headed}
    only_envelope = [a for a in every if a.lower() not in headed_lower]
    return headed, only_envelope, every


def _sent_at(message, path: Path) -> datetime:
    """The Date header, aware (a ``-0000`` zone is UTC); the file's time when there is none."""
    raw = _header(message, "Date")
    if raw:
        try:
            sent = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            sent = None
        if sent is not None:
            return sent if sent.tzinfo is not None else sent.replace(tzinfo=UTC)
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


@dataclass(frozen=True)
class Summary:
    id: str
    sender: str
    subject: str
    to: tuple[str, ...]
    to_lower: frozenset[str]
    sent_at: datetime
    has_attachments: bool


@lru_cache(maxsize=20_000)
def _summary_cached(path_str: str, mtime_ns: int, size: int) -> Summary:
    path = Path(path_str)
    message = BytesHeaderParser(policy=policy.compat32).parsebytes(_read_headers(path))
    _, _, every = _recipients(message)
    return Summary(
        id=path.stem, sender=_header(message, "From"), subject=_header(message, "Subject"),
        to=tuple(every), to_lower=frozenset(a.lower() for a in every), sent_at=_sent_at(message, path),
        has_attachments=message.get_content_type() == "multipart/mixed",
    )


def _summary(message_id: str) -> Summary | None:
    """Headers only, cached per file: once read, a few thousand messages filter in milliseconds."""
    path = _mail_dir() / f"{message_id}.eml"
    try:
        stat = path.stat()
        return _summary_cached(str(path), stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:  # deleted meanwhile
        return None


def _select(to: str, limit: int) -> list[str]:
    """The ids of the newest ``limit`` messages, to ``to`` when given (any recipient, any case)."""
    ids = _ids()
    if not to:
        return ids[:limit]
    to = to.lower()
    chosen = []
    for message_id in ids:
        summary = _summary(message_id)
        if summary is not None and to in summary.to_lower:
            chosen.append(message_id)
            if len(chosen) == limit:
                break
    return chosen


def _parse(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def _leaves(part):
    if part.get_content_maintype() == "multipart":
        for sub in part.iter_parts():
            yield from _leaves(sub)
    else:
        yield part


def _bytes(part) -> bytes:
    if part.get_content_maintype() == "message":  # an attached email: its source
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else payload
        return inner.as_bytes() if hasattr(inner, "as_bytes") else str(inner).encode()
    return part.get_payload(decode=True) or b""


def _text(part) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, KeyError, AssertionError):
        content = None
    if isinstance(content, str):
        return content
    return _bytes(part).decode(part.get_content_charset() or "utf-8", errors="replace")


def _normalise_newlines(text: str) -> str:
    # SMTP carries every line with CRLF; the body as written had plain newlines.
    return text.replace("\r\n", "\n")


@dataclass(frozen=True)
class Attachment:
    index: int
    filename: str
    content_type: str
    data: bytes
    part: object

    @property
    def is_text(self) -> bool:
        return self.content_type.startswith("text/")

    @property
    def is_calendar(self) -> bool:
        return self.content_type == "text/calendar" or self.filename.lower().endswith(".ics")

    @property
    def text(self) -> str:
        return _text(self.part)

    @property
    def size(self) -> int:
        return len(self.data)

    def as_json(self) -> dict:
        if self.is_text:
            return {"filename": self.filename, "content_type": self.content_type, "content": self.text,
                    "encoding": "text"}
        return {"filename": self.filename, "content_type": self.content_type,
                "content": base64.b64encode(self.data).decode("ascii"), "encoding": "base64"}

    def response_content_type(self) -> str:
        value = self.content_type
        if self.is_text:
            value += f'; charset={self.part.get_content_charset() or "utf-8"}'
        method = self.part.get_param("method") if self.content_type == "text/calendar" else None
        if isinstance(method, str) and re.fullmatch(r"[A-Za-z-]+", method):
            value += f"; method={method}"
        return value


def _bodies_and_attachments(message) -> tuple[str, str, list[Attachment]]:
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    bodies = {id(part) for part in (plain, html) if part is not None}
    attachments = []
    for part in _leaves(message):
        if id(part) in bodies:
            continue
        content_type = part.get_content_type()
        filename = part.get_filename()
        if not filename and content_type != "text/calendar":
            continue
        attachments.append(Attachment(index=len(attachments), filename=filename or CALENDAR_FILENAME,
                                      content_type=content_type, data=_bytes(part), part=part))
    text = _normalise_newlines(_text(plain)) if plain is not None else ""
    html_text = _normalise_newlines(_text(html)) if html is not None else ""
    return text, html_text, attachments


def _as_json(message_id: str) -> dict | None:
    path = _mail_dir() / f"{message_id}.eml"
    try:
        message = _parse(path)
    except FileNotFoundError:
        return None
    _, _, every = _recipients(message)
    text, html, attachments = _bodies_and_attachments(message)
    return {
        "id": message_id,
        "from": _header(message, "From"),
        "to": every,
        "subject": _header(message, "Subject"),
        "sent_at": _sent_at(message, path).isoformat(),
        "text": text,
        "html": html,
        "attachments": [attachment.as_json() for attachment in attachments],
    }


# --- Views ---------------------------------------------------------------------


def _guard(request: HttpRequest) -> None:
    """Served while the local mail catcher is in use (MAIL_SANDBOX, on under DEBUG), on the platform
    host only."""
    if not settings.MAIL_SANDBOX:
        raise Http404
    tenant = getattr(request, "tenant", None)
    if tenant is not None and not getattr(tenant, "is_public", False):
        raise Http404


def _linkify(text: str) -> str:
    return re.sub(r"(https?://\S+)", r'<a href="\1">\1</a>', escape(text))


def _wanted_address(raw: str) -> str:
    raw = raw.strip()
    return (parseaddr(raw)[1] or raw).lower()


@never_cache
@require_safe
def mail_list(request: HttpRequest) -> HttpResponse:
    _guard(request)
    to = _wanted_address(request.GET.get("to", ""))
    rows = [s for s in (_summary(i) for i in _select(to, LIST_PAGE_SIZE)) if s is not None]
    return render(request, "core/devmail_list.html", {
        "rows": rows, "mail_dir": _mail_dir(), "to": to, "page_size": LIST_PAGE_SIZE,
    })


@never_cache
@require_safe
def mail_json(request: HttpRequest) -> JsonResponse:
    _guard(request)
    raw_limit = request.GET.get("limit", str(DEFAULT_LIMIT))
    if not _LIMIT.match(raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
        return JsonResponse({"detail": f"limit must be a whole number from 1 to {MAX_LIMIT}."}, status=400)
    to = _wanted_address(request.GET.get("to", ""))
    items = [item for item in (_as_json(i) for i in _select(to, int(raw_limit))) if item is not None]
    return JsonResponse(items, safe=False)


@never_cache
@require_safe
def mail_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    _guard(request)
    path = _path(message_id)
    message = _parse(path)
    headed, only_envelope, _ = _recipients(message)
    text, html, attachments = _bodies_and_attachments(message)
    return render(request, "core/devmail_detail.html", {
        "id": message_id,
        "sender": _header(message, "From"),
        "to_header": _header(message, "To"),
        "cc_header": _header(message, "Cc"),
        "envelope_only": only_envelope,
        "subject": _header(message, "Subject"),
        "sent_at": _sent_at(message, path),
        "body": mark_safe(_linkify(text)),  # noqa: S308 - escaped by _linkify
        "has_text": bool(text),
        "html": html,
        "attachments": attachments,
    })


@never_cache
@require_safe
def mail_attachment(request: HttpRequest, message_id: str, index: int) -> HttpResponse:
    _guard(request)
    _, _, attachments = _bodies_and_attachments(_parse(_path(message_id)))
    if not 0 <= index < len(attachments):
        raise Http404
    attachment = attachments[index]
    response = HttpResponse(attachment.data, content_type=attachment.response_content_type())
    filename = re.sub(r"[\x00-\x1f\x7f/\\]", "_", attachment.filename)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def old_list(request: HttpRequest) -> HttpResponse:
    """``/dev/mail/`` was the outbox's first address."""
    _guard(request)
    return redirect("sandbox_mail")


def old_detail(request: HttpRequest, name: str) -> HttpResponse:
    _guard(request)
    message_id = name.removesuffix(".eml")
    if not _ID.match(message_id):
        raise Http404
    return redirect("sandbox_mail_detail", message_id=message_id)
