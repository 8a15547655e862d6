"""The dashboard's tabs as HTML: percentages with their band, no index columns, titled sections.
(Each tab in a real browser: tests/test_dashboard.py::test_each_tab_at_1400_px.)"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from conftest import write_config
from riskwatch import dashboard, dashboard_panels as panels


def state(tmp_path: Path):
    return dashboard.load_state(write_config(tmp_path))


def test_what_if_gives_a_percentage_and_the_band(tmp_path: Path) -> None:
    s = state(tmp_path)  # risk.cutoffs [0.3, 0.6]
    assert panels.whatif_html(s, 0.402649) == ("<b>Attrition probability: 40.3 %</b> — risk band <b>medium</b> "
                                               "(likely to stay)")
    assert "risk band <b>high</b> (likely to leave)" in panels.whatif_html(s, 0.61)
    assert "risk band <b>low</b>" in panels.whatif_html(s, 0.0)


def test_lookup_shows_risk_and_band_without_an_index(tmp_path: Path) -> None:
    s = state(tmp_path)
    rows = pd.DataFrame({"corporation": ["acme"], "lastmonth_activity": [12], "attrition_probability": [0.402649]},
                        index=[7])
    html = panels.lookup_html(s, "acme", rows)
    assert "<td>40.3 %</td>" in html and "<td>medium</td>" in html and "<th>risk band</th>" in html
    assert "<td>7</td>" not in html and "attrition_probability" not in html
    assert "No client <code>nobody</code>" in panels.lookup_html(s, "nobody", rows.iloc[:0])


def test_upload_lists_percentages_bands_and_the_link(tmp_path: Path) -> None:
    s = state(tmp_path)
    table = pd.DataFrame({"corporation": ["a", "b"], "attrition_probability": [0.9, 0.1],
                          "predicted_to_leave": [True, False]})
    html = panels.upload_html(s, table, '<a href="x">Download as CSV</a>')
    assert "2 clients, highest risk first" in html and "<td>90.0 %</td>" in html and "<td>high</td>" in html
    assert "<td>yes</td>" in html and "<td>no</td>" in html


def test_tabs_before_any_cycle_say_so(tmp_path: Path) -> None:
    s = state(tmp_path)
    assert panels.TABS == ("Overview", "Clients at risk", "Drift", "History", "Data quality")
    assert "No drift check recorded yet" in panels.drift_html(s)
    assert "No runs recorded yet" in panels.history_html(s)
    assert "No diagnostics yet" in panels.quality_html(s) and "Nothing was quarantined" in panels.quality_html(s)
    assert "No risk list yet" in panels.risk_overview_html(s) and "<h3>Clients at risk</h3>" in panels.risk_overview_html(s)
