"""Screenshot helpers: file names per tab, PNGs kept small, a PDF page as a PNG.
(Their use on a real dashboard: tests/test_dashboard.py::test_each_tab_at_1400_px.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from riskwatch.screenshots import TABS, report_page_png, shrink_png, tab_file


def test_one_file_per_tab() -> None:
    assert [tab_file(t) for t in TABS] == ["dashboard-overview.png", "dashboard-clients-at-risk.png",
                                           "dashboard-drift.png", "dashboard-history.png",
                                           "dashboard-data-quality.png"]


def test_shrink_png_gets_under_the_limit(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    path = tmp_path / "noise.png"
    Image.fromarray(noise).save(path)
    assert path.stat().st_size > 150_000
    shrink_png(path, 150_000)
    assert path.stat().st_size <= 150_000
    with Image.open(path) as image:
        assert image.size == (400, 300)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_report_page_png(tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    Image.new("RGB", (210, 297), "white").save(pdf)
    png = report_page_png(pdf, tmp_path / "docs" / "page1.png", resolution=30)
    with Image.open(png) as image:
        assert image.size[1] > image.size[0]
