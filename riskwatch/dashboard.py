"""What the Voila dashboard shows, computed here so the notebook only lays it out.

It reads the same sources as the API — the registry (model, scores), the ledger (runs, decisions,
score history), the latest risk list, the latest run's diagnostics — and checks and scores records as the API does
(:mod:`riskwatch.records`, the same compiled scorer), so the dashboard and ``/prediction`` give
the same probability for the same client. Bad records raise :class:`~riskwatch.records.RecordError`,
whose message is for the user. No web framework is imported here.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from riskwatch.config import Config, load_config
from riskwatch.layout import RunFolder
from riskwatch.ledger import Ledger
from riskwatch.report_tables import when
from riskwatch.records import frame_from_records, read_csv_bytes, validate_frame
from riskwatch.registry import Registry
from riskwatch.reporting import describe_latest_estimate, describe_quarantine
from riskwatch.riskfile import NO_RISK_LIST, RiskList, RiskListError, latest_risk_path, read_risk_list
from riskwatch.runs import latest_diagnostics, run_record
from riskwatch.serving import compile_scorer


@dataclass
class DashboardState:
    config: Config
    version: int | None = None
    pointer: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    last_run: dict[str, Any] | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)  # what the last run set aside
    latest_estimate: dict[str, Any] | None = None                   # Ledger.latest_estimate
    diagnostics: dict[str, Any] | None = None
    run_drift: dict[str, Any] | None = None
    diagnostics_run: RunFolder | None = None   # the run the diagnostics (and report) come from
    model: Any = None
    scorer: Any = None
    risk: RiskList | None = None               # the latest risk list, if a cycle wrote one
    risk_problem: str | None = None            # why it cannot be shown, if it exists but is unreadable

    @property
    def ready(self) -> bool:
        return self.version is not None


def load_state(config_path: str | Path) -> DashboardState:
    """Everything the page needs; nothing is trained or re-run."""
    cfg = load_config(config_path)
    state = DashboardState(cfg)
    try:
        state.risk = read_risk_list(latest_risk_path(cfg), cfg.schema, cfg.risk["bands"])
    except RiskListError as exc:
        state.risk_problem = str(exc)
    registry = Registry(cfg.registry_path)
    state.version = registry.production_version()
    if state.version is None:
        return state
    state.pointer = registry.production() or {}
    state.metadata = registry.metadata(state.version)
    state.metrics = registry.metrics(state.version) or {}
    state.model = registry.load_model(state.version)
    state.scorer, _ = compile_scorer(state.model, cfg.schema)
    if cfg.ledger_path.exists():
        ledger = Ledger(cfg.ledger_path)
        state.last_run = ledger.last_run()
        state.latest_estimate = ledger.latest_estimate()
        if state.last_run:
            state.decisions = ledger.decisions(state.last_run["run_id"])
            state.quarantine = ledger.quarantine([state.last_run["run_id"]])
    latest = latest_diagnostics(cfg.runs_path)
    if latest:
        state.diagnostics_run, state.diagnostics = latest
        state.run_drift = ((run_record(state.diagnostics_run) or {}).get("drift") or {}).get("data")
    return state


def empty_state_message(state: DashboardState) -> str:
    return ("## No model is deployed yet\n"
            "Run a cycle first, from the project folder:\n\n"
            "    make run            # or: .venv/bin/python runner.py run\n\n"
            f"(config: `{state.config.source}`). Then reload this page.")


def last_run_summary(state: DashboardState) -> str:
    run = state.last_run
    if not run:
        return "No run recorded yet."
    lines = [f"**Last run** `{run['run_id']}` ({run['mode']}): **{run['outcome'] or 'unfinished'}**"]
    lines += [f"- **{d['name']}:** {d['reason']}" for d in state.decisions]
    lines.append(f"- **{describe_quarantine(state.quarantine)}**")
    if state.latest_estimate is not None:
        lines.append(f"\n**Performance before outcomes arrive:** {describe_latest_estimate(state.latest_estimate)}.")
    return "\n".join(lines)


def risk_overview(state: DashboardState) -> str:
    """The heading of the "Clients at risk" panel and one line: counts per band, or why there are none."""
    risk = state.risk
    if risk is None:
        reason = state.risk_problem or NO_RISK_LIST
        return f"### Clients at risk\n{reason[:1].upper()}{reason[1:]}."
    counts = " · ".join(f"**{band} {n:,}**" if i == 0 else f"{band} {n:,}"
                        for i, (band, n) in enumerate(risk.counts.items()))
    return (f"### Clients at risk\nLatest list ({risk.total:,} clients, model v{risk.model_version}, "
            f"written {when(risk.updated_at)} UTC): {counts}")


def risk_band_options(state: DashboardState) -> list[tuple[str, str]]:
    """(label, value) pairs for the band filter: every band, highest first, after "all bands" ("")."""
    counts = state.risk.counts if state.risk is not None else {}
    return [("all bands", ""), *((f"{band} ({n:,})", band) for band, n in counts.items())]


def top_at_risk(state: DashboardState, band: str = "") -> pd.DataFrame:
    """The ``risk.top`` clients most at risk (of one band, if given): id, probability as a percentage, band."""
    id_column = state.config.schema.id_column
    top = state.risk.clients(band).head(state.config.risk["top"])
    return pd.DataFrame({id_column: top[id_column].to_numpy(),
                         "attrition risk": [f"{p:.1%}" for p in top["probability"]],
                         "band": top["risk_band"].to_numpy()}, index=range(1, len(top) + 1))


def top_at_risk_html(state: DashboardState, band: str = "") -> str:
    """The clients-at-risk panel as HTML: the top clients (of one band, if given) and the download link."""
    table = top_at_risk(state, band).rename_axis("#").reset_index()
    return table.to_html(index=False, border=0, classes="dataframe rw-table risk-table") + risk_download(state, band)


def risk_download(state: DashboardState, band: str = "") -> str:
    """A link to the whole list (or one band of it) as CSV, as the cycle wrote it."""
    table = state.risk.clients(band)
    name = f"riskwatch-risk-list-v{state.risk.model_version}{'-' + band if band else ''}.csv"
    return download_link(table, name, f"Download {'the ' + band + ' band' if band else 'the list'} "
                                      f"({len(table):,} clients) as CSV")


def whatif_ranges(state: DashboardState) -> dict[str, tuple[float, float, float]]:
    """(low, high, typical) per numeric feature, from the deployed model's training data."""
    registry = Registry(state.config.registry_path)
    data = pd.read_parquet(registry.training_data_path(state.version))
    ranges = {}
    for column in state.config.schema.numeric_features:
        values = pd.to_numeric(data[column], errors="coerce").dropna()
        ranges[column] = (float(values.min()), float(values.quantile(0.99)), float(values.median()))
    return ranges


def probability(state: DashboardState, values: dict[str, Any]) -> float:
    """Attrition probability of one client described by ``values``."""
    record = {state.config.schema.id_column: "what-if", **values}
    return float(state.scorer(frame_from_records([record], state.config.schema))[0])


def risks_for(state: DashboardState, frame: pd.DataFrame) -> pd.DataFrame:
    """Risk per client, highest first; raises RecordError (with a message) for a bad table."""
    schema = state.config.schema
    clean = validate_frame(frame, schema)
    table = pd.DataFrame({schema.id_column: clean[schema.id_column].to_numpy(),
                          "attrition_probability": state.scorer(clean)})
    table["predicted_to_leave"] = table["attrition_probability"] > 0.5
    return table.sort_values("attrition_probability", ascending=False, ignore_index=True)


def read_upload(content: bytes) -> pd.DataFrame:
    """An uploaded CSV, as read; RecordError if it is not a readable CSV."""
    return read_csv_bytes(content)


def lookup_client(state: DashboardState, client_id: str) -> pd.DataFrame:
    """The ingested rows of one client, with the deployed model's risk (empty if unknown)."""
    schema = state.config.schema
    data = pd.read_csv(state.config.finaldata_path, dtype={schema.id_column: "string"})
    rows = data[data[schema.id_column] == client_id.strip()]
    if rows.empty:
        return rows
    return rows.assign(attrition_probability=state.scorer(validate_frame(rows, schema)))


def download_link(frame: pd.DataFrame, filename: str, label: str) -> str:
    """An HTML link carrying the CSV itself, so it works wherever the page is served."""
    payload = base64.b64encode(frame.to_csv(index=False).encode()).decode()
    return f'<a download="{filename}" href="data:text/csv;base64,{payload}">{label}</a>'


def report_links(state: DashboardState) -> str:
    run = state.diagnostics_run
    if run is None:
        return "No report yet."
    links = []
    for suffix, mime in (("pdf", "application/pdf"), ("html", "text/html")):
        path = run.report(suffix)
        if path.exists():
            payload = base64.b64encode(path.read_bytes()).decode()
            links.append(f'<a download="riskwatch-{run.run_id}-{path.name}" '
                         f'href="data:{mime};base64,{payload}">{path.name}</a>')
    return (f"Latest report (run {run.run_id}): " + " · ".join(links)) if links else "No report yet."
