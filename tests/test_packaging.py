"""The container image and the package must carry every app of the project."""

import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def _local_apps() -> set[str]:
    return {app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()}


def test_every_local_app_is_packaged_and_copied_into_the_image():
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packaged = {pattern.rstrip("*") for pattern in include}
    dockerfile = (ROOT / "platform" / "Dockerfile").read_text()
    for app in _local_apps():
        assert app in packaged, f"{app} is missing from pyproject's package list"
        assert f"COPY {app} ./{app}" in dockerfile, f"{app} is not copied into the image"
