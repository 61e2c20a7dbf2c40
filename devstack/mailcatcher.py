"""A local SMTP server for development: every message is kept as an ``.eml``
file under ``.local/mail/``, where ``make dev`` users read them (``/sandbox/mail/``).

File names start with the UTC time of receipt to the microsecond, then a random
suffix (``20261125-120000-123456-1a2b3c4d.eml``), so sorting names newest first
orders the messages without opening them. The SMTP envelope recipients (which
include Bcc recipients, absent from the headers) are kept in an ``X-Envelope-To``
header prepended to the message; the file stays a plain RFC 5322 message.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

from devstack.services import LOCAL

MAIL_DIR = LOCAL / "mail"
ENVELOPE_HEADER = "X-Envelope-To"


def message_name(now: datetime | None = None) -> str:
    """``YYYYmmdd-HHMMSS-ffffff-<8 hex>``: sortable to the microsecond, unique within one."""
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:8]}"


def with_envelope(content: bytes, rcpt_tos: list[str]) -> bytes:
    """The message with an ``X-Envelope-To`` header line in front, naming the SMTP recipients."""
    # Addresses come from RCPT TO, so they have no CR/LF; strip them anyway to keep one header line.
    recipients = ", ".join(r.replace("\r", "").replace("\n", "") for r in rcpt_tos)
    newline = b"\r\n" if b"\r\n" in content[:2000] else b"\n"
    return f"{ENVELOPE_HEADER}: {recipients}".encode() + newline + content


class SaveToDisk:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        name = f"{message_name()}.eml"
        content = with_envelope(envelope.original_content or envelope.content, envelope.rcpt_tos)
        # Written under a name the outbox ignores, then renamed: readers never see half a message.
        partial = self.directory / f".{name}.part"
        partial.write_bytes(content)
        os.replace(partial, self.directory / name)
        print(f"mail: {envelope.mail_from} -> {', '.join(envelope.rcpt_tos)} saved as {name}", flush=True)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=MAIL_DIR)
    args = parser.parse_args()
    controller = Controller(SaveToDisk(args.dir), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"mail: SMTP on 127.0.0.1:{args.port}, messages in {args.dir}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
