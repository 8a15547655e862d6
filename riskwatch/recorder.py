"""The one place that writes down what a cycle did: ledger rows, alerts, log lines, console lines,
registry status transitions, the unfinished-cycle marker and ``run.json``.

The cycle loop calls :meth:`Recorder.record` with the events of :mod:`riskwatch.events`;
notebooks and domain functions only return results.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

from riskwatch import events as ev
from riskwatch.alerts import Alerts
from riskwatch.clock import now_iso
from riskwatch.config import Config
from riskwatch.environment import describe_environment_failure, describe_environment_reason, environment_failure
from riskwatch.layout import RUN_RECORD, RunFolder
from riskwatch.ledger import Ledger
from riskwatch.logs import get_logger, log
from riskwatch.newdata import atomic_write_text
from riskwatch.registry import Registry

Echo = Callable[[str], None]


class Recorder:
    def __init__(self, cfg: Config, echo: Echo = print):
        self.cfg, self.echo = cfg, echo
        self.logger = get_logger(cfg.log_path, int(cfg.logging["max_bytes"]), int(cfg.logging["backups"]))
        self.registry = Registry(cfg.registry_path)
        self.alerts = Alerts(dict(cfg.alerts), cfg.pending_alerts_path, self.note)
        self.run_id: str | None = None
        self.record_: dict[str, Any] = {}
        self.environment_problem: str | None = None  # the first write the machine refused
        self.refused_in: str | None = None            # and in which stage (or step) that was
        self.stage: str | None = None
        self._beside: dict[str, tuple[str, ...]] = {}  # stage -> the stages it started beside
        self._ledger: Ledger | None = None

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:  # opened on first write: a tick with nothing new creates nothing
            self._ledger = Ledger(self.cfg.ledger_path)
        return self._ledger

    # ---- lines ---------------------------------------------------------------------------------
    def note(self, message: str, stage: str = "-", level: int = logging.INFO) -> None:
        """A line for the log only."""
        log(self.logger, message.strip(), run_id=self.run_id or "-", stage=stage, level=level)

    def say(self, message: str, stage: str = "-", level: int = logging.INFO) -> None:
        """A line for the console and the log."""
        self.echo(message)
        self.note(message, stage, level)

    # ---- the unfinished-cycle marker -------------------------------------------------------------
    def pending(self) -> dict[str, Any] | None:
        """The marker of a cycle that started but did not finish (killed or failed)."""
        return read_pending(self.cfg)

    # ---- events --------------------------------------------------------------------------------
    def record(self, *events: Any) -> None:
        """Write each event down. When the machine refuses a write (disk full, read-only), the
        problem is kept in :attr:`environment_problem` and said, and the cycle goes on to stop
        cleanly: bookkeeping never masks what happened."""
        for event in events:
            try:
                getattr(self, f"_on_{type(event).__name__}")(event)
            except Exception as exc:
                if not environment_failure(exc):
                    raise
                self.refused(exc, "the start of the run" if isinstance(event, ev.RunStarted)
                             else f"recording {type(event).__name__}")

    def refused(self, exc: BaseException | None, doing: str, problem: str | None = None) -> None:
        problem = problem or describe_environment_failure(exc)
        if self.environment_problem is None:
            self.environment_problem, self.refused_in = problem, self.stage or doing
        self.say(f"    could not finish {doing}: {problem}", level=logging.ERROR)

    def _on_RunStarted(self, e: ev.RunStarted) -> None:
        self.run_id = e.run_id
        self.record_ = {"run_id": e.run_id, "mode": self.cfg.mode, "config": str(self.cfg.source),
                        "started_at": now_iso(), "new_files": list(e.new_files),
                        "production_before": e.production_version, "stages": [], "decisions": {}}
        atomic_write_text(self.cfg.pending_cycle_path,
                          json.dumps({"run_id": e.run_id, "hashes": list(e.hashes)}) + "\n")
        self.ledger.start_run(e.run_id, self.cfg.mode, str(self.cfg.source), list(e.new_files))
        if e.redo_of:
            self.record_["redo_of"] = e.redo_of
            self.say(f"redoing the unfinished cycle {e.redo_of}", level=logging.WARNING)
        self.say(f"riskwatch run {e.run_id} ({self.cfg.mode}): {len(e.new_files)} new file(s) in "
                 f"{self.cfg.input_folder_path}")

    def _on_StageStarted(self, e: ev.StageStarted) -> None:
        self.stage = e.stage
        self._beside[e.stage] = e.beside
        beside = f" (beside {', '.join(e.beside)})" if e.beside else ""
        self.say(f"  → {e.stage:<11} {e.purpose}{beside} …", e.stage)

    def _on_StageEnded(self, e: ev.StageEnded) -> None:
        seconds = round(e.seconds, 2)  # one figure for the ledger, run.json and the console (rounded once)
        self.ledger.record_stage(self.run_id, e.stage, e.started_at, seconds,
                                 "failed" if e.error else "ok", e.notebook, e.error)
        entry = {"name": e.stage, "notebook": e.notebook, "outcome": "failed" if e.error else "ok",
                 "seconds": seconds}
        named = f"{e.stage} " if self._beside.get(e.stage) else ""  # which of the stages side by side
        if e.error:
            self.record_["stages"].append({**entry, "error": e.error})
            self.say(f"    {named}FAILED: {e.error}", e.stage, logging.ERROR)
        else:
            self.record_["stages"].append(entry)
            self.say(f"    {named}done in {entry['seconds']:.1f} s", e.stage)

    def _on_Ingested(self, e: ev.Ingested) -> None:
        self.record_["ingestion"] = dict(e.summary)
        for item in e.summary.get("quarantine") or []:
            self.ledger.record_quarantine(self.run_id, item["name"], item["scope"], item.get("rows"),
                                          item.get("reason"), item.get("path"), item.get("sha256"))
            what = "refused" if item["scope"] == "file" else f"{item.get('rows')} bad row(s) set aside"
            self.note(f"quarantine: {item['name']} {what}: {item.get('reason')} ({item.get('path')})",
                      "ingestion", logging.WARNING)

    def _on_DriftChecked(self, e: ev.DriftChecked) -> None:
        self.record_["drift"] = {"data": e.data, "score": e.score, "estimate": e.estimate}

    def _on_DriftDetected(self, e: ev.DriftDetected) -> None:
        self.alerts.send("drift", self.run_id, e.text, retrain=e.retrain, data_drift=e.verdict)

    def _on_Decided(self, e: ev.Decided) -> None:
        self.record_["decisions"][e.name] = e.decision.to_dict()
        self.ledger.record_decision(self.run_id, e.name, e.decision.value, e.decision.reason)

    def _on_Trained(self, e: ev.Trained) -> None:
        self.note(f"trained v{e.version} on {e.rows} rows", "training")

    def _on_Scored(self, e: ev.Scored) -> None:
        self.ledger.record_score(self.run_id, e.version, e.role, e.dataset, e.metrics)

    def _on_Deployed(self, e: ev.Deployed) -> None:
        f1, run_id = e.metrics.get("f1"), e.run_id or self.run_id
        self.registry.set_status(e.version, "accepted", "passed the champion/challenger gate", run_id=run_id)
        self.ledger.record_deployment(run_id, "deploy", e.version, e.previous_version, f1, e.reason)
        self.ledger.record_score(run_id, e.version, "production", "test", e.metrics)
        self.alerts.send("deploy", run_id, f"v{e.version} deployed: {e.reason}", version=e.version,
                         previous_version=e.previous_version, f1=f1)
        if e.run_id:
            self.say(f"recovered: {e.reason}", level=logging.WARNING)

    def _on_Rejected(self, e: ev.Rejected) -> None:
        self.registry.set_status(e.version, "rejected", e.reason, f1=e.f1, champion_f1=e.champion_f1)
        self.ledger.record_deployment(self.run_id, "reject", e.version, e.production_version, e.f1, e.reason)
        self.alerts.send("reject", self.run_id, f"v{e.version} rejected: {e.reason}", version=e.version,
                         production_version=e.production_version, f1=e.f1)

    def _on_RolledBack(self, e: ev.RolledBack) -> None:
        self.ledger.record_deployment(None, "rollback", e.version, e.previous_version, e.f1, e.reason)
        self.note(e.reason, level=logging.WARNING)

    def _on_Abandoned(self, e: ev.Abandoned) -> None:
        self.registry.set_status(e.version, "abandoned", e.reason)
        self.say(f"recovered: v{e.version} abandoned: {e.reason}", level=logging.WARNING)

    def _on_OutcomesArrived(self, e: ev.OutcomesArrived) -> None:
        self.record_["outcomes"] = {"realised": e.realised, "n_unmatched": e.n_unmatched}
        for r in e.realised:
            self.note(f"outcomes of {r['n']} clients scored in run {r['scored_in_run']} by v{r['model_version']}: "
                      f"realised F1 {r['f1']:.4f}", "labels")

    def _on_RiskListed(self, e: ev.RiskListed) -> None:
        ordered = {band: e.band_counts.get(band, 0) for band in reversed(list(self.cfg.risk["bands"]))}
        self.record_["risk"] = {"model_version": e.version, "n_scored": e.n_scored, "band_counts": ordered,
                                "top": e.top, "path": e.path}
        counts = ", ".join(f"{band} {n}" for band, n in ordered.items())
        self.note(f"risk list: {e.n_scored} clients scored by v{e.version} ({counts})", "risk")

    def _on_ReportExported(self, e: ev.ReportExported) -> None:
        self.record_["report"] = {"html": e.html, "pdf": e.pdf, "message": e.message}
        if (e.html is None or e.pdf is None) and (problem := describe_environment_reason(e.message)):
            self.refused(None, "the report export", problem)
        if e.pdf is None and e.html is not None and not e.message.startswith("PDF disabled"):
            self.say(f"    {e.message}", "reporting", logging.WARNING)
        elif e.html is None:
            self.say(f"    {e.message}", "reporting", logging.ERROR)

    def _on_Failed(self, e: ev.Failed) -> None:
        self.record_["error"] = {"stage": e.stage, "reason": e.reason, "notebook": e.notebook}
        self.alerts.send("failure", self.run_id, f"riskwatch run {self.run_id} failed in {e.stage}: {e.reason}",
                         stage=e.stage, notebook=e.notebook)

    # ---- the end of a run ----------------------------------------------------------------------
    def finish(self, run_dir: Path, outcome: str, exit_code: int, model_version: int | None) -> str:
        """Write ``run.json`` and the ledger's result row; clear the marker of a finished cycle."""
        self.stage = None
        record = self.record_
        record.update(finished_at=now_iso(), outcome=outcome, exit_code=exit_code,
                      production_after=self.registry.production_version(), model_version=model_version)
        record["summary"] = summarize(record, self.registry)
        writes = ((RUN_RECORD, lambda: atomic_write_text(RunFolder(run_dir).record,
                                                         json.dumps(record, indent=1, default=str) + "\n")),
                  ("the ledger's result row", lambda: self.ledger.finish_run(
                      self.run_id, outcome, exit_code, record["summary"], record["production_after"])))
        for what, write in writes:  # each on its own: one refused write must not skip the other
            try:
                write()
            except Exception as exc:
                if not environment_failure(exc):
                    raise
                self.refused(exc, f"writing {what}")
        if exit_code == 0:
            self.cfg.pending_cycle_path.unlink(missing_ok=True)
        return record["summary"]


def read_pending(cfg: Config) -> dict[str, Any] | None:
    try:
        return json.loads(cfg.pending_cycle_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def summarize(record: dict[str, Any], registry: Registry) -> str:
    """A few lines a person reads at the end of a run (and finds again in run.json)."""
    lines = [f"run {record['run_id']} ({record['mode']}): {record['outcome']}"]
    ing = record.get("ingestion") or {}
    if ing:
        quarantined = ing.get("quarantined") or []
        aside = [f"{q['rows']} of {q['name']}" for q in ing.get("quarantine") or [] if q["scope"] == "rows"]
        lines.append(f"  data: {len(ing.get('new_files') or [])} new file(s), {ing.get('n_batch_rows')} new rows, "
                     f"finaldata {ing.get('n_rows')} rows"
                     + (f"; quarantined: {', '.join(quarantined)}" if quarantined else "")
                     + (f"; bad rows set aside: {', '.join(aside)}" if aside else ""))
    for name, decision in record.get("decisions", {}).items():
        lines.append(f"  {name}: " + "; ".join(decision["reasons"]))
    for r in (record.get("outcomes") or {}).get("realised", []):
        lines.append(f"  outcomes: {r['n']} clients scored in run {r['scored_in_run']} by v{r['model_version']}: "
                     f"realised F1 {r['f1']:.4f}")
    risk = record.get("risk")
    if risk:
        counts = ", ".join(f"{band} {n}" for band, n in risk["band_counts"].items())
        lines.append(f"  risk: {risk['n_scored']} clients scored by v{risk['model_version']} ({counts}); "
                     f"list: {risk['path']}")
    if record.get("error"):
        err = record["error"]
        lines.append(f"  FAILED in {err['stage']}: {err['reason']}")
        lines.append(f"  partial notebook: {err['notebook']}")
    after = record.get("production_after")
    if after is not None:
        f1 = (registry.metrics(after) or {}).get("f1")
        lines.append(f"  production: v{after}" + (f" (test F1 {f1:.4f})" if f1 is not None else ""))
    else:
        lines.append("  production: no model deployed")
    report = record.get("report") or {}
    if report.get("pdf") or report.get("html"):
        lines.append(f"  report: {report.get('pdf') or report.get('html')}")
    if report and not report.get("pdf"):
        lines.append(f"  note: {report.get('message')}")
    timings = ", ".join(f"{s['name']} {s.get('seconds', 0):.1f}s" for s in record.get("stages", []))
    if timings:
        lines.append(f"  stages: {timings}")
    return "\n".join(lines)
