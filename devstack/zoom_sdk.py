"""Fetch the Zoom Video SDK for the browser from the npm registry into static/vendor/.

The SDK is Zoom's proprietary code (and 59 MB), so the repository does not carry it; this puts
the same files in place on a developer's machine or in the image, served by the app itself."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

VERSION = "2.5.0"
TARGET = Path(__file__).resolve().parent.parent / "static" / "vendor" / "zoom-videosdk"
# The virtual-background model: loaded only when a background effect starts, which the room never does.
LEFT_OUT = ("package/dist/lib/vb-resource/",)


def fetch(version: str = VERSION, target: Path = TARGET) -> Path:
    with tempfile.TemporaryDirectory() as scratch:
        packed = subprocess.run(["npm", "pack", f"@zoom/videosdk@{version}", "--silent"], cwd=scratch,
                                check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        with tarfile.open(Path(scratch) / packed) as archive:
            members = [m for m in archive.getmembers()
                       if (m.name == "package/dist/index.esm.js" or m.name.startswith("package/dist/lib/")
                           or m.name in ("package/LICENSE.md", "package/oss_attribution.txt"))
                       and not m.name.startswith(LEFT_OUT) and m.isfile()]
            archive.extractall(scratch, members=members, filter="data")
        dist = Path(scratch) / "package" / "dist"
        for name in ("index.esm.js", "lib", "LICENSE.md", "oss_attribution.txt"):
            path = target / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist / "index.esm.js", target / "index.esm.js")
        shutil.copytree(dist / "lib", target / "lib")
        for name in ("LICENSE.md", "oss_attribution.txt"):
            source = Path(scratch) / "package" / name
            if source.exists():
                shutil.copy2(source, target / name)
    return target
