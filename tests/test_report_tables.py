"""Tables as a person writes them: no index-name rows, 3 decimals, percentages, dates."""

from __future__ import annotations

import pandas as pd

from riskwatch import report_tables as t

FEATURE = {"feature": "a", "method": "wasserstein_norm", "statistic": 0.5, "p_value": None, "effect_size": 0.5,
           "effect_name": "wasserstein/std", "threshold": 0.1, "noise_bound": 0.04123, "psi": 0.4,
           "psi_band": "significant change", "drifted": True}


def test_numbers_percentages_and_dates() -> None:
    assert t.number(0.630412) == "0.630" and t.number(None) == "—" and t.number(float("nan")) == "—"
    assert t.number(3393.598) == "3,393.598"
    assert t.stat(3393.6) == "3,393.6" and t.stat(237.0) == "237" and t.stat(0.0005) == "0.001"
    assert t.percent(0.402649) == "40.3 %" and t.percent(None) == "—"
    assert t.when("2026-11-28T23:36:33+00:00") == "2026-11-28 23:36"
    assert t.when("2026-11-29T01:36:33+02:00") == "2026-11-28 23:36"
    assert t.when(None) == "—"


def test_html_has_no_index_and_no_index_name_row() -> None:
    frame = pd.DataFrame({"feature": ["a"], "verdict": ["DRIFT"]}).set_index("feature").reset_index()
    html = t.html(frame)
    assert "<th>feature</th>" in html and "<td>a</td>" in html
    assert html.count("<tr") == 2  # the header row and one data row: no index-name row
    assert t.html(pd.DataFrame()) == ""


def test_drift_table_shows_effect_threshold_and_verdict() -> None:
    table = t.drift_table({"features": [FEATURE]})
    row = table.iloc[0]
    assert list(table.index) == [0] and table.index.name is None
    assert (row["feature"], row["effect size"], row["threshold"], row["noise bound"]) == ("a", "0.500", "0.100", "0.041")
    assert row["p-value"] == "—" and row["PSI"] == "0.400 (high)" and row["verdict"] == "DRIFT"
    assert t.drift_table(None).empty


def test_events_estimates_and_models_tables_read_as_written() -> None:
    events = pd.DataFrame([{"at": "2026-11-28T23:36:33+00:00", "action": "rollback", "version": 1, "f1": 0.248138,
                            "reason": "back to v1"}])
    assert t.events_table(events).iloc[0].to_dict() == {"date": "2026-11-28 23:36", "action": "rollback",
                                                          "model": "v1", "test F1": "0.248", "reason": "back to v1"}
    estimates = t.estimates_table([{"run_id": "r1", "at": "2026-11-28T23:36:35+00:00", "version": 2,
                                    "estimated_f1": 0.61560, "interval": [0.6011, 0.6312], "n": 5000,
                                    "realised_f1": None}])
    assert estimates.iloc[0]["estimated F1"] == "0.616 (0.601–0.631)"
    assert estimates.iloc[0]["realised F1"] == "outcomes not in yet" and estimates.iloc[0]["clients"] == "5,000"
    models = t.models_table([{"version": 2, "role": "in production",
                              "metrics": {"f1": 0.6304, "precision": 0.70861, "recall": 0.5677, "roc_auc": 0.85481,
                                          "n": 1250}}])
    assert models.iloc[0].to_dict() == {"model": "v2", "role": "in production", "F1": "0.630", "precision": "0.709",
                                        "recall": "0.568", "ROC AUC": "0.855", "test clients": "1,250"}


def test_risk_quality_and_missing_tables() -> None:
    clients = pd.DataFrame({"id": ["x", "y"], "probability": [0.842, 0.402649], "risk_band": ["high", "medium"]})
    top = t.top_clients_table(clients, "id", 1)
    assert top.to_dict("records") == [{"#": 1, "client": "x", "attrition risk": "84.2 %", "band": "high"}]
    counts = t.band_counts_table({"high": 1, "medium": 3, "low": 0}, 4)
    assert counts["share"].tolist() == ["25.0 %", "75.0 %", "0.0 %"]
    missing = t.missing_table({"a": {"count": 3, "percent": 0.06}})
    assert missing.iloc[0].to_dict() == {"column": "a", "missing": "3", "share": "0.1 %"}
    stats = t.statistics_table({"a": {"count": 5000.0, "mean": 312.4188, "median": 237.0}})
    assert stats.iloc[0]["mean"] == "312.419" and stats.iloc[0]["count"] == "5,000" and stats.iloc[0]["std"] == "—"


def test_timings_use_the_console_rounding_and_name_the_running_stage() -> None:
    rows = [{"stage": "ingestion", "seconds": 0.804, "outcome": "ok"}, {"stage": "training", "seconds": 1.46,
                                                                         "outcome": "ok"}]
    table = t.timings_table(rows, running="reporting")
    assert table["seconds"].tolist() == ["0.8", "1.5", "(this report)"]
    assert table["stage"].tolist() == ["ingestion", "training", "reporting"]
    assert len(t.timings_table([*rows, {"stage": "reporting", "seconds": 1.0}], running="reporting")) == 3


def test_dependencies_fit_in_one_line() -> None:
    deps = [{"package": "pandas", "installed": "3.1.1", "latest": None, "note": "offline"},
            {"package": "numpy", "installed": "2.4.6", "latest": None, "note": "offline"}]
    line = t.dependencies_line(deps)
    assert line.startswith("pandas 3.1.1 · numpy 2.4.6.") and "not reachable" in line
    deps[0].update(latest="3.2.0", note="newer version available")
    assert "Newer: pandas 3.2.0" in t.dependencies_line(deps)
