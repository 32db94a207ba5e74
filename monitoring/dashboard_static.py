"""plotly.js for the regulators' dashboard, served from the installed ``plotly`` package.

The PyPI package ships the browser bundle (``plotly/package_data/plotly.min.js``); this finder
exposes that one file as the static file ``monitoring/vendor/plotly.min.js``. It is found the way
every static file is: by ``runserver`` and WhiteNoise's finders (``make run``, DEBUG on or off),
and copied by ``collectstatic`` for production. Nothing is fetched from a CDN, and the version
is the one pinned in pyproject.toml.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage

PLOTLY_STATIC_PATH = "monitoring/vendor/plotly.min.js"
_PREFIX, _, _NAME = PLOTLY_STATIC_PATH.rpartition("/")


def plotly_bundle() -> Path | None:
    """The installed package's plotly.min.js, found without importing plotly."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    bundle = Path(next(iter(spec.submodule_search_locations))) / "package_data" / _NAME
    return bundle if bundle.is_file() else None


class PlotlyFinder(BaseFinder):
    """Finds ``monitoring/vendor/plotly.min.js`` in the installed plotly package, and only it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bundle = plotly_bundle()
        self.bundle = bundle
        self.storage: FileSystemStorage | None = None
        if bundle is not None:
            self.storage = FileSystemStorage(location=str(bundle.parent))
            # collectstatic and WhiteNoise put a storage's files under its prefix.
            self.storage.prefix = _PREFIX  # type: ignore[attr-defined]

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        if self.bundle is None:
            return [
                Error(
                    "plotly.min.js was not found in the installed plotly package.",
                    hint="Install the project's dependencies (pip install -e .): the dashboard's charts need it.",
                    id="monitoring.E001",
                )
            ]
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        found = [str(self.bundle)] if self.bundle is not None and path == PLOTLY_STATIC_PATH else []
        if find_all:
            return found
        return found[0] if found else None

    def list(self, ignore_patterns: Any) -> Any:
        if self.storage is not None:
            yield _NAME, self.storage
