"""The manager's report (notebook 06): gathers what the cycle did from the registry, the ledger,
the diagnostics and the risk list, and lays it out with :mod:`riskwatch.report_story` (page 1),
:mod:`riskwatch.report_charts` and :mod:`riskwatch.report_tables`. The one-line descriptions here
are shared with ``status`` and the dashboard."""

from __future__ import annotations

import json
from html import escape
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from riskwatch import layout
from riskwatch.clock import now_iso
from riskwatch import report_charts as charts
from riskwatch import report_tables as tables
from riskwatch.config import Schema
from riskwatch.report_story import CycleStory, page_one_html, quarantine_sentence
from riskwatch.riskfile import read_risk_list


def score_history_frame(ledger):
    """(scores, deployment events) from a :class:`~riskwatch.ledger.Ledger`, for the score-history chart."""
    import pandas as pd

    return pd.DataFrame(ledger.scores()), pd.DataFrame(ledger.deployments(1000))


def recent_models(registry, version: int | None, limit: int = 4) -> list[dict[str, Any]]:
    """The newest scored versions with their role, for the models table."""
    rows = []
    for v in reversed(registry.versions()):
        if len(rows) >= limit:
            break
        m = registry.metrics(v)
        if not m:
            continue
        status = registry.status(v)["status"]
        role = "in production" if v == version else ("new, rejected" if status == "rejected" else status)
        rows.append({"version": v, "role": role, "metrics": m})
    return rows


@dataclass
class Report:
    """What notebook 06 displays, section by section: HTML strings and matplotlib figures."""

    page_one: str
    version: int | None = None     # the model in production when the report was written
    sections: dict[str, list[Any]] = field(default_factory=dict)


def build_report(run_id: str, mode: str, outcome: str, decisions: dict, drift_check: dict | None,
                 registry_path: str | Path, ledger_path: str | Path, diagnostics_path: str | Path,
                 test_data_path: str | Path, output_model_path: str | Path, candidate_version: int | None,
                 risk_path: str | Path, schema: Schema, risk_bands: Sequence[str], risk_top: int) -> Report:
    """Everything the report shows, in order; writes the baseline's confusion-matrix PNG."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from riskwatch.ledger import Ledger
    from riskwatch.metrics import predict_risk
    from riskwatch.registry import Registry
    from riskwatch.tables import load_table

    registry = Registry(Path(registry_path))
    version = registry.production_version()
    metrics = (registry.metrics(version) or {}) if version is not None else {}
    diagnostics_file = Path(diagnostics_path)
    diagnostics = json.loads(diagnostics_file.read_text()) if diagnostics_file.exists() else {}
    ledger = Ledger(ledger_path) if Path(ledger_path).exists() else None
    quarantine = ledger.quarantine([run_id]) if ledger else []
    risk = read_risk_list(Path(risk_path), schema, risk_bands)
    story = CycleStory(run_id, mode, outcome, decisions or {}, version, metrics,
                       ledger.latest_estimate() if ledger else None, risk, risk_top, quarantine, drift_check,
                       tables.when(now_iso()) + " UTC")
    sections: dict[str, list[Any]] = {}

    def add(title: str, *items: Any) -> None:
        for item in items:
            if isinstance(item, Figure):
                plt.close(item)  # shown where the notebook displays it, not all at the end of the cell
        sections.setdefault(title, []).extend(item for item in items if item is not None and item != "")

    if version is not None:
        add("1. The model", "<p>Scores on the labelled test data, newest versions first:</p>",
            tables.html(tables.models_table(recent_models(registry, version))))
        fig = charts.confusion_matrix_figure(metrics["confusion_matrix"], f"Confusion matrix, v{version} on test data")
        Path(output_model_path).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(output_model_path) / layout.CONFUSION_MATRIX, dpi=120)
        test = load_table(test_data_path, schema)
        probability = predict_risk(registry.load_model(version), test, schema)["probability"]
        add("1. The model", fig, charts.roc_pr_figure(test[schema.target].tolist(), probability.tolist(), f"v{version}"))
    if ledger is not None:
        scores, events = score_history_frame(ledger)
        add("2. Scores by run", charts.score_history_figure(scores, events),
            "<p>Deployments, rejections and rollbacks, newest first:</p>" if not events.empty else "",
            tables.html(tables.events_table(events)))
        if rows := ledger.estimates_and_outcomes(8):
            add("2. Scores by run", "<p>F1 estimated when clients were scored, and realised once their "
                                    "outcomes arrived:</p>", tables.html(tables.estimates_table(rows)))
    add_drift(add, drift_check, diagnostics, version, candidate_version)
    if risk is not None and risk.total:
        add("4. Clients at risk", charts.risk_distribution_figure(risk.table["probability"], risk.table["risk_band"],
                                                                  risk.bands))
    add("5. Data quality", f"<p>{escape(quarantine_sentence(quarantine))}</p>",
        tables.html(tables.quarantine_table(quarantine)))
    if diagnostics:
        add("5. Data quality", f"<p>{diagnostics['rows']:,} ingested rows. Missing values per column:</p>",
            tables.html(tables.missing_table(diagnostics["missing_values"])),
            "<p>Summary statistics of the numeric features:</p>",
            tables.html(tables.statistics_table(diagnostics["summary_statistics"])))
    appendix = "Appendix: diagnostics"
    if ledger is not None:
        add(appendix, "<p>Seconds per stage of this run, as printed at the end of the run and kept in "
                      "run.json and the ledger:</p>",
            tables.html(tables.timings_table(ledger.stages(run_id), running="reporting")))
    add(appendix, f"<p><b>Packages:</b> {escape(tables.dependencies_line(diagnostics.get('dependencies') or []))}</p>")
    return Report(page_one_html(story), version, sections)


def add_drift(add, drift_check: dict | None, diagnostics: dict, version: int | None,
              candidate_version: int | None) -> None:
    """This cycle's drift check; without one, all ingested data against the production model's
    training data — but never a model trained in this cycle against its own training data."""
    title = "3. Data drift per feature"
    if drift_check:
        what, drift = "New data against the training data of the model deployed at the start of the run", drift_check
    elif diagnostics.get("drift") and version is not None and version != candidate_version:
        what, drift = f"All ingested data against the training data of v{version}", diagnostics["drift"]
    else:
        add(title, "<p>No drift check in this cycle: no model was deployed before the new data arrived, or "
                   "it held no client rows. (A model trained in this cycle is not compared with its own "
                   "training data.)</p>")
        return
    add(title, f"<p><b>{escape(what)}:</b> {escape(drift['verdict'])}</p>", charts.drift_figure(drift),
        tables.html(tables.drift_table(drift)))


def describe_latest_estimate(latest: dict) -> str:
    """The latest F1 estimated without labels, beside the last realised one (``Ledger.latest_estimate``)."""
    interval = latest["interval"]
    line = (f"estimated F1 without labels: {latest['estimated_f1']:.4f}"
            + (f" ({interval[0]:.2f}–{interval[1]:.2f})" if interval else "")
            + f" on {latest['n']:,} clients scored by v{latest['version']} in run {latest['run_id']}")
    realised = latest["last_realised"]
    if realised is None:
        return line + "; no outcomes have arrived yet"
    return line + (f"; last realised: F1 {realised['realised_f1']:.4f} on run {realised['run_id']}'s clients "
                   f"(estimated then {realised['estimated_f1']:.4f})")


def describe_quarantine(rows: Sequence[dict], when: str = "in the last run") -> str:
    """One line on what went to the quarantine folder (``Ledger.quarantine`` rows): files refused and
    bad rows set aside, with the file names and the folder to look in."""
    if not rows:
        return f"quarantine: nothing refused or set aside {when}"
    refused = [r["name"] for r in rows if r["scope"] == "file"]
    aside = [(r["name"], r["n_rows"] or 0) for r in rows if r["scope"] == "rows"]
    n_aside = sum(n for _, n in aside)
    folders = sorted({str(Path(r["path"]).parent) for r in rows if r.get("path")})
    return (f"quarantine: {_count(len(refused), 'file')} refused"
            + (f" ({', '.join(refused)})" if refused else "")
            + f", {_count(n_aside, 'bad row')} set aside" + (f" ({', '.join(f'{n} of {name}' for name, n in aside)})"
                                                            if aside else "")
            + f" {when}" + (f" — see {', '.join(folders)}" if folders else ""))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
