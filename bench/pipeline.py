"""The cron tick with no new data, a full cycle on the bundled data (with PDF and HTML), and the
per-stage overhead against a bare papermill kernel start/stop measured in the same run."""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, REPO, Row, python_measured, run_measured  # noqa: E402
from riskwatch import layout  # noqa: E402


def _project(root: Path, **runtime: object) -> Path:
    for part in ("practicedata", "sourcedata", "testdata"):
        shutil.copytree(REPO / "data" / part, root / "data" / part)
    config = json.loads((REPO / "config.json").read_text())
    config["report"] = {"index_url": "http://127.0.0.1:9/simple", "dependency_timeout": 1.0}
    config["runtime"] = {**config.get("runtime", {}), **runtime}
    (root / "config.json").write_text(json.dumps(config))
    return root / "config.json"


def cycle_and_tick() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="riskwatch-bench-cycle-") as tmp:
        config = _project(Path(tmp))
        runner = [PYTHON, str(REPO / "runner.py"), "--config", str(config), "run"]
        cycle_s, _, _ = run_measured(runner)
        run_dir = sorted((Path(tmp) / "outputs" / "runs").iterdir())[-1]
        overheads = []
        for stage in json.loads((run_dir / layout.RUN_RECORD).read_text())["stages"]:
            notebook = json.loads(Path(stage["notebook"]).read_text())
            work = sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0 for c in notebook["cells"])
            overheads.append(stage["seconds"] - work)
        ticks = [run_measured(runner)[0] for _ in range(5)]
        # The baseline's tick: a process that imports pandas and scikit-learn before it looks.
        base_ticks = [python_measured(
            "import pandas, sklearn.linear_model, os, json\n"
            f"os.listdir({str(Path(tmp) / 'data' / 'practicedata')!r})")[0] for _ in range(5)]
    with tempfile.TemporaryDirectory(prefix="riskwatch-bench-cycle-") as tmp:
        # The same cycle with each kernel started and importing for itself (runtime.fork_kernels off).
        started_s, _, _ = run_measured([PYTHON, str(REPO / "runner.py"), "--config",
                                        str(_project(Path(tmp), fork_kernels=False)), "run"])
    bare = _bare_kernel()
    overhead = statistics.median(overheads)
    return [
        Row("cron tick, no new data, whole process", statistics.median(ticks), statistics.median(base_ticks),
            "s", "≤ 0.15 s, no kernel", statistics.median(ticks) <= 0.15),
        Row("full cycle on bundled data incl. PDF and HTML", cycle_s, bare, "s", "≤ 8 s (ratio: bare kernels)",
            cycle_s <= 8, better_when_lower=False),
        Row("full cycle vs kernels started one by one", cycle_s, started_s, "s",
            "(forking is runtime.fork_kernels)"),
        # ratio here is ours / bare kernel: the target is at most 1.2x
        Row("per-stage overhead vs bare kernel start/stop", overhead, bare, "s",
            "ratio ≤ 1.2x", overhead <= 1.2 * bare, better_when_lower=False),
    ]


def _bare_kernel() -> float:
    """Median wall time of papermill running a one-cell notebook: kernel start, execute, stop."""
    code = """
import nbformat, papermill, statistics, tempfile, time, os
from nbformat.v4 import new_notebook, new_code_cell
d = tempfile.mkdtemp()
nb = new_notebook(cells=[new_code_cell("1")], metadata={"kernelspec": {"name": "python3", "display_name": "p", "language": "python"}})
nbformat.write(nb, d + "/e.ipynb")
times = []
for _ in range(3):
    t = time.perf_counter()
    papermill.execute_notebook(d + "/e.ipynb", d + "/o.ipynb", kernel_name="python3", progress_bar=False,
                               extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    times.append(time.perf_counter() - t)
print("BARE", statistics.median(times))
"""
    _, _, out = python_measured(code)
    return float(next(l.split()[1] for l in out.splitlines() if l.startswith("BARE")))
