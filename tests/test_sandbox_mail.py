"""The local outbox at /sandbox/mail/: messages travel over real SMTP to the `make dev`
mail catcher (devstack.mailcatcher), which writes them as .eml files that the pages and
the JSON read back."""

from __future__ import annotations

import base64
import email
import re
import socket
from datetime import datetime

import pytest
from aiosmtpd.controller import Controller
from django.core.mail import EmailMultiAlternatives

from core import devmail
from devstack.mailcatcher import SaveToDisk

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Consultio//Tests//EN\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:call-1@consultio.test\r\nDTSTART:20261201T100000Z\r\n"
    "DTEND:20261201T103000Z\r\nSUMMARY:Intro call\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
HTML = '<p>Hello <b>Dana</b>, <a href="http://demo.localhost:8000/calls/1/">open the call</a></p>'
TEXT = "Hello Dana,\nopen the call: http://demo.localhost:8000/calls/1/\n"
NAME = re.compile(r"^\d{8}-\d{6}-\d{6}-[0-9a-f]{8}$")


@pytest.fixture
def catcher(settings, tmp_path, mailbox):
    """The `make dev` mail catcher on a free port, writing into a fresh DEV_MAIL_DIR; its pages on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(SaveToDisk(tmp_path), hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAIL_SANDBOX = True
    settings.DEV_MAIL_DIR = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    yield tmp_path
    controller.stop()


def send(subject="Your call is booked", to=("Dana Demo <dana@demo.example>",), cc=(), bcc=(),
         attachments=True) -> str:
    """Send over SMTP; return the id of the message the catcher saved."""
    message = EmailMultiAlternatives(subject, TEXT, "Demo <no-reply@localhost>", list(to), cc=list(cc),
                                     bcc=list(bcc))
    message.attach_alternative(HTML, "text/html")
    if attachments:
        message.attach("invite.ics", ICS, "text/calendar; method=REQUEST")
        message.attach("dot.png", PNG, "image/png")
    assert message.send() == 1
    return max(path.stem for path in devmail._mail_dir().glob("*.eml"))


def get_json(client, host, **params):
    return client.get("/sandbox/mail.json", params, HTTP_HOST=host)


def test_the_catcher_keeps_sortable_parseable_files_with_the_envelope(catcher):
    first = send("First", bcc=["bea@demo.example"])
    second = send("Second")
    files = sorted(path.name for path in catcher.iterdir())
    assert files == [f"{first}.eml", f"{second}.eml"]  # nothing else, no partial files
    assert NAME.match(first) and NAME.match(second) and first < second
    raw = (catcher / f"{first}.eml").read_bytes()
    assert raw.startswith(b"X-Envelope-To: dana@demo.example, bea@demo.example\r\n")
    parsed = email.message_from_bytes(raw)
    assert parsed["Subject"] == "First" and parsed["Bcc"] is None


def test_json_has_the_exact_shape_with_text_and_binary_attachments(client, platform_host, catcher):
    message_id = send(cc=["Carl <carl@demo.example>"], bcc=["bea@demo.example"])
    response = get_json(client, platform_host)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    items = response.json()
    assert isinstance(items, list) and len(items) == 1
    item = items[0]
    assert set(item) == {"id", "from", "to", "subject", "sent_at", "text", "html", "attachments"}
    assert item["id"] == message_id
    assert item["from"] == "Demo <no-reply@localhost>"
    assert item["to"] == ["dana@demo.example", "carl@demo.example", "bea@demo.example"]
    assert item["subject"] == "Your call is booked"
    sent_at = datetime.fromisoformat(item["sent_at"])
    assert sent_at.tzinfo is not None and re.search(r"[+-]\d\d:\d\d$", item["sent_at"])
    assert item["text"] == TEXT
    assert item["html"] == HTML
    assert item["attachments"] == [
        {"filename": "invite.ics", "content_type": "text/calendar", "content": ICS, "encoding": "text"},
        {"filename": "dot.png", "content_type": "image/png", "content": base64.b64encode(PNG).decode(),
         "encoding": "base64"},
    ]
    assert base64.b64decode(item["attachments"][1]["content"]) == PNG


def test_a_calendar_part_without_a_file_name_is_an_invite(client, platform_host, catcher):
    from email.mime.text import MIMEText

    message = EmailMultiAlternatives("Invite", TEXT, "no-reply@localhost", ["dana@demo.example"])
    calendar = MIMEText(ICS, "calendar", "utf-8")
    calendar.set_param("method", "REQUEST")
    message.attach(calendar)
    message.send()
    [item] = get_json(client, platform_host).json()
    assert item["html"] == ""
    [invite] = item["attachments"]
    assert invite["filename"] == "invite.ics" and invite["encoding"] == "text"
    assert invite["content_type"] == "text/calendar" and "METHOD:REQUEST" in invite["content"]


def test_newest_first_filtered_by_any_recipient_and_limited(client, platform_host, catcher):
    ids = [
        send("One", to=["dana@demo.example"], attachments=False),
        send("Two", to=["erin@demo.example"], cc=["Dana@Demo.example"], attachments=False),
        send("Three", to=["erin@demo.example"], bcc=["dana@demo.example"], attachments=False),
        send("Four", to=["frank@demo.example"], attachments=False),
    ]  # all within a second or so: the microseconds in the names keep the order
    everything = get_json(client, platform_host).json()
    assert [item["subject"] for item in everything] == ["Four", "Three", "Two", "One"]
    assert [item["id"] for item in everything] == ids[::-1]

    for to in ("dana@demo.example", "DANA@demo.EXAMPLE"):
        assert [item["subject"] for item in get_json(client, platform_host, to=to).json()] == [
            "Three", "Two", "One"]
    assert [item["subject"] for item in get_json(client, platform_host, to="erin@demo.example", limit=1).json()] \
        == ["Three"]
    assert get_json(client, platform_host, to="demo.example").json() == []  # whole addresses only
    assert get_json(client, platform_host, to="nobody@demo.example").json() == []
    assert [item["subject"] for item in get_json(client, platform_host, limit=2).json()] == ["Four", "Three"]
    assert len(get_json(client, platform_host, limit=500).json()) == 4


@pytest.mark.parametrize("limit", ["0", "501", "-1", "abc", "", "1.5", "10x"])
def test_limit_outside_1_to_500_is_a_400(client, platform_host, catcher, limit):
    response = get_json(client, platform_host, limit=limit)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"]


def test_without_a_filter_only_the_messages_returned_are_parsed(client, platform_host, catcher, monkeypatch):
    message_id = send("Template", attachments=False)
    raw = (catcher / f"{message_id}.eml").read_bytes()
    for n in range(3000):
        (catcher / f"20200101-000000-{n:06d}-0000abcd.eml").write_bytes(raw)
    parsed = []
    real_parse = devmail._parse
    monkeypatch.setattr(devmail, "_parse", lambda path: parsed.append(path) or real_parse(path))
    items = get_json(client, platform_host, limit=5).json()
    assert [item["id"] for item in items][0] == message_id and len(items) == 5
    assert len(parsed) == 5
    parsed.clear()
    assert len(get_json(client, platform_host, to="dana@demo.example", limit=3).json()) == 3
    assert len(parsed) == 3  # the filter reads headers only


def test_list_and_detail_pages_show_the_message_and_its_attachments(client, platform_host, catcher):
    message_id = send(bcc=["bea@demo.example"])
    listing = client.get("/sandbox/mail/", HTTP_HOST=platform_host)
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "Your call is booked" in page and f'href="/sandbox/mail/{message_id}/"' in page
    assert "dana@demo.example" in page

    detail = client.get(f"/sandbox/mail/{message_id}/", HTTP_HOST=platform_host)
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "Your call is booked" in page and "Demo &lt;no-reply@localhost&gt;" in page
    assert "Dana Demo &lt;dana@demo.example&gt;" in page and "bea@demo.example" in page
    assert '<a href="http://demo.localhost:8000/calls/1/">' in page  # the text, links clickable
    # The HTML part only ever inside a sandboxed iframe, escaped into srcdoc.
    iframe = re.search(r"<iframe[^>]*>", page).group(0)
    assert 'sandbox=""' in iframe
    assert 'srcdoc="&lt;p&gt;Hello &lt;b&gt;Dana&lt;/b&gt;' in iframe
    assert "<b>Dana</b>" not in page
    assert f'href="/sandbox/mail/{message_id}/attachments/0"' in page
    assert f'href="/sandbox/mail/{message_id}/attachments/1"' in page
    assert "invite.ics" in page and "dot.png" in page
    assert "SUMMARY:Intro call" in page  # the invitation, shown as text


def test_attachments_download_with_their_type(client, platform_host, catcher):
    message_id = send()
    png = client.get(f"/sandbox/mail/{message_id}/attachments/1", HTTP_HOST=platform_host)
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    assert png["Content-Disposition"] == 'attachment; filename="dot.png"'
    assert png.content == PNG

    ics = client.get(f"/sandbox/mail/{message_id}/attachments/0", HTTP_HOST=platform_host)
    assert ics.status_code == 200
    assert ics["Content-Type"].startswith("text/calendar")
    assert "method=REQUEST" in ics["Content-Type"]
    assert ics["Content-Disposition"] == 'attachment; filename="invite.ics"'
    assert ics.content.decode() == ICS

    for path in (f"/sandbox/mail/{message_id}/attachments/2", "/sandbox/mail/20200101-000000-000000-00000000/",
                 "/sandbox/mail/..%2F..%2Fsecret/", "/sandbox/mail/.hidden/"):
        assert client.get(path, HTTP_HOST=platform_host).status_code == 404, path


def test_old_dev_mail_links_redirect(client, platform_host, catcher):
    message_id = send(attachments=False)
    response = client.get("/dev/mail/", HTTP_HOST=platform_host)
    assert response.status_code == 302 and response["Location"] == "/sandbox/mail/"
    response = client.get(f"/dev/mail/{message_id}.eml/", HTTP_HOST=platform_host)
    assert response.status_code == 302 and response["Location"] == f"/sandbox/mail/{message_id}/"


def _all_paths(message_id):
    return ["/sandbox/mail/", "/sandbox/mail.json", f"/sandbox/mail/{message_id}/",
            f"/sandbox/mail/{message_id}/attachments/0", "/dev/mail/", f"/dev/mail/{message_id}.eml/"]


def test_not_served_without_debug(client, platform_host, catcher, settings):
    message_id = send()
    settings.MAIL_SANDBOX = False
    for path in _all_paths(message_id):
        assert client.get(path, HTTP_HOST=platform_host).status_code == 404, path


def test_not_served_on_a_tenant_host(client, alpha_host, catcher):
    message_id = send()
    for path in _all_paths(message_id):
        # (A path without a trailing slash may first be redirected to the site's page of that name.)
        assert client.get(path, HTTP_HOST=alpha_host, follow=True).status_code == 404, path
