from django.core.mail import EmailMessage


def _write(tmp_path):
    message = EmailMessage("Confirm your email address for Demo",
                           "Open http://demo.localhost:8000/verify-email/abc/ now",
                           "Demo <no-reply@localhost>", ["dana@demo.example"]).message()
    (tmp_path / "20261125-120000-abcd1234.eml").write_bytes(message.as_bytes())


def test_local_outbox_lists_and_shows_messages_with_clickable_links(client, platform_host, settings, tmp_path):
    settings.MAIL_SANDBOX = True
    settings.DEV_MAIL_DIR = tmp_path
    _write(tmp_path)
    # The outbox moved to /sandbox/mail/; the old /dev/mail/ links redirect there.
    listing = client.get("/dev/mail/", HTTP_HOST=platform_host, follow=True).content.decode()
    assert "Confirm your email address for Demo" in listing and "dana@demo.example" in listing
    detail = client.get("/dev/mail/20261125-120000-abcd1234.eml/", HTTP_HOST=platform_host,
                        follow=True).content.decode()
    assert '<a href="http://demo.localhost:8000/verify-email/abc/">' in detail


def test_local_outbox_is_off_without_debug_and_refuses_odd_names(client, platform_host, settings, tmp_path):
    settings.DEV_MAIL_DIR = tmp_path
    _write(tmp_path)
    assert client.get("/dev/mail/", HTTP_HOST=platform_host).status_code == 404
    settings.MAIL_SANDBOX = True
    assert client.get("/dev/mail/..%2Fsecret_key/", HTTP_HOST=platform_host).status_code == 404
    assert client.get("/sandbox/mail/..%2Fsecret_key/", HTTP_HOST=platform_host).status_code == 404
    assert client.get("/dev/mail/", HTTP_HOST="alpha.localhost").status_code == 404
