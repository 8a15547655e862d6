"""Execute one stage notebook with papermill into the run folder and read back its scraps.

Every way a notebook can fail — an exception in a cell, a cell timeout, a dead kernel, a notebook
that ends without glueing ``stage_finished`` or one of the scraps its stage declares — becomes one
:class:`StageFailed` naming the stage and the partially executed notebook, which is kept.
papermill, nbclient and scrapbook are imported here only when a stage runs, so a cron tick with
nothing new never pays for them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskwatch.clock import now_iso
from riskwatch.config import Config
from riskwatch.cycle import CycleState
from riskwatch.stages import Stage


class StageFailed(RuntimeError):
    """A stage notebook failed; ``notebook_path`` is the partially executed copy."""

    def __init__(self, stage: str, notebook_path: Path, reason: str, started_at: str = "",
                 seconds: float = 0.0, scraps: dict[str, Any] | None = None):
        self.stage, self.notebook_path, self.reason = stage, notebook_path, reason
        self.started_at, self.seconds, self.scraps = started_at, seconds, scraps or {}
        super().__init__(f"stage '{stage}' failed: {reason} (notebook kept at {notebook_path})")


@dataclass(frozen=True)
class StageRun:
    """A finished stage: its scraps, where the executed notebook is, when and how long."""

    scraps: dict[str, Any]
    notebook: Path
    started_at: str
    seconds: float


def kernel_environment(cfg: Config) -> None:
    """Give kernels writable config folders (cron has no HOME worth writing to) and quiet the
    debugger's frozen-modules warning, which would otherwise land in every notebook."""
    for var, sub in (("MPLCONFIGDIR", "matplotlib"), ("IPYTHONDIR", "ipython")):
        if not os.environ.get(var):
            (cfg.kernel_cache_path / sub).mkdir(parents=True, exist_ok=True)
            os.environ[var] = str(cfg.kernel_cache_path / sub)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")


KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]


def execute_stage(stage: Stage, cfg: Config, state: CycleState, notebooks_folder: Path | None = None,
                  km: Any | None = None) -> StageRun:
    """Run ``stage``'s notebook with its resolved parameters; raise :class:`StageFailed` on any failure.

    ``km``: a kernel already started in the run folder (see :mod:`riskwatch.kernels`); papermill
    starts one when it is None."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from riskwatch.scraps import read_scraps

    source = stage.notebook_path(notebooks_folder or cfg.notebooks_path)
    output = state.folder.notebook(source.name)
    started_at, start = now_iso(), time.monotonic()
    parameters = stage.resolve(cfg, state)
    declared = papermill.inspect_notebook(str(source))
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        # papermill would only warn and inject them anyway; a typo must not pass silently.
        raise StageFailed(stage.name, source, f"unknown parameter(s) {', '.join(unknown)} for {source.name}",
                          started_at)
    kernel_environment(cfg)
    reason = None
    try:
        papermill.execute_notebook(
            str(source), str(output), parameters=parameters,
            kernel_name=cfg.runtime["kernel_name"], cwd=str(state.run_dir),
            execution_timeout=cfg.runtime["execution_timeout"],
            start_timeout=cfg.runtime["start_timeout"], progress_bar=False, log_output=False,
            # The kernel's own log (e.g. ipykernel's warning about local TCP) would land in
            # every cron log; cell errors are kept in the executed notebook instead.
            extra_arguments=KERNEL_ARGUMENTS, **({"km": km} if km is not None else {}))
    except PapermillExecutionError as exc:
        reason = f"{exc.ename}: {exc.evalue} (cell {exc.exec_count or exc.cell_index})"
    except Exception as exc:  # CellTimeoutError, DeadKernelError, kernel start failures
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = f"{type(exc).__name__}: {first}"
    scraps: dict[str, Any] = {}
    if output.exists():
        try:
            scraps = read_scraps(output)
        except Exception as exc:  # an unreadable notebook is itself a failure worth naming
            reason = reason or f"could not read the scraps of {output.name}: {exc}"
    if reason is None and scraps.get("stage_finished") is not True:
        reason = "the notebook ended without glueing its 'stage_finished' scrap"
    missing = [name for name in stage.scraps if name not in scraps]
    if reason is None and missing:
        reason = f"the notebook did not glue the scrap(s) its stage declares: {', '.join(missing)}"
    seconds = round(time.monotonic() - start, 3)
    if reason:
        raise StageFailed(stage.name, output, reason, started_at, seconds, scraps)
    return StageRun(scraps, output, started_at, seconds)
