"""Fault injection: kill riskwatch cycles at many points and check that the next run leaves the
registry, the production folder and the ledger in step.

Two kinds of kill, both SIGKILL (no cleanup, like a power cut or the OOM killer):
- named points: ``RISKWATCH_KILL_AT=before:<stage>`` / ``after:<stage>`` for every stage the cycle
  runs — ``after:deployment`` is the moment production has switched and nothing is recorded yet;
- random times: the runner's whole process group (runner and kernel) killed at a uniformly random
  moment of a cycle.
Two scenarios: the first cycle of a new project (practice data, nothing deployed), and a drift
cycle (production data against a deployed v1: retrain, score, gate, deploy). After each kill the
next ``run`` must exit 0 and :func:`riskwatch.reconcile.inconsistencies` must be empty; a third run
must find nothing new. The tally is printed per kill point. Exit code 0 either way: a benchmark.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PYTHON, REPO  # noqa: E402
from pipeline import _project  # noqa: E402
from riskwatch.config import load_config  # noqa: E402
from riskwatch.faults import VARIABLE  # noqa: E402
from riskwatch.ledger import Ledger  # noqa: E402
from riskwatch.reconcile import inconsistencies  # noqa: E402
from riskwatch.registry import Registry  # noqa: E402

FIRST = ("ingestion", "training", "scoring", "deployment", "risk", "diagnostics", "reporting")
DRIFT = ("ingestion", "drift", "training", "scoring", "deployment", "risk", "diagnostics", "reporting")


def runner(config: Path, mode: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, str(REPO / "runner.py"), "--config", str(config), "--mode", mode, "run"],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def killed_at_random(config: Path, mode: str, seconds: float) -> tuple[str, int]:
    """Start a cycle, SIGKILL its process group after ``seconds``; the stage it was in, and its exit."""
    process = subprocess.Popen([PYTHON, str(REPO / "runner.py"), "--config", str(config), "--mode", mode, "run"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    time.sleep(seconds)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    out, _ = process.communicate()
    stages = re.findall(r"→ (\w+)", out)
    return (stages[-1] if stages else "start") if process.returncode == -9 else "finished first", process.returncode


def state_problems(config: Path) -> list[str]:
    cfg = load_config(config)
    rows = Ledger(cfg.ledger_path).deployments(1000) if cfg.ledger_path.exists() else []
    return inconsistencies(Registry(cfg.registry_path), cfg.prod_deployment_path, rows)


def trial(template: Path, work: Path, mode: str, kill: str | float) -> dict:
    project = work / "project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(template, project, symlinks=True)
    config = project / "config.json"
    if isinstance(kill, str):
        done = runner(config, mode, {VARIABLE: kill})
        point, code = (kill if done.returncode == -9 else f"{kill} (not reached)"), done.returncode
    else:
        stage, code = killed_at_random(config, mode, kill)
        point = f"random: in {stage}"
    before = state_problems(config)
    recovery = runner(config, mode)
    after = state_problems(config)
    tick = runner(config, mode)
    ok = recovery.returncode == 0 and not after and tick.returncode == 0 and "nothing new" in tick.stdout
    return {"point": point, "killed": code == -9, "before": before, "after": after, "ok": ok,
            "why": "" if ok else (recovery.stdout + recovery.stderr)[-800:] + " | " + "; ".join(after)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=10, help="random-time kills per scenario (default 10)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="only the points around deployment, 2 random")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="riskwatch-chaos-") as tmp:
        tmp = Path(tmp)
        fresh = tmp / "fresh"
        _project(fresh)
        deployed = tmp / "deployed"
        shutil.copytree(fresh, deployed)
        began = time.perf_counter()
        first = runner(deployed / "config.json", "practice")
        if first.returncode != 0:
            raise SystemExit(f"the template's first cycle failed: {first.stdout[-2000:]}{first.stderr[-2000:]}")
        cycle_seconds = time.perf_counter() - began  # random kills fall anywhere in a cycle this long
        for template, mode, stages in ((fresh, "practice", FIRST), (deployed, "production", DRIFT)):
            chosen = ("scoring", "deployment") if args.quick else stages
            points: list[str | float] = [f"{when}:{s}" for s in chosen for when in ("before", "after")]
            points += [rng.uniform(0.5, cycle_seconds) for _ in range(2 if args.quick else args.random)]
            for kill in points:
                result = trial(template, tmp / "trial", mode, kill)
                result["scenario"] = "first cycle" if mode == "practice" else "drift cycle"
                results.append(result)
                mark = "ok" if result["ok"] else "INCONSISTENT"
                print(f"{result['scenario']:<12} {result['point']:<32} left before recovery: "
                      f"{len(result['before'])} problem(s); after: {mark}", flush=True)
                if not result["ok"]:
                    print(f"    {result['why']}", flush=True)
    killed = [r for r in results if r["killed"]]
    tally = Counter(r["point"].split(":")[1].strip().split()[-1] if r["point"].startswith("random")
                    else r["point"].split(":")[1].split()[0] for r in killed)
    print(f"\n{len(killed)} kills ({len(results) - len(killed)} runs finished before their kill point), "
          f"{sum(bool(r['before']) for r in killed)} left registry/production/ledger out of step until the next run, "
          f"{sum(not r['ok'] for r in results)} inconsistent after recovery; in {time.perf_counter() - start:.0f} s")
    print("kills per stage: " + ", ".join(f"{stage} {n}" for stage, n in sorted(tally.items())))


if __name__ == "__main__":
    main()
