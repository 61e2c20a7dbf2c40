"""Fetch axe-core (the accessibility engine the browser tests run on each page) from the npm
registry into static/vendor/axe-core/.

axe-core is MPL-2.0 and small, so, unlike the Zoom SDK, the repository carries it: this script
is how the committed copy was made and how it is updated (change VERSION, run
``make axe-core``, commit the three files). The app serves it like any other static file; the
tests inject it from there, never from a CDN."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "4.14.1"
TARGET = Path(__file__).resolve().parent.parent / "static" / "vendor" / "axe-core"
FILES = {"package/axe.min.js": "axe.min.js", "package/LICENSE": "LICENSE"}


def fetch(version: str = VERSION, target: Path = TARGET) -> Path:
    with tempfile.TemporaryDirectory() as scratch:
        packed = subprocess.run(["npm", "pack", f"axe-core@{version}", "--silent"], cwd=scratch,
                                check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        tarball = Path(scratch) / packed
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as archive:
            for member, name in FILES.items():
                source = archive.extractfile(member)
                if source is None:
                    raise RuntimeError(f"{member} is missing from axe-core {version}")
                (target / name).write_bytes(source.read())
    (target / "README.txt").write_text(
        f"axe-core {version} from the npm registry: https://registry.npmjs.org/axe-core/-/axe-core-{version}.tgz\n"
        f"(integrity {integrity}).\n"
        "MPL-2.0, see LICENSE. Source code: https://github.com/dequelabs/axe-core\n"
        "Only axe.min.js is kept. Served at /static/vendor/axe-core/axe.min.js for the accessibility\n"
        "tests (tests/test_accessibility.py); update with `make axe-core` (devstack/axe_core.py).\n")
    return target


if __name__ == "__main__":
    print(f"axe-core {sys.argv[1] if len(sys.argv) > 1 else VERSION} in "
          f"{fetch(*(sys.argv[1:2] or [VERSION]))}")
