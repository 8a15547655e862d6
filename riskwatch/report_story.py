"""Page 1 of the report (and the dashboard's overview): what this cycle decided and why, how good
the deployed model is, who is at risk, what was quarantined and what to do next — in plain words.

Pure: the cycle's decisions, scores, risk list and quarantine rows in, HTML out.
"""

from __future__ import annotations

import html as html_text
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from riskwatch import report_tables as tables
from riskwatch.riskfile import RiskList

GRID = ('<div class="rw-grid" style="display:grid;grid-template-columns:1fr 1fr;gap:6px 22px;'
        'align-items:start">')


@dataclass
class CycleStory:
    """Everything page 1 says, gathered by :func:`riskwatch.reporting.build_report` or the dashboard."""

    run_id: str
    mode: str
    outcome: str
    decisions: Mapping[str, Mapping[str, Any]]
    version: int | None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    estimate: Mapping[str, Any] | None = None      # Ledger.latest_estimate()
    risk: RiskList | None = None
    top: int = 10
    quarantine: Sequence[Mapping[str, Any]] = ()
    drift: Mapping[str, Any] | None = None          # this cycle's data drift check
    date: str = ""


def _e(text: Any) -> str:
    return html_text.escape(str(text))


def headline(story: CycleStory) -> str:
    """One sentence: what this cycle did to production."""
    retrain = story.decisions.get("retrain")
    deploy = story.decisions.get("deploy")
    if story.outcome == "deployed":
        did = f"A new model was trained and deployed: <b>v{story.version}</b> is now in production."
    elif story.outcome == "rejected":
        did = (f"A new model was trained but <b>rejected</b>: it did not beat the model in production, "
               f"so <b>v{story.version}</b> stays.")
    elif retrain is not None and not retrain.get("value"):
        did = f"No retraining was needed: <b>v{story.version}</b> stays in production."
    elif story.version is None:
        did = "No model is deployed yet."
    else:
        did = f"Nothing was retrained: <b>v{story.version}</b> stays in production."
    if deploy is None and retrain is None and story.risk is None:
        did += " No new client data arrived."
    return did


def why_lines(decisions: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The decisions' reasons, the explanation of the drift decision first, each in one line."""
    lines = []
    for name, decision in decisions.items():
        reasons = list(decision.get("reasons") or [])
        if name == "retrain" and len(reasons) > 1 and reasons[0].split(" (")[0] in ("retrain", "no retrain"):
            reasons = reasons[1:]  # the rule itself ("retrain (retrain when …)") says nothing new
        lines += [f"<b>{_e(name)}:</b> {_e(reason)}" for reason in reasons]
    return lines


def scores_html(story: CycleStory) -> str:
    m = story.metrics or {}
    if story.version is None:
        return "<p>No model is deployed yet.</p>"
    rows = [("test F1 (realised on labelled test data)", tables.number(m.get("f1"))),
            ("precision · recall", f"{tables.number(m.get('precision'))} · {tables.number(m.get('recall'))}"),
            ("ROC AUC", tables.number(m.get("roc_auc"))), ("test clients", f"{m.get('n', 0):,}")]
    estimate = story.estimate
    if estimate is not None:
        interval = estimate.get("interval")
        rows.append((f"estimated F1 on {estimate.get('n') or 0:,} new clients (v{estimate['version']})",
                     tables.number(estimate["estimated_f1"])
                     + (f" ({interval[0]:.3f}–{interval[1]:.3f})" if interval else "")))
        realised = estimate.get("last_realised")
        rows.append(("realised F1 on scored clients",
                     f"{tables.number(realised['realised_f1'])} (run {_e(realised['run_id'])})"
                     if realised else "outcomes not in yet"))
    body = "".join(f"<tr><td>{_e(k)}</td><td><b>{v}</b></td></tr>" for k, v in rows)
    return (f'<p>Model in production: <b>v{story.version}</b></p>'
            f'<table class="dataframe rw-table rw-scores">{body}</table>')


def at_risk_html(story: CycleStory) -> str:
    risk = story.risk
    if risk is None:
        return "<p>No new client data in this cycle, so no new risk list.</p>"
    if not risk.total:
        return "<p>The risk list is empty.</p>"
    counts = tables.band_counts_table(risk.counts, risk.total)
    top = tables.top_clients_table(risk.clients(), risk.id_column, story.top)
    return (f"<p><b>{risk.total:,} clients</b> scored by v{risk.model_version}:</p>" + tables.html(counts)
            + f"<p>The {len(top)} most at risk:</p>" + tables.html(top))


def quarantine_sentence(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return "Nothing was quarantined: every new file and row was valid."
    refused = [r["name"] for r in rows if r["scope"] == "file"]
    aside = [(r["name"], r.get("n_rows") or 0) for r in rows if r["scope"] == "rows"]
    parts = []
    if refused:
        parts.append(f"{len(refused)} file(s) refused ({', '.join(refused)})")
    if aside:
        parts.append(f"{sum(n for _, n in aside)} bad row(s) set aside ("
                     + ", ".join(f"{n} of {name}" for name, n in aside) + ")")
    folders = sorted({str(Path(r["path"]).parent) for r in rows if r.get("path")})
    return ("Quarantined: " + " and ".join(parts) + "; reasons: "
            + "; ".join(sorted({str(r.get("reason")) for r in rows}))
            + (f". Copies in {', '.join(folders)}." if folders else "."))


def next_steps(story: CycleStory) -> list[str]:
    """What a person should do next, most urgent first."""
    steps = []
    risk = story.risk
    if risk is not None and risk.total:
        highest = risk.bands[-1]
        n = risk.counts.get(highest, 0)
        if n:
            names = ", ".join(risk.clients(highest).head(3)[risk.id_column].astype(str))
            steps.append(f"Contact the {n:,} {highest}-risk clients, starting with {names}: the whole list is "
                         f"risk_scores.csv in this run's folder (and on the dashboard).")
    if story.quarantine:
        names = ", ".join(sorted({r["name"] for r in story.quarantine}))
        steps.append(f"Fix the quarantined data ({names}) as the reasons say and drop the corrected files "
                     f"into the input folder again.")
    if story.outcome == "rejected":
        steps.append("Nothing to change in production. If new models keep being rejected while the data "
                     "drifts, review the new data and the model settings.")
    if story.drift and story.drift.get("drifted"):
        drifted = [f["feature"] for f in story.drift.get("features", []) if f.get("drifted")]
        steps.append(f"Check with the data owners that the change in {', '.join(drifted)} is real (new "
                     f"clients, a new season), not an error in the extract.")
    estimate = story.estimate
    if estimate is not None and story.metrics.get("f1") is not None \
            and estimate["estimated_f1"] < story.metrics["f1"] - 0.1:
        steps.append("The model is expected to do clearly worse on the new clients than on the test data: "
                     "send their outcomes as soon as they are known.")
    if risk is not None and risk.total:
        steps.append("When these clients' outcomes are known, drop a labels file (client id and exited) into "
                     "the input folder: the next cycle measures the realised F1.")
    if story.version is None:
        steps.append("Drop labelled client data into the input folder and run a cycle to train the first model.")
    return steps or ["Nothing to do: production is unchanged and no new client data arrived."]


STYLE = """<style>
.rw-page-one { font-size: 9.5pt; line-height: 1.3; }
.rw-page-one h1 { font-size: 17pt; margin: 0 0 2px 0; }
.rw-page-one h2 { font-size: 12pt; margin: 10px 0 4px 0; }
.rw-page-one p, .rw-page-one ul, .rw-page-one ol { margin: 3px 0; }
.rw-page-one ul.rw-why { font-size: 8.5pt; padding-left: 18px; }
.rw-page-one ol.rw-next { padding-left: 18px; }
.rw-page-one table.rw-table { font-size: 8.5pt; margin: 2px 0 4px 0; }
.rw-page-one table.rw-table td:first-child, .rw-page-one table.rw-table th:first-child { text-align: left; }
.rw-page-one table.rw-scores td:last-child { white-space: nowrap; }
</style>"""


def why_items(story: CycleStory) -> str:
    """The reasons behind the headline as ``<li>`` items (empty when there are none)."""
    return "".join(f"<li>{line}</li>" for line in why_lines(story.decisions))


def step_items(story: CycleStory) -> str:
    """What to do next as ``<li>`` items."""
    return "".join(f"<li>{_e(step)}</li>" for step in next_steps(story))


def page_one_html(story: CycleStory) -> str:
    """Page 1: the whole story on one A4 page, then a page break."""
    why, steps = why_items(story), step_items(story)
    return (
        STYLE + '<div class="rw-page-one">'
        '<h1>riskwatch — attrition risk report</h1>'
        f'<p>Run {_e(story.run_id)} ({_e(story.mode)} data) · {_e(story.date)}</p>'
        f'<h2>What happened</h2><p class="rw-headline">{headline(story)}</p>'
        + (f'<ul class="rw-why">{why}</ul>' if why else "")
        + GRID
        + f'<div><h2>How good is the model</h2>{scores_html(story)}'
        f'<h2>What to do next</h2><ol class="rw-next">{steps}</ol></div>'
        f'<div><h2>Who is at risk</h2>{at_risk_html(story)}'
        f'<h2>Quarantine</h2><p class="rw-quarantine">{_e(quarantine_sentence(story.quarantine))}</p></div></div>'
        '</div><div style="break-after:page;page-break-after:always"></div>')
