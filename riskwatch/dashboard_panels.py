"""The dashboard's tabs as HTML (Overview · Clients at risk · Drift · History · Data quality), built
from a :class:`~riskwatch.dashboard.DashboardState` with the report's story, charts and tables, so
the dashboard and the report say the same thing the same way. The notebook puts each string into
an ipywidgets HTML widget (values set, never output captured while Voila renders)."""

from __future__ import annotations

import re
from html import escape
from typing import Any

import pandas as pd

from riskwatch import report_charts as charts
from riskwatch import report_tables as tables
from riskwatch.dashboard import DashboardState, report_links, risk_overview
from riskwatch.layout import RunFolder
from riskwatch.ledger import Ledger
from riskwatch.report_story import CycleStory, at_risk_html, headline, quarantine_sentence, scores_html, step_items, \
    why_items
from riskwatch.risk import risk_band
from riskwatch.runs import run_record

TABS = ("Overview", "Clients at risk", "Drift", "History", "Data quality")
LOADING = "<p class='rw-loading'>Loading…</p>"  # a tab not opened yet (filled when first selected)
STYLE = """<style>
.widget-html-content .rw-panel { line-height: 1.4 !important; font-size: 14px; }
.rw-cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 8px 28px;
           align-items: start; }
.rw-panel h3 { margin: 6px 0 4px 0; }
.rw-panel p, .rw-panel ul, .rw-panel ol { margin: 3px 0; }
.rw-panel ul.rw-why { font-size: 90%; padding-left: 18px; }
table.rw-table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px 0; }
table.rw-table th, table.rw-table td { padding: 2px 8px; text-align: left; border-bottom: 1px solid #e4e4e4; }
img.rw-chart { max-width: 100%; }
</style>"""


def _panel(*columns: str) -> str:
    return '<div class="rw-panel rw-cols">' + "".join(f"<div>{c}</div>" for c in columns) + "</div>"


def last_run_record(state: DashboardState) -> dict[str, Any]:
    """The last run's record (run.json); from the ledger's rows when the run wrote none."""
    run = state.last_run or {}
    record = run_record(RunFolder(state.config.runs_path / run["run_id"])) if run else None
    if record:
        return record
    decisions = {d["name"]: {"value": d["value"], "reasons": [d["reason"]]} for d in state.decisions}
    return {"run_id": run.get("run_id", "—"), "mode": run.get("mode", "—"), "outcome": run.get("outcome") or "",
            "decisions": decisions}


def story(state: DashboardState) -> CycleStory:
    """Page 1 of the last run's report, as the dashboard's overview sees it now."""
    record = last_run_record(state)
    return CycleStory(record.get("run_id", "—"), record.get("mode", "—"), record.get("outcome") or "",
                      record.get("decisions") or {}, state.version, state.metrics, state.latest_estimate,
                      state.risk, state.config.risk["top"], state.quarantine,
                      ((record.get("drift") or {}).get("data")), tables.when(record.get("finished_at")))


def overview_html(state: DashboardState) -> str:
    """What happened, how good the model is, who is at risk, what to do — one screen."""
    s = story(state)
    why, steps = why_items(s), step_items(s)
    happened = (f"<h3>What happened</h3><p>Last run <code>{escape(s.run_id)}</code> ({escape(s.mode)}"
                + (f", {escape(s.date)}" if s.date != tables.DASH else "") + f"): {headline(s)}</p>"
                + (f'<ul class="rw-why">{why}</ul>' if why else "")
                + f"<h3>What to do next</h3><ol>{steps}</ol>")
    model = (f"<h3>How good is the model</h3>{scores_html(s)}"
             f"<p>In production since {tables.when(state.pointer.get('since'))} "
             f"({escape(str(state.pointer.get('action', '—')))}); "
             f"<code>{escape(str(state.metadata.get('estimator')))}</code> trained on "
             f"{state.metadata.get('training_rows', 0):,} rows.</p>"
             f"<h3>Quarantine</h3><p>{escape(quarantine_sentence(s.quarantine))}</p>"
             f"<p>{report_links(state)}</p>")
    return STYLE + _panel(happened, model, f"<h3>Who is at risk</h3>{at_risk_html(s)}")


def risk_chart_html(state: DashboardState) -> str:
    """The latest list's risk distribution, as in the report."""
    risk = state.risk
    if risk is None or not risk.total:
        return "<p>No risk list yet.</p>"
    return charts.figure_html(charts.risk_distribution_figure(risk.table["probability"], risk.table["risk_band"],
                                                              risk.bands))


def drift_html(state: DashboardState) -> str:
    """The latest drift check: verdict, the effect-size chart and the table."""
    drift = state.run_drift or (state.diagnostics or {}).get("drift")
    if not drift:
        return STYLE + "<p>No drift check recorded yet.</p>"
    what = ("the latest batch against the training data of the model deployed then" if state.run_drift
            else "all ingested data against the training data of the model in production")
    return (STYLE + f'<div class="rw-panel"><h3>Data drift per feature</h3><p>Compared: {what}. '
            f"<b>{escape(drift['verdict'])}</b></p>"
            + charts.figure_html(charts.drift_figure(drift)) + tables.html(tables.drift_table(drift)) + "</div>")


def history_html(state: DashboardState) -> str:
    """Scores by run (the report's chart), deployments and estimates, and the confusion matrix."""
    from riskwatch.reporting import score_history_frame

    if not state.config.ledger_path.exists():
        return STYLE + "<p>No runs recorded yet.</p>"
    ledger = Ledger(state.config.ledger_path)
    scores, events = score_history_frame(ledger)
    estimates = ledger.estimates_and_outcomes(8)
    matrix = charts.figure_html(charts.confusion_matrix_figure(state.metrics["confusion_matrix"],
                                                               f"Confusion matrix, v{state.version} on test data"))
    left = (charts.figure_html(charts.score_history_figure(scores, events))
            + "<h3>Deployments, rejections and rollbacks</h3>" + (tables.html(tables.events_table(events))
                                                                   or "<p>None yet.</p>"))
    right = (matrix + "<h3>F1 estimated at scoring, realised when outcomes arrive</h3>"
             + (tables.html(tables.estimates_table(estimates)) or "<p>No clients scored yet.</p>"))
    return STYLE + _panel(left, right)


def quality_html(state: DashboardState) -> str:
    """The last run's quarantine, missing data and summary statistics, each with a title."""
    quarantine = (f"<h3>Quarantine (last run)</h3><p>{escape(quarantine_sentence(state.quarantine))}</p>"
                  + tables.html(tables.quarantine_table(state.quarantine)))
    diagnostics = state.diagnostics or {}
    if not diagnostics:
        return STYLE + _panel(quarantine, "<p>No diagnostics yet.</p>")
    missing = (f"<h3>Missing data</h3><p>{diagnostics['rows']:,} ingested rows "
               f"(run {escape(str(diagnostics.get('run_id')))}).</p>"
               + tables.html(tables.missing_table(diagnostics["missing_values"])))
    stats = ("<h3>Summary statistics</h3>" + tables.html(tables.statistics_table(diagnostics["summary_statistics"])))
    return STYLE + _panel(quarantine + missing, stats)


def band_of(state: DashboardState, probability: float) -> str:
    return str(risk_band([probability], state.config.risk["bands"], state.config.risk["cutoffs"])[0])


def whatif_html(state: DashboardState, probability: float) -> str:
    """The what-if answer: the probability as a percentage and its risk band."""
    verdict = "likely to leave" if probability > 0.5 else "likely to stay"
    return (f"<b>Attrition probability: {tables.percent(probability)}</b> — risk band "
            f"<b>{escape(band_of(state, probability))}</b> ({verdict})")


def lookup_html(state: DashboardState, client_id: str, rows: pd.DataFrame) -> str:
    """One client's ingested rows with the risk as a percentage and the band; no index column."""
    if rows.empty:
        return f"<p>No client <code>{escape(client_id)}</code> in the ingested data.</p>"
    shown = rows.drop(columns=["attrition_probability"]).astype(str)
    shown.insert(1, "attrition risk", [tables.percent(p) for p in rows["attrition_probability"]])
    shown.insert(2, "risk band", [band_of(state, p) for p in rows["attrition_probability"]])
    return tables.html(shown)


def upload_html(state: DashboardState, table: pd.DataFrame, link: str, limit: int = 50) -> str:
    """Scored upload: the download link and the first ``limit`` clients, risk as % with its band."""
    head = table.head(limit)
    shown = pd.DataFrame({"client": head.iloc[:, 0].astype(str),
                          "attrition risk": [tables.percent(p) for p in head["attrition_probability"]],
                          "risk band": [band_of(state, p) for p in head["attrition_probability"]],
                          "predicted to leave": ["yes" if v else "no" for v in head["predicted_to_leave"]]})
    return f"<p>{link} · {len(table):,} clients, highest risk first (first {len(head)} shown)</p>" + tables.html(shown)


def risk_overview_html(state: DashboardState) -> str:
    """The clients-at-risk heading and its line (counts per band, or why there is no list), as HTML."""
    heading, _, line = risk_overview(state).partition("\n")
    line = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escape(line))
    return STYLE + f'<div class="rw-panel"><h3>{escape(heading.lstrip("# "))}</h3><p>{line}</p></div>'
