"""Command line: parse arguments, call riskwatch, turn the outcome into an exit code.

Imports stay light at module level: ``run`` with no new data must answer in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from riskwatch.config import ConfigError, load_config

EXIT_CODES_HELP = """exit codes:
  0  cycle completed (deployed, rejected or no retrain needed), or nothing new to do
     (both are success for cron; the log and `status` say which)
  1  a stage failed; its partially executed notebook is kept in the run folder
  2  configuration error (the message names the key), or bad command-line arguments
  3  another riskwatch cycle holds the lock; this run did nothing
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runner.py",
        description="riskwatch: ingest new client data, check drift, retrain and deploy only when it helps.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(Path(__file__).resolve().parent.parent / "config.json"),
                        help="config file (default: config.json beside runner.py)")
    parser.add_argument("--mode", help="which data to use: 'practice' or 'production' "
                                       "(default: the config's 'mode' key)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="run one cycle (the default command)")
    run.add_argument("--force-retrain", action="store_true",
                     help="train a challenger even without drift (the deployment gate still applies)")
    run.add_argument("--dry-run", action="store_true",
                     help="say what a cycle would do (new files, drift check) without changing anything")
    commands.add_parser("status", help="deployed version, its score, clients at risk, the last run and its decisions")
    score = commands.add_parser("score", help="score a CSV of clients with the deployed model and write "
                                              "the risk list (highest risk first)")
    score.add_argument("file", help="CSV with the id column and every feature (other columns are ignored)")
    score.add_argument("-o", "--output", help="write the list to this CSV file (default: standard output)")
    history = commands.add_parser("history", help="list runs and deployments")
    history.add_argument("--limit", type=int, default=20)
    rollback = commands.add_parser("rollback", help="put a previous model version back into production")
    rollback.add_argument("version", nargs="?", type=_version, help="version number, e.g. 2 or v2 "
                          "(default: the previously deployed one)")
    serve = commands.add_parser("serve", help="serve predictions and metrics over HTTP (FastAPI on uvicorn)")
    serve.add_argument("--host", help="address to bind (default: the config's api.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: the config's api.port, 8000)")
    calls = commands.add_parser("apicalls", help="call every API route of a running server and write "
                                                 "apireturns.json/.txt into the model output folder")
    calls.add_argument("--url", help="server URL (default: the config's api.url, else http://host:port)")
    cron = commands.add_parser("cron", help="install, show or remove the crontab entry for this config")
    cron.add_argument("action", choices=["install", "show", "remove"])
    cron.add_argument("--every", default="10m", help="schedule: 1-59m, 1-23h or 1d (default 10m)")
    board = commands.add_parser("dashboard", help="serve the Voila dashboard on 127.0.0.1 and print its URL")
    board.add_argument("--port", type=int, default=8866)
    return parser


def _version(text: str) -> int:
    try:
        return int(text.lstrip("vV"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    try:
        cfg = load_config(args.config, args.mode)
    except ConfigError as exc:
        print(f"riskwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    from riskwatch import pipeline

    try:
        if command == "run" and getattr(args, "dry_run", False):
            print(pipeline.dry_run(cfg))
            return 0
        if command == "cron":
            return cron_command(cfg, args.action, args.every)
        if command == "run":
            result = pipeline.run_cycle(cfg, force_retrain=getattr(args, "force_retrain", False), echo=_echo)
            print(result.summary, flush=True)
            return result.exit_code
        if command == "status":
            print(status_text(cfg))
            return 0
        if command == "score":
            return score_command(cfg, args.file, args.output)
        if command == "history":
            print(history_text(cfg, args.limit))
            return 0
        if command == "rollback":
            pipeline.rollback(cfg, args.version, echo=_echo)
            return 0
        if command == "serve":
            return serve(cfg, args.host, args.port)
        if command == "dashboard":
            return dashboard(cfg, args.port)
        if command == "apicalls":
            from riskwatch.apicalls import call_all_routes

            url = args.url or cfg.api["url"] or f"http://{cfg.api['host']}:{cfg.api['port']}"
            written = call_all_routes(cfg, url)
            print(f"API returns written to {written[0]} and {written[1]}")
            return 0
    except pipeline.LockHeld as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return pipeline.EXIT_LOCKED
    except (ValueError, LookupError, OSError) as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(command)


def cron_command(cfg, action: str, every: str) -> int:
    from riskwatch import cron

    try:
        if action == "install":
            print(f"installed:\n{cron.install(cfg, every)}")
        elif action == "show":
            lines = cron.show(cfg)
            print("\n".join(lines) if lines else f"no riskwatch entry for {cfg.source} in the crontab")
        else:
            removed = cron.remove(cfg)
            print(f"removed {removed} riskwatch entr{'y' if removed == 1 else 'ies'} for {cfg.source}")
    except cron.CronError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return 2
    return 0


def score_command(cfg, file: str, output: str | None) -> int:
    """The risk list of ``file`` to ``output`` (atomically) or to standard output; exit 2 if it cannot be made."""
    from riskwatch.newdata import atomic_write_text
    from riskwatch.risk import band_counts
    from riskwatch.riskfile import ScoreError, counts_text, score_csv

    try:
        table = score_csv(cfg, file)
    except ScoreError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return 2
    if output is None:
        try:
            table.to_csv(sys.stdout, index=False)
            sys.stdout.flush()
        except BrokenPipeError:  # `score FILE | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    atomic_write_text(output, table.to_csv(index=False))
    print(f"{len(table):,} clients scored by v{int(table['model_version'].iloc[0])} → {output} "
          f"(highest risk first): {counts_text(band_counts(table, cfg.risk['bands']))}")
    return 0


def serve(cfg, host: str | None, port: int | None) -> int:
    import uvicorn

    from riskwatch.api import create_app

    host, port = host or cfg.api["host"], port or cfg.api["port"]
    print(f"riskwatch API on http://{host}:{port} (docs: http://{host}:{port}/docs)", flush=True)
    uvicorn.run(create_app(cfg), host=host, port=port, log_level="warning")
    return 0


def dashboard(cfg, port: int) -> int:
    """Run Voila on the dashboard notebook for this config (loopback only)."""
    import os
    import subprocess

    from riskwatch.executor import kernel_environment

    notebook = cfg.notebooks_path / "dashboard.ipynb"
    kernel_environment(cfg)
    env = {**os.environ, "RISKWATCH_CONFIG": str(cfg.source)}
    print(f"riskwatch dashboard on http://127.0.0.1:{port}/ (Ctrl-C to stop)", flush=True)
    command = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1", "--show_tracebacks=False"]
    try:
        return subprocess.call(command, env=env, cwd=str(cfg.notebooks_path))
    except KeyboardInterrupt:
        return 0


def _echo(line: str) -> None:
    print(line, flush=True)


def status_text(cfg) -> str:
    from riskwatch.ledger import Ledger
    from riskwatch.registry import Registry

    registry = Registry(cfg.registry_path)
    lines = [f"config: {cfg.source} (mode {cfg.mode})"]
    version = registry.production_version()
    if version is None:
        lines.append("production: no model deployed yet — run `python runner.py run`")
    else:
        pointer = registry.production() or {}
        metrics = registry.metrics(version) or {}
        scores = ", ".join(f"{k} {metrics[k]:.4f}" for k in ("f1", "precision", "recall", "roc_auc")
                           if metrics.get(k) is not None)
        lines.append(f"production: v{version} since {pointer.get('since')} ({pointer.get('action')}); {scores}")
    lines.append(risk_status_line(cfg))
    lines += estimate_status_lines(cfg)
    if not cfg.ledger_path.exists():
        lines.append("last run: none yet")
        return "\n".join(lines)
    ledger = Ledger(cfg.ledger_path)
    last = ledger.last_run()
    if last is None:
        lines.append("last run: none yet")
        return "\n".join(lines)
    outcome = last["outcome"] or "unfinished (killed or still running)"
    lines.append(f"last run: {last['run_id']} started {last['started_at']}: {outcome}")
    for decision in ledger.decisions(last["run_id"]):
        lines.append(f"  {decision['name']}: {decision['reason']}")
    return "\n".join(lines)


def estimate_status_lines(cfg) -> list[str]:
    """The latest F1 estimated without labels, beside the last realised one."""
    from riskwatch.ledger import Ledger

    from riskwatch.reporting import describe_latest_estimate

    latest = Ledger(cfg.ledger_path).latest_estimate() if cfg.ledger_path.exists() else None
    return [] if latest is None else [describe_latest_estimate(latest)]


def risk_status_line(cfg) -> str:
    """The latest risk list in one line: counts per band and the three clients most at risk."""
    from riskwatch.riskfile import NO_RISK_LIST, RiskListError, latest_risk_path, read_risk_list

    try:
        risk = read_risk_list(latest_risk_path(cfg), cfg.schema, cfg.risk["bands"])
    except RiskListError as exc:
        return f"at risk: {exc}"
    if risk is None:
        return f"at risk: {NO_RISK_LIST}"
    return (f"at risk (latest list, v{risk.model_version}, {risk.total:,} clients): {risk.counts_text()}; "
            f"top: {risk.top_text(3)}")


def history_text(cfg, limit: int = 20) -> str:
    from riskwatch.ledger import Ledger

    if not cfg.ledger_path.exists():
        return "no runs yet"
    ledger = Ledger(cfg.ledger_path)
    lines = ["runs (newest first):"]
    for run in ledger.runs(limit):
        files = json.loads(run["new_files"] or "[]")
        prod = f"v{run['production_version']}" if run["production_version"] is not None else "-"
        lines.append(f"  {run['run_id']}  {run['mode'] or '':<10} {run['outcome'] or 'unfinished':<11} "
                     f"production {prod:<5} new files: {', '.join(files) or '-'}")
    lines.append("deployments (newest first):")
    for dep in ledger.deployments(limit):
        f1 = f"F1 {dep['f1']:.4f}" if dep["f1"] is not None else ""
        lines.append(f"  {dep['at']}  {dep['action']:<8} v{dep['version']}  {f1}  {dep['reason']}")
    return "\n".join(lines)
