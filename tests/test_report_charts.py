"""The report's charts: ordinal run axis, production as a step line that steps down on a rollback,
marks per action, legends outside the data, drift bars against their threshold, titles and labels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from riskwatch import report_charts as charts

T0 = pd.Timestamp("2026-11-28T10:00:00Z")


def at(seconds: int) -> str:
    return (T0 + pd.Timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def history():
    """Three runs seconds apart: deploy v1, deploy v2, then a rejected v3 and a rollback to v1."""
    scores = pd.DataFrame([
        {"run_id": "r1", "at": at(0), "version": 1, "role": "challenger", "dataset": "test", "f1": 0.50},
        {"run_id": "r2", "at": at(5), "version": 2, "role": "challenger", "dataset": "test", "f1": 0.70},
        {"run_id": "r2", "at": at(5), "version": 1, "role": "production", "dataset": "batch", "f1": 0.45},
        {"run_id": "r3", "at": at(9), "version": 3, "role": "challenger", "dataset": "test", "f1": 0.60},
        {"run_id": "r3", "at": at(9), "version": 2, "role": "production", "dataset": "estimate", "f1": 0.65},
    ])
    events = pd.DataFrame([
        {"run_id": "r1", "at": at(0), "action": "deploy", "version": 1, "f1": 0.50, "reason": ""},
        {"run_id": "r2", "at": at(5), "action": "deploy", "version": 2, "f1": 0.70, "reason": ""},
        {"run_id": "r3", "at": at(9), "action": "reject", "version": 3, "f1": 0.60, "reason": ""},
        {"run_id": "r3", "at": at(10), "action": "rollback", "version": 1, "f1": 0.50, "reason": ""},
    ])
    return scores, events


def labelled(fig) -> None:
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), ax


def legend_outside(ax) -> None:
    legend = ax.get_legend()
    assert legend is not None
    fig = ax.figure
    fig.canvas.draw()
    box = legend.get_window_extent().transformed(ax.transAxes.inverted())
    assert box.x0 >= 1.0  # right of the plotting area: it covers no point


def test_runs_seconds_apart_get_their_own_place_labelled_by_date(history) -> None:
    runs = charts.run_positions(*history)
    assert runs["run_id"].tolist() == ["r1", "r2", "r3"] and runs["position"].tolist() == [0, 1, 2]
    assert runs["label"].tolist()[0] == "1\n28 Nov 10:00"


def test_production_steps_down_on_a_rollback(history) -> None:
    scores, events = history
    steps = charts.production_steps(events, charts.run_positions(scores, events))
    assert steps["version"].tolist() == [1, 2, 1] and steps["f1"].tolist() == [0.50, 0.70, 0.50]


def test_score_history_chart(history) -> None:
    fig = charts.score_history_figure(*history)
    ax = fig.axes[0]
    labelled(fig)
    assert ax.get_title() == "Model scores by run"
    assert [t.get_text() for t in ax.get_xticklabels()][2] == "3\n28 Nov 10:00"
    labels = ax.get_legend_handles_labels()[1]
    assert {"production model (test F1)", "deploy", "reject", "rollback", "new model (test F1)",
            "deployed model on new data (F1)", "estimated F1 (no labels yet)"} <= set(labels)
    step = ax.get_lines()[0]
    assert list(step.get_ydata())[-1] == 0.5  # ends on v1 again after the rollback
    legend_outside(ax)
    empty = charts.score_history_figure(pd.DataFrame(), pd.DataFrame())
    labelled(empty)


def test_drift_chart_bars_against_threshold() -> None:
    drift = {"features": [
        {"feature": "a", "effect_size": 0.6, "effect_name": "wasserstein/std", "threshold": 0.1, "noise_bound": 0.04,
         "drifted": True},
        {"feature": "b", "effect_size": 0.02, "effect_name": "wasserstein/std", "threshold": 0.1,
         "noise_bound": 0.04, "drifted": False}]}
    fig = charts.drift_figure(drift)
    ax = fig.axes[0]
    labelled(fig)
    assert [round(p.get_width(), 3) for p in ax.patches] == [0.6, 0.02]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert "wasserstein/std" in ax.get_xlabel()
    assert {"threshold", "drifted", "no drift", "sampling-noise bound"} <= set(ax.get_legend_handles_labels()[1])
    legend_outside(ax)
    labelled(charts.drift_figure(None))


def test_risk_distribution_and_other_charts_are_labelled() -> None:
    fig = charts.risk_distribution_figure([0.1, 0.2, 0.5, 0.9], ["low", "low", "medium", "high"],
                                          ["low", "medium", "high"])
    labelled(fig)
    ax = fig.axes[0]
    assert sum(p.get_height() for p in ax.patches) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["low", "medium", "high"]
    legend_outside(ax)
    labelled(charts.confusion_matrix_figure([[5, 1], [2, 3]], "Confusion matrix"))
    labelled(charts.roc_pr_figure([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.7], "v1"))


def test_figure_html_inlines_a_png() -> None:
    html = charts.figure_html(charts.confusion_matrix_figure([[5, 1], [2, 3]], "m"))
    assert html.startswith('<img class="rw-chart"') and "data:image/png;base64,iVBOR" in html
