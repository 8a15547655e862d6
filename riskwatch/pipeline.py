"""Run one cycle: detect new data, then loop over the stage list (:data:`riskwatch.stages.STAGES`).

The stage list says what runs and when; :mod:`riskwatch.executor` runs a notebook; the
:class:`~riskwatch.recorder.Recorder` writes down what happened. The new-data check needs neither
pandas nor a kernel, so a cron tick with nothing new is cheap.
"""

from __future__ import annotations

import fcntl
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from riskwatch import layout
from riskwatch.clock import now_iso, stamp
from riskwatch.config import Config
from riskwatch.cycle import CycleState
from riskwatch.deployment import deploy_version, sync_production_folder
from riskwatch.decisions import Decision
from riskwatch.environment import EXIT_ENVIRONMENT, describe_environment_reason, environment_failure
from riskwatch.events import Decided, Failed, RolledBack, RunStarted, StageEnded, StageStarted
from riskwatch.executor import KERNEL_ARGUMENTS, StageFailed, StageRun, execute_stage, kernel_environment
from riskwatch.kernels import KernelPool, imports_of
from riskwatch.faults import kill_point
from riskwatch.integrity import integrity_advice, production_problem
from riskwatch.ledger_repair import ensure_healthy
from riskwatch.newdata import atomic_write_text, detect_new_files
from riskwatch.reconcile import reconcile
from riskwatch.recorder import Echo, Recorder, read_pending
from riskwatch.registry import Registry
from riskwatch.stages import STAGES, Stage, side_by_side

EXIT_OK = 0              # cycle completed, or nothing new to do
EXIT_STAGE_FAILED = 1    # a stage raised, timed out or lost its kernel; the partial notebook is kept
EXIT_CONFIG_ERROR = 2    # config.json (or a command-line value) is wrong; nothing was run
EXIT_LOCKED = 3          # another cycle holds the lock; this one did nothing
EXIT_INTEGRITY = 7       # the deployed model fails its hash check; nothing ran (roll back to a verified one)


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


def new_run_id() -> str:
    """Sortable by time, unique across processes."""
    return stamp() + "-" + secrets.token_hex(3)


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
        handle.write(f"pid {os.getpid()} since {now_iso()}")
        handle.flush()
        yield
    finally:
        handle.close()


def repair(cfg: Config, registry: Registry) -> list[str]:
    """Finish what a killed run left half done: drop incomplete versions, resync production."""
    notes = [f"removed incomplete model folder {name}" for name in registry.remove_incomplete()]
    if sync_production_folder(registry, cfg.prod_deployment_path):
        notes.append(f"production folder resynced to v{registry.production_version()}")
    return notes


def run_cycle(cfg: Config, force_retrain: bool = False, echo: Echo = print,
              stages: tuple[Stage, ...] = STAGES, notebooks_folder: Path | None = None) -> CycleResult:
    """One cycle under the project lock. Never raises for a stage failure: the result says."""
    recorder = Recorder(cfg, echo)
    try:
        with cycle_lock(cfg.lock_path):
            result = _cycle(cfg, force_retrain, recorder, stages, notebooks_folder)
    except LockHeld as exc:
        recorder.note(str(exc), level=30)
        raise
    recorder.note(f"summary: {result.summary}", level=40 if result.exit_code else 20)
    return result


def _cycle(cfg: Config, force_retrain: bool, recorder: Recorder, stages: tuple[Stage, ...],
           notebooks_folder: Path | None) -> CycleResult:
    recorder.alerts.retry_pending()
    registry = Registry(cfg.registry_path)
    problem = production_problem(registry)
    if problem is not None:
        return refuse_unverified_production(cfg, registry, recorder, problem)
    for recovered in repair(cfg, registry):
        recorder.say(f"recovered: {recovered}", level=30)
    rebuilt = ensure_healthy(cfg.ledger_path, registry, cfg.runs_path)
    if rebuilt is not None:
        recorder.say(f"recovered: {rebuilt}", level=30)
    recorder.record(*reconcile(registry, recorder.ledger.deployments(50)
                               if cfg.ledger_path.exists() or registry.production() else []))
    pending = recorder.pending()
    redo = set(pending["hashes"]) if pending else set()
    new_files = detect_new_files(cfg.input_folder_path, cfg.record_path, redo)
    production = registry.production_version()
    if not new_files and production is not None and not force_retrain:
        return CycleResult("nothing-new", EXIT_OK, f"nothing new in {cfg.input_folder_path} — production "
                                                   f"stays on v{production}; no kernel started")
    run_id = new_run_id()
    state = CycleState(run_id, cfg.runs_path / run_id, production, [f.as_dict() for f in new_files],
                       sorted(redo), force_retrain=force_retrain)
    recorder.record(RunStarted(run_id, tuple(f.name for f in new_files), production,
                               tuple(sorted({f.sha256 for f in new_files} | redo)),
                               pending.get("run_id") if pending else None))
    if rebuilt is not None:  # said in this run's decisions, so the report and status show it too
        recorder.record(Decided("ledger", Decision(True, (rebuilt,))))
    outcome, exit_code, failed_in = "failed", EXIT_STAGE_FAILED, "start"
    try:
        state.run_dir.mkdir(parents=True, exist_ok=True)
        if production is not None and recorder.environment_problem is None:
            state.score_history = recorder.ledger.production_scores(cfg.mode, production)
        run_stages(stages, cfg, state, recorder, notebooks_folder)
        outcome, exit_code = state.outcome, EXIT_OK
    except StageFailed as exc:
        failed_in = exc.stage
        recorder.record(Failed(exc.stage, exc.reason, str(exc.notebook_path)))
        recorder.environment_problem = recorder.environment_problem or describe_environment_reason(exc.reason)
    except Exception as exc:  # the machine refused a write outside any stage (the run folder)
        if not environment_failure(exc):
            raise
        recorder.refused(exc, "starting the run")
    summary = recorder.finish(state.run_dir, outcome, exit_code, state.model_version)
    if recorder.environment_problem is not None:
        exit_code = EXIT_ENVIRONMENT
        then = ("the unfinished cycle is redone then" if outcome == "failed" else
                f"the cycle itself completed ({outcome}), only its records are incomplete")
        summary = (f"run {run_id} stopped in {recorder.refused_in or failed_in}: {recorder.environment_problem}. "
                   f"Free space or fix the permissions and run again: {then}.\n{summary}")
    return CycleResult(outcome, exit_code, summary, run_id, state.run_dir, state.decision_record)


def refuse_unverified_production(cfg: Config, registry: Registry, recorder: Recorder, problem: str) -> CycleResult:
    """A deployed model that fails its hash check stops every run before any work, in one sentence
    that says what to do; the log gets it every time, the failure alert once per damaged artifact."""
    advice = integrity_advice(registry, problem)
    recorder.note(advice, level=40)
    marker = cfg.outputs_path / layout.INTEGRITY_ALERTED
    seen = marker.read_text(encoding="utf-8").strip() if marker.exists() else ""
    if seen != problem:
        recorder.alerts.send("failure", None, f"riskwatch: {advice}", version=registry.production_version())
        atomic_write_text(marker, problem + "\n")
    return CycleResult("failed", EXIT_INTEGRITY, advice)


def run_stages(stages: tuple[Stage, ...], cfg: Config, state: CycleState, recorder: Recorder,
               notebooks_folder: Path | None = None) -> None:
    """The loop: each stage whose condition holds runs, and what it glued becomes state and events.
    With ``runtime.warm_kernels``, each stage's kernel starts while the previous stage runs."""
    pool = None
    if cfg.runtime["warm_kernels"] and recorder.environment_problem is None:
        kernel_environment(cfg)
        folder = notebooks_folder or cfg.notebooks_path
        pool = KernelPool(cfg.runtime["kernel_name"], state.run_dir, cfg.runtime["start_timeout"], KERNEL_ARGUMENTS,
                          [imports_of(stage.notebook_path(folder)) for stage in stages],
                          fork=cfg.runtime["fork_kernels"])
        pool.warm()
    try:
        _run_stages(stages, cfg, state, recorder, notebooks_folder, pool)
    finally:
        if pool is not None:
            pool.close()


def _run_stages(stages: tuple[Stage, ...], cfg: Config, state: CycleState, recorder: Recorder,
                notebooks_folder: Path | None, pool: KernelPool | None) -> None:
    later = len(stages)  # stages that may still ask for a kernel
    for group in side_by_side(stages, cfg.runtime["side_by_side"]):
        later -= len(group)
        if recorder.environment_problem is not None:  # the machine refuses writes: stop here, cleanly
            raise StageFailed(group[0].name, state.run_dir, f"not started: {recorder.environment_problem}")
        running = []
        for stage in group:  # side by side, no stage decides on what another of the group glues
            runs, events = stage.runs_when.evaluate(state)
            recorder.record(*events)
            if runs:
                running.append(stage)
        for stage in running:
            beside = tuple(other.name for other in running if other is not stage)
            recorder.record(StageStarted(stage.name, stage.purpose, beside))
            kill_point(f"before:{stage.name}")
        kms = [pool.take(later + len(running) - taken) if pool is not None else None
               for taken in range(1, len(running) + 1)]
        prepared: dict[str, Any] = {}
        try:
            try:
                prepared.update((s.name, s.prepare(cfg)) for s in running if s.prepare is not None)
                ends = execute_side_by_side(running, cfg, state, notebooks_folder, kms)
            finally:
                for km in kms:
                    if pool is not None:
                        pool.release(km)
            _record_ends(running, ends, cfg, state, recorder, prepared)
        finally:
            for ahead in prepared.values():
                ahead.close()


def _record_ends(running: list[Stage], ends: list[StageRun | StageFailed], cfg: Config, state: CycleState,
                 recorder: Recorder, prepared: dict[str, Any]) -> None:
    failed = None
    for stage, end in zip(running, ends):  # recorded in the stage list's order, however they ended
        if isinstance(end, StageFailed):
            state.scraps[stage.name] = end.scraps
            recorder.record(StageEnded(stage.name, str(end.notebook_path), end.started_at, end.seconds,
                                       end.reason))
            failed = failed or end
            continue
        state.scraps[stage.name] = end.scraps
        kill_point(f"after:{stage.name}")  # e.g. production switched, nothing recorded yet
        recorder.record(StageEnded(stage.name, str(end.notebook), end.started_at, end.seconds))
        recorder.record(*stage.then(state, end.scraps))
        if stage.after is not None:
            recorder.record(*stage.after(cfg, state, end.notebook, prepared.get(stage.name)))
    if failed is not None:
        raise failed


def execute_side_by_side(stages: list[Stage], cfg: Config, state: CycleState, notebooks_folder: Path | None,
                         kms: list[Any]) -> list[StageRun | StageFailed]:
    """Each stage's run or failure, the stages executed at once (one thread each, one kernel each)."""
    def run(stage: Stage, km: Any) -> StageRun | StageFailed:
        try:
            return execute_stage(stage, cfg, state, notebooks_folder, km)
        except StageFailed as exc:
            return exc

    if len(stages) < 2:
        return [run(stage, km) for stage, km in zip(stages, kms)]
    with ThreadPoolExecutor(len(stages), thread_name_prefix="riskwatch-stage") as threads:
        return list(threads.map(run, stages, kms))


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


class RollbackRefused(ValueError):
    """The rollback was not done: unknown or unscored version, or a lower score without ``--yes``."""


def rollback_target(registry: Registry, current: int | None, version: int, confirmed: bool) -> str:
    """Check that ``version`` may replace ``current``; returns "from → to" with both test scores.

    Only versions scored on the test data qualify (a candidate an analyst registered never was);
    going to a lower score needs ``confirmed`` (``--yes``)."""
    known = registry.versions()
    if version not in known:
        listed = ", ".join(f"v{v}" for v in known) or "none"
        raise RollbackRefused(f"there is no model version {version} in the registry (versions: {listed})")
    target_f1 = (registry.metrics(version) or {}).get("f1")
    if target_f1 is None:
        status = registry.status(version)
        raise RollbackRefused(f"v{version} was never scored on the test data ({status.get('status')}: "
                              f"{status.get('reason')}); rollback goes only to scored versions")
    current_f1 = (registry.metrics(current) or {}).get("f1") if current is not None else None
    move = (f"v{current} (test F1 {_f1(current_f1)}) → " if current is not None else "") + \
        f"v{version} (test F1 {_f1(target_f1)})"
    if current_f1 is not None and target_f1 < current_f1 and not confirmed:
        raise RollbackRefused(f"{move}: v{version} scores lower than v{current}; nothing changed. "
                              f"Add --yes to roll back anyway")
    return move


def _f1(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.4f}"


def rollback(cfg: Config, version: int | None = None, echo: Echo = print, confirmed: bool = False) -> int:
    """Put ``version`` (default: the one deployed before the current) back into production."""
    with cycle_lock(cfg.lock_path):
        recorder = Recorder(cfg, echo)
        registry = recorder.registry
        rebuilt = ensure_healthy(cfg.ledger_path, registry, cfg.runs_path)
        if rebuilt is not None:
            recorder.say(f"recovered: {rebuilt}", level=30)
        current = registry.production_version()
        if version is None:
            candidates = [d["version"] for d in recorder.ledger.deployments(1000)
                          if d["action"] in ("deploy", "rollback") and d["version"] != current]
            if not candidates:
                raise RollbackRefused("there is no earlier deployed version to roll back to")
            version = candidates[0]
        if version == current:
            echo(f"v{version} is already in production")
            return version
        move = rollback_target(registry, current, version, confirmed)
        registry.check(version)
        deploy_version(registry, version, cfg.prod_deployment_path, run_id="rollback", action="rollback")
        f1 = (registry.metrics(version) or {}).get("f1")
        reason = f"rolled back from v{current} to v{version} by hand"
        recorder.record(RolledBack(version, current, f1, reason))
        echo(f"rolled back: {move}")
        return version
