"""A local SMTP server for development: every message is kept as an ``.eml``
file under ``.local/mail/`` (newest last), where ``make dev`` users read them."""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller

from devstack.services import LOCAL

MAIL_DIR = LOCAL / "mail"


class SaveToDisk:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        (self.directory / name).write_bytes(envelope.original_content or envelope.content)
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
