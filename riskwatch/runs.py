"""Reading what runs left in their folders (``outputs/runs/<run id>``): the API and the dashboard
show the newest diagnostics and the record of the run that wrote them. Writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from riskwatch import layout
from riskwatch.layout import RunFolder


def latest_diagnostics(runs_path: Path) -> tuple[RunFolder, dict[str, Any]] | None:
    """(run folder, its diagnostics) of the newest run that wrote diagnostics, if any did."""
    path = layout.latest_run_with(runs_path, layout.DIAGNOSTICS)
    if path is None:
        return None
    return RunFolder(path.parent), json.loads(path.read_text(encoding="utf-8"))


def run_record(run: RunFolder) -> dict[str, Any] | None:
    """The run's record (``run.json``), if it wrote one."""
    if not run.record.is_file():
        return None
    return json.loads(run.record.read_text(encoding="utf-8"))
