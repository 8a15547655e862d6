"""Run one cycle: detect new data → ingest → check drift → train → score → gate → deploy.

Stages run as papermill notebooks; what runs next is decided from the scraps they glue. The
new-data check needs neither pandas nor a kernel, so a cron tick with nothing new is cheap.
Heavy imports (papermill, scrapbook) are therefore made inside the functions that need them.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from riskwatch.config import Config
from riskwatch.decisions import Decision
from riskwatch.deployment import deploy_version, sync_production_folder
from riskwatch.ledger import Ledger
from riskwatch.newdata import atomic_write_text, detect_new_files
from riskwatch.registry import Registry
from riskwatch.stages import (DEPLOYMENT, DIAGNOSTICS, DRIFT, INGESTION, REPORTING, SCORING, TRAINING,
                              RunContext, Stage)

EXIT_OK = 0              # cycle completed, or nothing new to do
EXIT_STAGE_FAILED = 1    # a stage raised, timed out or lost its kernel; the partial notebook is kept
EXIT_CONFIG_ERROR = 2    # config.json (or a command-line value) is wrong; nothing was run
EXIT_LOCKED = 3          # another cycle holds the lock; this one did nothing

Echo = Callable[[str], None]


class StageFailed(RuntimeError):
    """A stage notebook failed; ``notebook_path`` is the partially executed copy."""

    def __init__(self, stage: str, notebook_path: Path, reason: str):
        self.stage, self.notebook_path, self.reason = stage, notebook_path, reason
        super().__init__(f"stage '{stage}' failed: {reason} (notebook kept at {notebook_path})")


class LockHeld(RuntimeError):
    """Another riskwatch cycle is running on this project."""


@dataclass
class CycleResult:
    outcome: str                     # nothing-new | no-retrain | deployed | rejected | failed
    exit_code: int
    summary: str
    run_id: str | None = None
    run_dir: Path | None = None
    decisions: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    """Sortable by time, unique across processes."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@contextmanager
def cycle_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` for the cycle. The kernel drops it when the holder dies, so a
    killed run never blocks the next one."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LockHeld(f"another riskwatch cycle is running ({holder}); this run did nothing") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {_now()}")
        handle.flush()
        yield
    finally:
        handle.close()


def kernel_environment(cfg: Config) -> None:
    """Give kernels writable config folders (cron has no HOME worth writing to) and quiet the
    debugger's frozen-modules warning, which would otherwise land in every notebook."""
    cache = cfg.outputs_path / ".cache"
    for var, sub in (("MPLCONFIGDIR", "matplotlib"), ("IPYTHONDIR", "ipython")):
        if not os.environ.get(var):
            (cache / sub).mkdir(parents=True, exist_ok=True)
            os.environ[var] = str(cache / sub)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")


def execute_stage(stage: Stage, cfg: Config, ctx: RunContext, ledger: Ledger | None = None,
                  notebooks_folder: Path | None = None) -> dict[str, Any]:
    """Execute one stage notebook into the run folder and return its scraps.

    Raises :class:`StageFailed` for an exception in a cell, a cell timeout, a dead kernel or a
    notebook that never glued ``stage_finished`` (papermill reports the last two as completed).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from riskwatch.scraps import read_scraps

    source = (notebooks_folder or cfg.notebooks_path) / stage.notebook
    output = ctx.run_dir / stage.notebook
    parameters = stage.parameters(cfg, ctx)
    declared = papermill.inspect_notebook(str(source))
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        # papermill would only warn and inject them anyway; a typo must not pass silently.
        raise StageFailed(stage.name, source, f"unknown parameter(s) {', '.join(unknown)} for {source.name}")
    kernel_environment(cfg)
    started_at, start = _now(), time.monotonic()
    reason = None
    try:
        papermill.execute_notebook(
            str(source), str(output), parameters=parameters,
            kernel_name=cfg.runtime["kernel_name"], cwd=str(ctx.run_dir),
            execution_timeout=cfg.runtime["execution_timeout"],
            start_timeout=cfg.runtime["start_timeout"], progress_bar=False, log_output=False,
            # The kernel's own log (e.g. ipykernel's warning about local TCP) would land in
            # every cron log; cell errors are kept in the executed notebook instead.
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except PapermillExecutionError as exc:
        reason = f"{exc.ename}: {exc.evalue} (cell {exc.exec_count or exc.cell_index})"
    except Exception as exc:  # CellTimeoutError, DeadKernelError, kernel start failures
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = f"{type(exc).__name__}: {first}"
    seconds = time.monotonic() - start
    scraps: dict[str, Any] = {}
    if output.exists():
        try:
            scraps = read_scraps(output)
        except Exception as exc:  # an unreadable notebook is itself a failure worth naming
            reason = reason or f"could not read the scraps of {output.name}: {exc}"
    if reason is None and scraps.get("stage_finished") is not True:
        reason = "the notebook ended without glueing its 'stage_finished' scrap"
    ctx.scraps[stage.name] = scraps
    if ledger is not None:
        ledger.record_stage(ctx.run_id, stage.name, started_at, round(seconds, 3),
                            "failed" if reason else "ok", str(output), reason)
    if reason:
        raise StageFailed(stage.name, output, reason)
    return scraps


def repair(cfg: Config, registry: Registry) -> list[str]:
    """Finish what a killed run left half done: drop incomplete versions, resync production."""
    notes = [f"removed incomplete model folder {name}" for name in registry.remove_incomplete()]
    if sync_production_folder(registry, cfg.prod_deployment_path):
        notes.append(f"production folder resynced to v{registry.production_version()}")
    return notes


def _pending_path(cfg: Config) -> Path:
    return cfg.outputs_path / "pending_cycle.json"


def read_pending(cfg: Config) -> dict[str, Any] | None:
    """The marker of a cycle that started but did not finish (killed or failed)."""
    try:
        return json.loads(_pending_path(cfg).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def production_scores(ledger: Ledger) -> list[float]:
    """Every F1 measured for the model in production: its test score at deployment and its
    score on each new batch. This is the history the score-drift rules compare against."""
    return [row["f1"] for row in ledger.scores(roles=["production"]) if row["f1"] is not None]


def project_logger(cfg: Config):
    from riskwatch.logs import get_logger

    return get_logger(cfg.log_path, int(cfg.logging["max_bytes"]), int(cfg.logging["backups"]))


def run_cycle(cfg: Config, force_retrain: bool = False, echo: Echo = print) -> CycleResult:
    """One cycle under the project lock. Never raises for a stage failure: the result says."""
    from riskwatch.logs import log

    logger = project_logger(cfg)
    try:
        with cycle_lock(cfg.lock_path):
            result = _run_locked(cfg, force_retrain, echo, logger)
    except LockHeld as exc:
        log(logger, str(exc), level=30)
        raise
    log(logger, f"summary: {result.summary}", run_id=result.run_id or "-",
        level=40 if result.exit_code else 20)
    return result


def dry_run(cfg: Config) -> str:
    """What a cycle would do now, changing nothing (no lock, no ledger, no files written)."""
    registry = Registry(cfg.registry_path)
    pending = read_pending(cfg)
    redo = set(pending["hashes"]) if pending else set()
    new_files = detect_new_files(cfg.input_folder_path, cfg.record_path, redo)
    production = registry.production_version()
    lines = [f"dry run ({cfg.mode}): {len(new_files)} new file(s) in {cfg.input_folder_path}"]
    lines += [f"  new: {f.name} ({f.size} bytes, sha256 {f.sha256[:12]})" for f in new_files]
    if pending:
        lines.append(f"  the unfinished cycle {pending.get('run_id')} would be redone")
    if not new_files and production is not None:
        lines.append(f"  nothing to do: production stays on v{production}; no kernel would start")
    elif production is None:
        lines.append("  no model is deployed: a cycle would ingest, train, score and deploy the first one")
    else:
        lines.append(f"  a cycle would ingest these files and check drift against v{production}'s "
                     f"training data ({cfg.decision['retrain_on']} rule), then retrain only if it drifted")
    return "\n".join(lines)


def _run_locked(cfg: Config, force_retrain: bool, echo: Echo, logger: Any = None) -> CycleResult:
    from riskwatch.alerts import Alerts
    from riskwatch.logs import log

    def note(message: str, run_id: str = "-", stage: str = "-", level: int = 20) -> None:
        if logger is not None:
            log(logger, message, run_id=run_id, stage=stage, level=level)

    alerts = Alerts(dict(cfg.alerts), cfg.outputs_path / "alerts_pending.jsonl", note)
    alerts.retry_pending()
    registry = Registry(cfg.registry_path)
    for recovered in repair(cfg, registry):
        echo(f"recovered: {recovered}")
        note(f"recovered: {recovered}", level=30)
    pending = read_pending(cfg)
    redo = set(pending["hashes"]) if pending else set()
    new_files = detect_new_files(cfg.input_folder_path, cfg.record_path, redo)
    production = registry.production_version()
    if not new_files and production is not None and not force_retrain:
        summary = (f"nothing new in {cfg.input_folder_path} — production stays on v{production}; "
                   "no kernel started")
        return CycleResult("nothing-new", EXIT_OK, summary)

    run_id = new_run_id()
    run_dir = cfg.runs_path / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(cfg.ledger_path)
    hashes = sorted({f.sha256 for f in new_files} | redo)
    atomic_write_text(_pending_path(cfg), json.dumps({"run_id": run_id, "hashes": hashes}) + "\n")
    ledger.start_run(run_id, cfg.mode, str(cfg.source), [f.name for f in new_files])
    ctx = RunContext(run_id=run_id, run_dir=run_dir, production_version=production,
                     redo_hashes=sorted(redo), new_files=[f.as_dict() for f in new_files])
    record: dict[str, Any] = {
        "run_id": run_id, "mode": cfg.mode, "config": str(cfg.source), "started_at": _now(),
        "new_files": [f.name for f in new_files], "production_before": production,
        "stages": [], "decisions": {},
    }
    outer_echo = echo

    def echo(message: str, stage_name: str = "-", level: int = 20) -> None:
        outer_echo(message)
        note(message.strip(), run_id=run_id, stage=stage_name, level=level)

    if pending:
        record["redo_of"] = pending.get("run_id")
        echo(f"redoing the unfinished cycle {pending.get('run_id')}", level=30)
    echo(f"riskwatch run {run_id} ({cfg.mode}): {len(new_files)} new file(s) in {cfg.input_folder_path}")

    def stage(step: Stage) -> dict[str, Any]:
        echo(f"  → {step.name:<11} {step.purpose} …", step.name)
        start = time.monotonic()
        entry = {"name": step.name, "notebook": str(run_dir / step.notebook)}
        record["stages"].append(entry)
        try:
            scraps = execute_stage(step, cfg, ctx, ledger)
        except StageFailed as exc:
            entry.update(outcome="failed", seconds=round(time.monotonic() - start, 2), error=exc.reason)
            echo(f"    FAILED: {exc.reason}", step.name, level=40)
            raise
        entry.update(outcome="ok", seconds=round(time.monotonic() - start, 2))
        echo(f"    done in {entry['seconds']:.1f} s", step.name)
        return scraps

    def decide(name: str, decision: Decision) -> None:
        record["decisions"][name] = decision.to_dict()
        ledger.record_decision(run_id, name, decision.value, decision.reason)

    outcome, exit_code = "failed", EXIT_STAGE_FAILED
    try:
        ingested = stage(INGESTION)
        record["ingestion"] = {k: ingested.get(k) for k in
                               ("new_files", "quarantined", "n_rows", "n_batch_rows", "n_duplicates")}
        if production is None:
            retrain = Decision(True, ("retrain: no model is deployed yet, so train the first one",))
        else:
            retrain = Decision(False, ("no retrain: the new files held no valid rows",))
            if ingested.get("n_batch_rows", 0) > 0:
                ctx.score_history = production_scores(ledger)
                checked = stage(DRIFT)
                record["drift"] = {"data": checked.get("data_drift"), "score": checked.get("score_drift")}
                ctx.drift_check = checked.get("data_drift")
                if checked.get("batch_f1") is not None:
                    ledger.record_score(run_id, production, "production", "batch",
                                        checked.get("batch_metrics") or {"f1": checked["batch_f1"]})
                retrain = Decision(bool(checked["retrain"]), tuple(checked["retrain_reasons"]))
                if checked.get("data_drifted") or checked.get("score_drifted"):
                    alerts.send("drift", run_id, f"drift detected against v{production}: "
                                + "; ".join(retrain.reasons[1:]), retrain=retrain.value,
                                data_drift=checked.get("data_drift_verdict"))
            if force_retrain and not retrain.value:
                retrain = Decision(True, ("retrain forced from the command line",) + retrain.reasons)
        decide("retrain", retrain)
        finished = "no-retrain"
        if retrain.value:
            trained = stage(TRAINING)
            ctx.model_version = int(trained["model_version"])
            scored = stage(SCORING)
            ledger.record_score(run_id, ctx.model_version, "challenger", "test", scored["metrics"])
            if scored.get("champion_metrics"):
                ledger.record_score(run_id, production, "champion", "test", scored["champion_metrics"])
            verdict = Decision(bool(scored["promote"]), (scored["gate_reason"],))
            decide("deploy", verdict)
            if verdict.value:
                stage(DEPLOYMENT)
                ledger.record_deployment(run_id, "deploy", ctx.model_version, production,
                                         scored["metrics"]["f1"], verdict.reason)
                ledger.record_score(run_id, ctx.model_version, "production", "test", scored["metrics"])
                finished = "deployed"
                alerts.send("deploy", run_id, f"v{ctx.model_version} deployed: {verdict.reason}",
                            version=ctx.model_version, previous_version=production,
                            f1=scored["metrics"]["f1"])
            else:
                registry.set_status(ctx.model_version, "rejected", verdict.reason,
                                    f1=scored["metrics"]["f1"],
                                    champion_f1=(scored.get("champion_metrics") or {}).get("f1"))
                ledger.record_deployment(run_id, "reject", ctx.model_version, production,
                                         scored["metrics"]["f1"], verdict.reason)
                finished = "rejected"
                alerts.send("reject", run_id, f"v{ctx.model_version} rejected: {verdict.reason}",
                            version=ctx.model_version, production_version=production,
                            f1=scored["metrics"]["f1"])
        ctx.outcome, ctx.decisions = finished, record["decisions"]
        stage(DIAGNOSTICS)
        stage(REPORTING)
        record["report"] = export_cycle_report(cfg, ctx, echo)
        _pending_path(cfg).unlink(missing_ok=True)
        outcome, exit_code = finished, EXIT_OK
    except StageFailed as exc:
        record["error"] = {"stage": exc.stage, "reason": exc.reason, "notebook": str(exc.notebook_path)}
        alerts.send("failure", run_id, f"riskwatch run {run_id} failed in {exc.stage}: {exc.reason}",
                    stage=exc.stage, notebook=str(exc.notebook_path))
    finally:
        record.update(finished_at=_now(), outcome=outcome, exit_code=exit_code,
                      production_after=registry.production_version(), model_version=ctx.model_version)
        record["summary"] = summarize(record, registry)
        atomic_write_text(run_dir / "run.json", json.dumps(record, indent=1, default=str) + "\n")
        ledger.finish_run(run_id, outcome, exit_code, record["summary"], record["production_after"])
    return CycleResult(outcome, exit_code, record["summary"], run_id, run_dir, record["decisions"])


def export_cycle_report(cfg: Config, ctx: RunContext, echo: Echo) -> dict[str, Any]:
    """HTML and PDF of the report notebook into the run folder, the PDF also as the baseline's
    ``summary_report.pdf``. A missing or failing Chromium costs the PDF, never the cycle."""
    import shutil

    from riskwatch.reporting import export_report

    notebook = ctx.run_dir / REPORTING.notebook
    try:
        exported = export_report(notebook, ctx.run_dir, "report", cfg.report["chromium"] or None) \
            if cfg.report["pdf"] else None
    except Exception as exc:  # nbconvert or Chromium trouble must not undo a finished cycle
        echo(f"    report export failed: {exc}")
        return {"html": None, "pdf": None, "message": f"report export failed: {exc}"}
    if exported is None:
        from riskwatch.reporting import notebook_to_html

        html = notebook_to_html(notebook, ctx.run_dir / "report.html")
        return {"html": str(html), "pdf": None, "message": "PDF disabled in config (report.pdf)"}
    if exported.pdf is not None:
        cfg.output_model_path.mkdir(parents=True, exist_ok=True)
        tmp = cfg.output_model_path / ".summary_report.pdf.tmp"
        shutil.copyfile(exported.pdf, tmp)
        tmp.replace(cfg.output_model_path / "summary_report.pdf")
    else:
        echo(f"    {exported.message}")
    return {"html": str(exported.html), "pdf": str(exported.pdf) if exported.pdf else None,
            "message": exported.message}


def summarize(record: dict[str, Any], registry: Registry) -> str:
    """A few lines a person reads at the end of a run (and finds again in run.json)."""
    lines = [f"run {record['run_id']} ({record['mode']}): {record['outcome']}"]
    ing = record.get("ingestion") or {}
    if ing:
        quarantined = ing.get("quarantined") or []
        lines.append(f"  data: {len(ing.get('new_files') or [])} new file(s), {ing.get('n_batch_rows')} new rows, "
                     f"finaldata {ing.get('n_rows')} rows"
                     + (f"; quarantined: {', '.join(quarantined)}" if quarantined else ""))
    for name, decision in record.get("decisions", {}).items():
        lines.append(f"  {name}: " + "; ".join(decision["reasons"]))
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


def rollback(cfg: Config, version: int | None = None, echo: Echo = print) -> int:
    """Put ``version`` (default: the one before the current) back into production."""
    with cycle_lock(cfg.lock_path):
        registry = Registry(cfg.registry_path)
        ledger = Ledger(cfg.ledger_path)
        current = registry.production_version()
        if version is None:
            candidates = [d["version"] for d in ledger.deployments(1000)
                          if d["action"] in ("deploy", "rollback") and d["version"] != current]
            if not candidates:
                raise ValueError("there is no earlier deployed version to roll back to")
            version = candidates[0]
        if version == current:
            echo(f"v{version} is already in production")
            return version
        registry.check(version)
        deploy_version(registry, version, cfg.prod_deployment_path, run_id="rollback", action="rollback")
        f1 = (registry.metrics(version) or {}).get("f1")
        reason = f"rolled back from v{current} to v{version} by hand"
        ledger.record_deployment(None, "rollback", version, current, f1, reason)
        echo(reason + (f" (test F1 {f1:.4f})" if f1 is not None else ""))
        return version


def train_and_deploy_in_process(cfg: Config, run_id: str = "in-process") -> int:
    """Ingest, train, score and deploy with the stage notebooks' own functions, in this process
    and without the drift check or the gate. For benchmarks and tests that need a deployed model
    quickly; cycles go through :func:`run_cycle`."""
    from riskwatch.deployment import accept_and_deploy
    from riskwatch.ingestion import ingest
    from riskwatch.scoring import evaluate_challenger
    from riskwatch.training import train_and_register

    ingest(cfg.input_folder_path, cfg.output_folder_path, cfg.quarantine_folder_path, cfg.schema, run_id)
    version, _, _ = train_and_register(str(cfg.finaldata_path), str(cfg.record_path), str(cfg.registry_path),
                                       str(cfg.output_model_path), cfg.schema, cfg.model.estimator,
                                       cfg.model.params, cfg.model.scale_numeric, run_id)
    evaluate_challenger(str(cfg.registry_path), version, None, str(cfg.test_data_path),
                        str(cfg.output_model_path), cfg.schema)
    accept_and_deploy(cfg.registry_path, version, cfg.prod_deployment_path, run_id)
    return version
