"""The Voila dashboard in a real browser: the system Chromium driven by Playwright (no download)."""

from __future__ import annotations

import base64
import re
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import RUNNER, make_project, run_runner, write_config
from riskwatch import dashboard
from riskwatch.config import load_config
from riskwatch.newdata import atomic_write_text
from riskwatch.registry import Registry
from riskwatch.report_export import find_chromium
from riskwatch.risk import risk_list
from riskwatch.screenshots import LAUNCH_ARGS, WIDTH, capture_tabs, open_dashboard, show_tab
from riskwatch.screenshots import DashboardProcess as Dashboard
from riskwatch.riskfile import latest_risk_path
from unit_helpers import clients

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (make test installs it as root)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Path:
    config = make_project(tmp_path_factory.mktemp("dash") / "project")
    assert run_runner(config, "run").returncode == 0
    return config


@pytest.mark.integration
@needs_chromium
def test_dashboard_shows_the_model_and_the_what_if_panel_reacts(deployed: Path, browser, tmp_path: Path) -> None:
    f1 = Registry(load_config(deployed).registry_path).metrics(1)["f1"]
    with Dashboard(deployed) as dash:
        page = open_dashboard(browser, dash.url)
        page.get_by_text("Model in production: v1").wait_for(timeout=90_000)
        body = page.inner_text("body")
        assert f"{f1:.3f}" in body
        assert "What happened" in body and "deploy v1" in body and "Who is at risk" in body
        show_tab(page, "Clients at risk")
        probability = page.locator(".whatif-probability")
        probability.wait_for(timeout=60_000)
        before = probability.inner_text()
        assert "Attrition probability" in before
        box = page.locator(".whatif-lastmonth_activity input")
        box.fill("5")
        box.press("Enter")
        page.wait_for_function(
            "(old) => document.querySelector('.whatif-probability').innerText !== old", arg=before,
            timeout=30_000)
        after = probability.inner_text()
        assert after != before
        # Less activity last month means more risk, as the sample data's rule says.
        pct = lambda text: float(text.split(":")[1].split("%")[0])
        assert pct(after) > pct(before)
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert (tmp_path / "dashboard.png").stat().st_size > 10_000
        page.close()


@pytest.mark.integration
@needs_chromium
def test_empty_state_says_what_to_run(project: Path, browser) -> None:
    with Dashboard(project) as dash:
        page = browser.new_page()
        page.goto(dash.url, timeout=90_000)
        page.get_by_text("No model is deployed yet").wait_for(timeout=90_000)
        body = page.inner_text("body")
        assert "make run" in body and "Traceback" not in body and "Error" not in body
        page.close()


@pytest.mark.integration
def test_state_lookup_and_upload_use_the_api_scorer(deployed: Path) -> None:
    import base64

    import pandas as pd
    from fastapi.testclient import TestClient

    from riskwatch import dashboard
    from riskwatch.api import create_app
    from riskwatch.records import RecordError

    state = dashboard.load_state(deployed)
    assert state.ready and state.version == 1 and state.last_run["outcome"] == "deployed"
    test_csv = state.config.test_data_path / "testdata.csv"
    table = dashboard.risks_for(state, dashboard.read_upload(test_csv.read_bytes()))
    assert table["attrition_probability"].is_monotonic_decreasing
    api = TestClient(create_app(state.config)).post(
        "/prediction", content=test_csv.read_bytes(), headers={"content-type": "text/csv"}).json()
    by_id = {p["id"]: p["probability"] for p in api["predictions"]}
    top = table.iloc[0]
    assert by_id[top["corporation"]] == pytest.approx(top["attrition_probability"])
    link = dashboard.download_link(table, "r.csv", "download")
    decoded = base64.b64decode(link.split("base64,")[1].split('"')[0]).decode()
    assert decoded.splitlines()[0] == "corporation,attrition_probability,predicted_to_leave"
    some_id = pd.read_csv(state.config.finaldata_path)["corporation"].iloc[0]
    assert not dashboard.lookup_client(state, some_id).empty
    assert dashboard.lookup_client(state, "no-such-client").empty
    with pytest.raises(RecordError, match="missing column"):
        dashboard.risks_for(state, pd.DataFrame({"corporation": ["x"]}))
    low = dashboard.probability(state, {"lastmonth_activity": 5, "lastyear_activity": 3000, "number_of_employees": 2})
    high = dashboard.probability(state, {"lastmonth_activity": 900, "lastyear_activity": 3000, "number_of_employees": 200})
    assert low > high
    assert "No model is deployed yet" in dashboard.empty_state_message(dashboard.load_state(deployed))


def test_dashboard_kernel_does_not_import_the_web_framework() -> None:
    code = ("import riskwatch.dashboard, sys; "
            "print([m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', 'pydantic')])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=RUNNER.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def write_latest_list(config: Path, model, frame: pd.DataFrame) -> pd.DataFrame:
    """The risk list a cycle leaves beside the deployed model."""
    cfg = load_config(config)
    table = risk_list(model, frame, cfg.schema, 1, cfg.risk)
    atomic_write_text(latest_risk_path(cfg), table.to_csv(index=False))
    return table


def decoded_csv(link: str) -> pd.DataFrame:
    payload = base64.b64decode(link.split("base64,")[1].split('"')[0]).decode()
    return pd.read_csv(io.StringIO(payload), dtype={"corporation": "string", "risk_band": "string"})


def test_clients_at_risk_panel_counts_the_top_and_the_download(tmp_path: Path, good_model) -> None:
    config = write_config(tmp_path)
    assert dashboard.risk_overview(dashboard.load_state(config)) == (
        "### Clients at risk\nNo risk list yet: run a cycle with new client data.")
    table = write_latest_list(config, good_model, clients(230, seed=8))
    state = dashboard.load_state(config)
    counts = table["risk_band"].value_counts()
    overview = dashboard.risk_overview(state)
    assert overview.startswith("### Clients at risk\nLatest list (230 clients, model v1, written ")
    assert overview.endswith(f"**high {counts['high']}** · medium {counts['medium']} · low {counts['low']}")
    assert dashboard.risk_band_options(state) == [("all bands", ""), *(
        (f"{b} ({counts[b]})", b) for b in ("high", "medium", "low"))]

    top = dashboard.top_at_risk(state)
    assert len(top) == state.config.risk["top"] == 10 and list(top.index) == list(range(1, 11))
    assert top["corporation"].tolist() == table["corporation"].head(10).tolist()
    assert top["attrition risk"].iloc[0] == f"{table['probability'][0] * 100:.1f}%"
    medium = dashboard.top_at_risk(state, "medium")
    assert set(medium["band"]) == {"medium"}
    assert medium["corporation"].tolist() == table.loc[table["risk_band"] == "medium", "corporation"].head(10).tolist()

    everyone = dashboard.risk_download(state)
    assert "Download the list (230 clients) as CSV" in everyone and 'download="riskwatch-risk-list-v1.csv"' in everyone
    assert decoded_csv(everyone)["corporation"].tolist() == table["corporation"].tolist()
    low = dashboard.risk_download(state, "low")
    assert f"Download the low band ({counts['low']} clients) as CSV" in low
    assert len(decoded_csv(low)) == counts["low"] and set(decoded_csv(low)["risk_band"]) == {"low"}


def test_an_unreadable_list_is_one_line_not_a_crash(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    path = latest_risk_path(load_config(config))
    path.parent.mkdir(parents=True)
    path.write_text("corporation,probability\nacme,0.5\n")
    overview = dashboard.risk_overview(dashboard.load_state(config))
    assert overview.startswith("### Clients at risk\nThe latest risk list ") and "lacks column" in overview


@pytest.mark.integration
@needs_chromium
def test_clients_at_risk_panel_in_the_browser_filters_by_band(deployed: Path, browser, tmp_path: Path) -> None:
    shutil.copytree(deployed.parent, tmp_path / "risk")
    config = tmp_path / "risk" / "config.json"
    cfg = load_config(config)
    frame = pd.read_csv(cfg.test_data_path / "testdata.csv", dtype={"corporation": "string"})
    table = write_latest_list(config, Registry(cfg.registry_path).load_model(1), frame)
    counts = table["risk_band"].value_counts()
    with Dashboard(config) as dash:
        page = open_dashboard(browser, dash.url)
        show_tab(page, "Clients at risk")
        top = page.locator(".risk-top")
        top.get_by_text(table["corporation"][0]).first.wait_for(timeout=60_000)
        body = page.inner_text("body")
        assert "Latest list (1,250 clients, model v1" in body and f"high {counts['high']}" in body
        assert "Download the list (1,250 clients) as CSV" in body
        first_medium = table.loc[table["risk_band"] == "medium", "corporation"].iloc[0]
        page.locator(".risk-band select").select_option(label=f"medium ({counts['medium']})")
        page.wait_for_function("() => document.querySelector('.risk-top').innerText.includes('the medium band')",
                               timeout=30_000)
        shown = top.inner_text()
        assert first_medium in shown and "high" not in shown and "Traceback" not in page.inner_text("body")
        page.close()


@pytest.fixture(scope="module")
def two_cycles(tmp_path_factory) -> Path:
    """Practice, then the drifted production data: two deployments, a drift check, a risk list."""
    config = make_project(tmp_path_factory.mktemp("tabs") / "project")
    for mode in ("practice", "production"):
        assert run_runner(config, "--mode", mode, "run").returncode == 0
    return config


@pytest.mark.integration
@needs_chromium
def test_each_tab_at_1400_px(two_cycles: Path, browser, tmp_path: Path) -> None:
    """Issue 18: the overview answers what happened, how good the model is, who is at risk and what
    to do, without scrolling at 1,400 px; every tab shows its charts and titled tables; lookup and
    what-if give percentages and the band."""
    cfg = load_config(two_cycles)
    risk = pd.read_csv(latest_risk_path(cfg), dtype={"corporation": "string"})
    with Dashboard(two_cycles) as dash:
        page = open_dashboard(browser, dash.url, width=WIDTH, height=900)
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        shots = capture_tabs(page, tmp_path)
        for tab, png in shots.items():
            assert png.stat().st_size > 15_000, tab
            from PIL import Image
            with Image.open(png) as image:
                assert image.size == (WIDTH, 900)

        show_tab(page, "Overview")
        panel = page.locator(".rw-tabs .rw-panel").first
        for heading in ("What happened", "How good is the model", "Who is at risk", "What to do next"):
            box = panel.get_by_text(heading, exact=True).bounding_box()
            assert box is not None and box["y"] + box["height"] < 900, heading  # on screen without scrolling
        overview = panel.inner_text()
        assert "trained and deployed" in overview and "data drift: yes" in overview
        assert "0.630" in overview and "estimated F1" in overview
        assert risk["corporation"][0] in overview and f"{risk['probability'][0]:.1%}".replace("%", " %") in overview
        top_box = panel.get_by_text(risk["corporation"][0], exact=True).first.bounding_box()
        assert top_box["x"] > WIDTH / 2  # the at-risk column sits beside the story: the width is used

        show_tab(page, "Clients at risk")
        assert "Latest list (5,000 clients, model v2" in page.inner_text(".rw-tabs")
        assert page.locator(".rw-tabs img.rw-chart:visible").count() == 1  # the risk distribution
        assert re.search(r"Attrition probability: \d+\.\d % — risk band (low|medium|high)",
                         page.locator(".whatif-probability").inner_text())
        page.locator(".lookup-id input").fill(risk["corporation"][0])
        page.locator(".lookup-id input").press("Enter")
        page.wait_for_function("() => document.querySelector('.lookup-result').innerText.includes('%')",
                               timeout=30_000)
        found = page.locator(".lookup-result").inner_text()
        assert "attrition risk" in found and "risk band" in found and "high" in found
        assert not re.search(r"^\s*0\s", found, re.M)  # no pandas index column

        show_tab(page, "Drift")
        drift = page.inner_text(".rw-tabs")
        assert "Data drift per feature" in drift and "DRIFT" in drift and "threshold" in drift
        assert page.locator(".rw-tabs img.rw-chart:visible").count() == 1  # effect size per feature

        show_tab(page, "History")
        history = page.inner_text(".rw-tabs")
        assert "Deployments, rejections and rollbacks" in history and "v2" in history
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", history)  # dates, not raw ISO
        assert not re.search(r"0\.\d{4,}", history.split("reason")[0])  # F1 to 3 decimals
        assert page.locator(".rw-tabs img.rw-chart:visible").count() == 2  # scores by run, confusion matrix

        show_tab(page, "Data quality")
        quality = page.inner_text(".rw-tabs")
        assert "Missing data" in quality and "Summary statistics" in quality and "Quarantine" in quality
        assert "Traceback" not in page.inner_text("body")
        page.close()


def test_top_at_risk_html_has_no_index_name_row(tmp_path: Path, good_model) -> None:
    config = write_config(tmp_path)
    write_latest_list(config, good_model, clients(30, seed=8))
    html = dashboard.top_at_risk_html(dashboard.load_state(config))
    assert "<th>#</th>" in html and html.count("<tr") == 11 and "Download the list" in html
