"""The manager's report: page 1 tells the whole story; charts and tables read right; the appendix
agrees with the console. Integration tests run real cycles and read the real PDF back."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import make_project, run_dirs, run_runner
from riskwatch.report_export import find_chromium
from riskwatch.report_tables import drift_table
from riskwatch.reporting import recent_models

needs_pdf_tools = pytest.mark.skipif(find_chromium() is None or shutil.which("pdftoppm") is None,
                                     reason="needs chromium and poppler-utils (make test installs them as root)")


def test_drift_table_is_readable() -> None:
    drift = {"features": [{"feature": "a", "method": "ks", "statistic": 0.5, "p_value": 0.001,
                           "effect_size": 1.2, "effect_name": "wasserstein/std", "psi": 0.4,
                           "psi_band": "significant change", "drifted": True}]}
    table = drift_table(drift)
    row = table.iloc[0]
    assert row["feature"] == "a" and row["verdict"] == "DRIFT" and row["PSI"] == "0.400 (high)"
    assert row["p-value"] == "0.001" and row["effect size"] == "1.200"
    assert drift_table(None).empty


def test_recent_models_name_their_role() -> None:
    class FakeRegistry:
        def versions(self):
            return [1, 2, 3]

        def metrics(self, v):
            return None if v == 3 else {"f1": v / 10}

        def status(self, v):
            return {"status": "rejected" if v == 2 else "accepted"}

    rows = recent_models(FakeRegistry(), 1)
    assert [(r["version"], r["role"]) for r in rows] == [(2, "new, rejected"), (1, "in production")]


def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def two_cycles(tmp_path_factory) -> Path:
    """Practice data with a broken file (quarantined), then the drifted production data."""
    config = make_project(tmp_path_factory.mktemp("report") / "project")
    (config.parent / "data/practicedata/broken.csv").write_text("corporation,lastmonth_activity\nabcd,12\n")
    for mode in ("practice", "production"):
        result = run_runner(config, "--mode", mode, "run")
        assert result.returncode == 0, result.stdout + result.stderr
    return config


@pytest.mark.integration
@needs_pdf_tools
def test_page_one_tells_the_whole_story(two_cycles: Path, tmp_path: Path) -> None:
    root = two_cycles.parent
    first, second = run_dirs(root)
    record = json.loads((second / "run.json").read_text())
    pdf = second / "report.pdf"
    page1 = pdf_text(pdf, 1)
    # what happened and why (the drift explanation), in plain words
    assert "What happened" in page1 and "trained and deployed" in page1 and "v2 is now in production" in page1
    assert "data drift: yes" in page1 and "why: drifted most" in page1
    # how good the model is: realised on test data and estimated on the new clients
    f1 = record["decisions"]["deploy"]["reasons"][0].split("test F1 ")[1].split()[0]
    assert "How good is the model" in page1 and f"{float(f1):.3f}" in page1 and "estimated F1 on 5,000" in page1
    # who is at risk: count per band and the top clients, as percentages
    risk = record["risk"]
    assert "Who is at risk" in page1 and "5,000 clients" in page1
    for band, n in risk["band_counts"].items():
        assert re.search(rf"{band}\s+{n:,}\s+\d+\.\d %", page1), (band, n)
    top = [line.split() for line in (second / "risk_scores.csv").read_text().splitlines()[1:4]]
    assert top and all(row[0].split(",")[0] in page1 for row in top)
    # what was quarantined, and what to do next
    assert "Quarantine" in page1 and "What to do next" in page1 and "Contact the" in page1
    assert "Nothing was quarantined" in page1  # the broken file came with the first run, not this one
    first_page1 = pdf_text(first / "report.pdf", 1)
    assert "broken.csv" in first_page1 and "Fix the quarantined data (broken.csv)" in first_page1
    assert "Model scores by run" not in page1  # charts come after page 1
    # page 1 rendered: not blank, A4
    png = tmp_path / "page1.png"
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-singlefile", "-f", "1", "-l", "1", str(pdf),
                    str(png.with_suffix(""))], check=True)
    import numpy as np
    from PIL import Image

    with Image.open(png) as image:
        pixels = np.asarray(image.convert("L"))
    height, width = pixels.shape
    assert abs(height / width - 297 / 210) < 0.02  # A4
    dark_rows = np.flatnonzero((pixels < 128).any(axis=1))
    assert pixels.max() > 200 and len(dark_rows) > height * 0.2  # text on a white page
    assert dark_rows[-1] > height * 0.4  # the page is used, not a title alone


@pytest.mark.integration
@needs_pdf_tools
def test_sections_tables_and_appendix_read_as_a_person_writes(two_cycles: Path) -> None:
    root = two_cycles.parent
    second = run_dirs(root)[-1]
    record = json.loads((second / "run.json").read_text())
    text = pdf_text(second / "report.pdf")
    for title in ("1. The model", "2. Scores by run", "3. Data drift per feature", "4. Clients at risk",
                  "5. Data quality", "Appendix: diagnostics"):
        assert title in text
    # no pandas index-name rows on a line of their own
    lines = [line.strip() for line in text.splitlines()]
    for name in ("version", "at", "feature", "package", "client", "scored in run"):
        assert name not in lines, name
    # one drift table only: the model trained in this run is not compared with its own training data
    assert text.count("threshold") >= 1 and "All ingested data against" not in text
    # dates as dates, scores to 3 decimals, no raw ISO times
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d\s+deploy\s+v2\s+0\.630", text)
    # the appendix uses the console's figures (run.json's seconds, one decimal) for every stage so far
    appendix = text[text.index("Appendix: diagnostics"):]
    for stage in record["stages"][:-1]:
        assert re.search(rf"{stage['name']}\s+{stage['seconds']:.1f}\s+ok", appendix), stage
    assert re.search(r"reporting\s+\(this report\)\s+running", appendix)
    assert "Packages:" in appendix and "papermill" in appendix
    info = subprocess.run(["pdfinfo", str(second / "report.pdf")], capture_output=True, text=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) <= 5
