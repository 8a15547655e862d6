"""Page 1 in plain words: what happened and why, the model's scores, who is at risk, the quarantine
and what to do next."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskwatch.config import Schema
from riskwatch.report_story import CycleStory, headline, next_steps, page_one_html, quarantine_sentence, why_lines
from riskwatch.riskfile import read_risk_list

SCHEMA = Schema("corporation", ("a",), (), "exited", None)
DECISIONS = {"retrain": {"value": True, "reasons": [
    "retrain (retrain when data or score drift)", "data drift: yes — 1 of 1 features drifted: a",
    "why: drifted most — a (effect 0.59)"]},
    "deploy": {"value": True, "reasons": ["deploy v2: test F1 0.6304 beats v1's 0.2481"]}}
METRICS = {"f1": 0.6304, "precision": 0.7086, "recall": 0.5677, "roc_auc": 0.8548, "n": 1250}
QUARANTINE = [{"name": "bad.csv", "scope": "file", "n_rows": None, "reason": "no id column",
               "path": "/p/data/quarantine/bad.csv"},
              {"name": "d2.csv", "scope": "rows", "n_rows": 3, "reason": "text in a number column",
               "path": "/p/data/quarantine/d2.badrows.csv"}]


def risk_list(tmp_path: Path):
    path = tmp_path / "risk_scores.csv"
    pd.DataFrame({"corporation": ["acme", "beta", "gamma", "delta"], "probability": [0.84, 0.71, 0.4, 0.1],
                  "predicted": [1, 1, 0, 0], "risk_band": ["high", "high", "medium", "low"],
                  "model_version": 2}).to_csv(path, index=False)
    return read_risk_list(path, SCHEMA, ["low", "medium", "high"])


def story(tmp_path: Path, **changes) -> CycleStory:
    values = dict(run_id="r2", mode="production", outcome="deployed", decisions=DECISIONS, version=2, metrics=METRICS,
                  estimate={"version": 2, "estimated_f1": 0.3, "interval": [0.25, 0.35], "n": 4, "run_id": "r2",
                            "last_realised": None},
                  risk=risk_list(tmp_path), top=3, quarantine=QUARANTINE,
                  drift={"drifted": True, "features": [{"feature": "a", "drifted": True}]}, date="2026-11-28 23:36 UTC")
    values.update(changes)
    return CycleStory(**values)


def test_headline_says_what_happened_to_production(tmp_path: Path) -> None:
    assert "trained and deployed: <b>v2</b>" in headline(story(tmp_path))
    assert "rejected" in headline(story(tmp_path, outcome="rejected", version=1))
    no = {"retrain": {"value": False, "reasons": ["no retrain (rule)", "data drift: no"]}}
    assert "No retraining was needed" in headline(story(tmp_path, outcome="no-retrain", decisions=no))


def test_why_gives_the_drift_explanation_without_the_rule_line() -> None:
    lines = why_lines(DECISIONS)
    assert lines[0] == "<b>retrain:</b> data drift: yes — 1 of 1 features drifted: a"
    assert any("why: drifted most" in line for line in lines) and not any("retrain when" in l for l in lines)


def test_quarantine_names_files_rows_and_the_folder() -> None:
    sentence = quarantine_sentence(QUARANTINE)
    assert "1 file(s) refused (bad.csv)" in sentence and "3 bad row(s) set aside (3 of d2.csv)" in sentence
    assert "/p/data/quarantine" in sentence and "no id column" in sentence
    assert quarantine_sentence([]).startswith("Nothing was quarantined")


def test_next_steps_are_plain_and_ordered_by_urgency(tmp_path: Path) -> None:
    steps = next_steps(story(tmp_path))
    assert steps[0].startswith("Contact the 2 high-risk clients, starting with acme, beta")
    assert "bad.csv, d2.csv" in steps[1]
    assert any("change in a is real" in s for s in steps)
    assert any("expected to do clearly worse" in s for s in steps)  # estimate 0.3 vs test 0.630
    assert any("labels file" in s for s in steps)
    quiet = next_steps(story(tmp_path, risk=None, quarantine=[], drift=None, estimate=None, outcome="no-retrain"))
    assert quiet == ["Nothing to do: production is unchanged and no new client data arrived."]


def test_page_one_holds_the_whole_story_then_a_page_break(tmp_path: Path) -> None:
    html = page_one_html(story(tmp_path))
    order = ["What happened", "How good is the model", "What to do next", "Who is at risk", "Quarantine"]
    assert all(part in html for part in order)
    assert "0.630" in html and "0.300 (0.250–0.350)" in html and "outcomes not in yet" in html
    assert "<b>4 clients</b> scored by v2" in html and "84.0 %" in html and "acme" in html
    assert html.index("acme") < html.index("beta") and "delta" not in html  # top 3 only
    assert html.endswith('<div style="break-after:page;page-break-after:always"></div>')
