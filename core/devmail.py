"""The outbox of local runs: the emails the local SMTP server received, as pages.

Only served when ``DJANGO_DEBUG`` is on (``make dev``), on the platform host at
``/dev/mail/``; the messages are the ``.eml`` files in ``.local/mail/``.
"""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import mark_safe

_NAME = re.compile(r"^[\w.-]+\.eml$")


def _mail_dir() -> Path:
    return Path(settings.DEV_MAIL_DIR)


def _messages() -> list[Path]:
    if not _mail_dir().exists():
        return []
    return sorted(_mail_dir().glob("*.eml"), reverse=True)


def _parse(path: Path):
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def _linkify(text: str) -> str:
    return re.sub(r"(https?://\S+)", r'<a href="\1">\1</a>', escape(text))


def mail_list(request: HttpRequest) -> HttpResponse:
    if not settings.DEBUG:
        raise Http404
    rows = []
    for path in _messages()[:200]:
        message = _parse(path)
        rows.append({"name": path.name, "subject": message["Subject"], "to": message["To"],
                     "from": message["From"], "date": message["Date"] or path.name[:15]})
    return render(request, "core/devmail_list.html", {"rows": rows, "mail_dir": _mail_dir()})


def mail_detail(request: HttpRequest, name: str) -> HttpResponse:
    if not settings.DEBUG or not _NAME.match(name) or not (_mail_dir() / name).exists():
        raise Http404
    message = _parse(_mail_dir() / name)
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    attachments = [part.get_filename() for part in message.iter_attachments()]
    return render(request, "core/devmail_detail.html", {
        "message": message, "body": mark_safe(_linkify(text)), "attachments": attachments,  # noqa: S308
    })
