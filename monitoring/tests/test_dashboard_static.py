"""plotly.js is served by the project from the installed plotly package: no CDN, no download."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from monitoring import dashboard_static
from monitoring.dashboard_static import PLOTLY_STATIC_PATH, PlotlyFinder


def test_the_finder_finds_the_bundle_the_plotly_package_ships() -> None:
    found = finders.find(PLOTLY_STATIC_PATH)

    assert found is not None
    bundle = Path(str(found))
    assert bundle.parts[-3:] == ("plotly", "package_data", "plotly.min.js")
    assert bundle.read_text(encoding="utf-8")[:200].lstrip("/* \n").startswith("plotly.js v")


def test_collectstatic_copies_the_one_file_under_its_static_path() -> None:
    finder = PlotlyFinder()

    listed = list(finder.list(None))

    assert [(path, storage.prefix) for path, storage in listed] == [("plotly.min.js", "monitoring/vendor")]
    assert finder.find("monitoring/vendor/other.js") is None
    assert finder.find("monitoring/vendor/other.js", find_all=True) == []
    assert finder.check() == []


def test_a_missing_bundle_is_a_system_check_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard_static, "plotly_bundle", lambda: None)
    finder = PlotlyFinder()

    errors = finder.check()

    assert [error.id for error in errors] == ["monitoring.E001"]
    assert finder.find(PLOTLY_STATIC_PATH) is None
    assert list(finder.list(None)) == []


# Closing a response ends its request, which tidies the database connections.
@pytest.mark.django_db
def test_the_site_serves_plotly_and_the_dashboard_script() -> None:
    for path in (PLOTLY_STATIC_PATH, "monitoring/dashboard.js", "monitoring/dashboard.css"):
        response = Client().get(f"/static/{path}")

        assert response.status_code == 200, path
        body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        response.close()
        assert body
    plotly = Client().get(f"/static/{PLOTLY_STATIC_PATH}")
    # A file response holds its file open until closed.
    plotly.close()
    assert "javascript" in plotly["Content-Type"]
