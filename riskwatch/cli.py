"""Command line: parse arguments, call riskwatch, turn the outcome into an exit code.

Imports stay light at module level: ``run`` with no new data must answer in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from functools import partial
from pathlib import Path

from riskwatch.config import ConfigError, load_config
from riskwatch.preflight import check_input_paths
from riskwatch.registry import RegistryError

EXIT_CODES_HELP = """exit codes:
  0  cycle completed (deployed, rejected or no retrain needed), or nothing new to do
     (both are success for cron; the log and `status` say which)
  1  a stage failed; its partially executed notebook is kept in the run folder
  2  configuration error (the message names the key), or bad command-line arguments
  3  another riskwatch cycle holds the lock; this run did nothing
  4  apicalls: no server answers at the API's URL (start one with `runner.py serve`)
  5  the machine refused a read or write (disk full, permission denied, read-only file system)
  6  an unexpected error (a bug or a damaged file): one line here, the traceback in the log
  7  the deployed model fails its integrity check (tampered or damaged): nothing ran;
     the message names the verified versions to `rollback` to
output cut short by the reader (`status | head -1`) is not an error: the command ends quietly.
"""

EXIT_SERVER_UNREACHABLE = 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runner.py",
        description="riskwatch: ingest new client data, check drift, retrain and deploy only when it helps.",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", dest="show_version",  # `version` is rollback's
                        help="print riskwatch's version and exit")
    add_global_options(parser, default_config=str(Path(__file__).resolve().parent.parent / "config.json"),
                       default_mode=None)
    # The same options after the command (`run --mode production`); SUPPRESS keeps a value given before it.
    anywhere = argparse.ArgumentParser(add_help=False)
    add_global_options(anywhere, default_config=argparse.SUPPRESS, default_mode=argparse.SUPPRESS)
    command = partial(parser.add_subparsers(dest="command", metavar="COMMAND").add_parser, parents=[anywhere])

    run = command("run", help="run one cycle (the default command)")
    run.add_argument("--force-retrain", action="store_true",
                     help="train a challenger even without drift (the deployment gate still applies)")
    run.add_argument("--dry-run", action="store_true",
                     help="say what a cycle would do (new files, drift check) without changing anything")
    command("status", help="deployed version, its score, clients at risk, the last run and its decisions")
    score = command("score", help="score a CSV of clients with the deployed model and write "
                                   "the risk list (highest risk first)")
    score.add_argument("file", help="CSV with the id column and every feature (other columns are ignored)")
    score.add_argument("-o", "--output", help="write the list to this CSV file (default: standard output)")
    history = command("history", help="list runs and deployments")
    history.add_argument("--limit", type=int, default=20)
    rollback = command("rollback", help="put a previous model version back into production")
    rollback.add_argument("version", nargs="?", type=_version, help="version number, e.g. 2 or v2 "
                          "(default: the previously deployed one); only versions scored on the test data")
    rollback.add_argument("--yes", action="store_true", help="roll back even when that version scores lower")
    serve = command("serve", help="serve predictions and metrics over HTTP (FastAPI on uvicorn)")
    serve.add_argument("--host", help="address to bind (default: the config's api.host, 127.0.0.1; "
                                      "any other address needs api.token or RISKWATCH_API_TOKEN)")
    serve.add_argument("--port", type=int, help="port (default: the config's api.port, 8000)")
    calls = command("apicalls", help="call every API route of a running server and write "
                                      "apireturns.json/.txt into the model output folder")
    calls.add_argument("--url", help="server URL (default: the config's api.url, else http://host:port)")
    cron = command("cron", help="install, show or remove the crontab entry for this config")
    cron.add_argument("action", choices=["install", "show", "remove"])
    cron.add_argument("--every", default="10m", help="schedule: 1-59m, 1-23h or 1d (default 10m)")
    board = command("dashboard", help="serve the Voila dashboard (127.0.0.1 by default) and print its URL")
    board.add_argument("--host", help="address to bind (default: the config's dashboard.host, 127.0.0.1; "
                                      "any other address needs api.token or RISKWATCH_API_TOKEN)")
    board.add_argument("--port", type=int, default=8866)
    return parser


def add_global_options(parser: argparse.ArgumentParser, default_config: str, default_mode: str | None) -> None:
    parser.add_argument("--config", default=default_config, help="config file (default: config.json beside runner.py)")
    parser.add_argument("--mode", default=default_mode, help="which data to use: 'practice' or 'production' "
                                                             "(default: the config's 'mode' key)")


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("riskwatch")
    except PackageNotFoundError:
        return "unknown (the package is not installed: pip install -e .)"


def _version(text: str) -> int:
    try:
        return int(text.lstrip("vV"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = run_command(args)
        sys.stdout.flush()
    except BrokenPipeError:  # `status | head -1`: the reader has all it wanted
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        print("riskwatch: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one sentence, the traceback in the log
        from riskwatch.cli_errors import report_unexpected

        line, code = report_unexpected(args.command or "run", exc, _log_path(args))
        print(line, file=sys.stderr)
    return code


def _log_path(args: argparse.Namespace) -> Path | None:
    try:
        return load_config(args.config, args.mode).log_path
    except Exception:  # the config itself may be what is broken
        return None


def run_command(args: argparse.Namespace) -> int:
    """Load the config, do the command, and turn its outcome into an exit code."""
    if args.show_version:
        print(f"riskwatch {package_version()}")
        return 0
    command = args.command or "run"
    try:
        cfg = load_config(args.config, args.mode)
        if command == "run":
            check_input_paths(cfg)
    except ConfigError as exc:
        print(f"riskwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    from riskwatch import pipeline

    try:
        if command == "run" and getattr(args, "dry_run", False):
            print(pipeline.dry_run(cfg))
            return 0
        if command == "cron":
            return cron_command(cfg, args.action, args.every, args.mode is not None)
        if command == "run":
            result = pipeline.run_cycle(cfg, force_retrain=getattr(args, "force_retrain", False), echo=_echo)
            _echo(result.summary)
            return result.exit_code
        if command == "status":
            print(status_text(cfg))
            return 0
        if command == "score":
            return score_command(cfg, args.file, args.output)
        if command == "history":
            print("\n".join(_readable(lambda: [history_text(cfg, args.limit)],
                                       f"history: the ledger at {cfg.ledger_path}")))
            return 0
        if command == "rollback":
            pipeline.rollback(cfg, args.version, echo=_echo, confirmed=args.yes)
            return 0
        if command == "serve":
            from riskwatch.serve_commands import serve

            return serve(cfg, args.host, args.port)
        if command == "dashboard":
            from riskwatch.serve_commands import dashboard

            return dashboard(cfg, args.port, args.host)
        if command == "apicalls":
            return apicalls_command(cfg, args.url)
    except pipeline.LockHeld as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return pipeline.EXIT_LOCKED
    except BrokenPipeError:
        raise  # not a configuration error: main ends quietly
    except (ValueError, LookupError, OSError, RegistryError) as exc:
        from riskwatch.environment import environment_failure

        if environment_failure(exc):
            raise  # not the user's input: main says so with its own exit code
        print(f"riskwatch: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(command)


def apicalls_command(cfg, url: str | None) -> int:
    from riskwatch.apicalls import ServerUnreachable, call_all_routes

    url = url or cfg.api["url"] or f"http://{cfg.api['host']}:{cfg.api['port']}"
    try:
        written = call_all_routes(cfg, url)
    except ServerUnreachable as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return EXIT_SERVER_UNREACHABLE
    print(f"API returns written to {written[0]} and {written[1]}")
    return 0


def cron_command(cfg, action: str, every: str, mode_given: bool) -> int:
    from riskwatch import cron

    try:
        if action == "install":
            print(f"installed ({cfg.mode}):\n{cron.install(cfg, every, mode_given)}")
        elif action == "show":
            lines = cron.show(cfg)
            print("\n".join(lines) if lines else f"no riskwatch entry for {cfg.source} in the crontab")
        else:
            removed = cron.remove(cfg, cfg.mode if mode_given else None)
            print(f"removed {removed} riskwatch entr{'y' if removed == 1 else 'ies'} for {cfg.source}"
                  + (f" (mode {cfg.mode})" if mode_given else ""))
    except cron.CronError as exc:
        print(f"riskwatch: {exc}", file=sys.stderr)
        return 2
    if action != "remove" and not cron.daemon_running():
        print(cron.NO_DAEMON, file=sys.stderr)
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
        table.to_csv(sys.stdout, index=False)  # a reader that stops early (`| head`) is handled in main
        return 0
    atomic_write_text(output, table.to_csv(index=False))
    print(f"{len(table):,} clients scored by v{int(table['model_version'].iloc[0])} → {output} "
          f"(highest risk first): {counts_text(band_counts(table, cfg.risk['bands']))}")
    return 0


def _echo(line: str) -> None:
    """Print a progress line; a reader gone (`run | head -1`) must not stop a cycle halfway."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        _quiet_stdout()


def _quiet_stdout() -> None:
    """Point stdout at devnull, so the exit-time flush of what is left cannot fail again
    (the recipe in Python's docs, "Note on SIGPIPE")."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def status_text(cfg) -> str:
    from riskwatch.integrity import integrity_advice, production_problem
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
        problem = production_problem(registry)
        lines.append(f"production: v{version} since {pointer.get('since')} ({pointer.get('action')}); {scores}; "
                     + ("artifact hash verified" if problem is None else f"NOT VERIFIED: {integrity_advice(registry, problem)}"))
    lines.append(risk_status_line(cfg))
    return "\n".join(lines + _readable(lambda: estimate_status_lines(cfg) + ledger_status_lines(cfg),
                                        f"last run: the ledger at {cfg.ledger_path}"))


def _readable(read, what: str) -> list[str]:
    """Lines from the ledger, or one line saying why it cannot be read now (disk full, damaged)."""
    import sqlite3

    from riskwatch.environment import describe_environment_failure, environment_failure

    try:
        return read()
    except (sqlite3.DatabaseError, OSError) as exc:
        if environment_failure(exc):
            return [f"{what} cannot be read now ({describe_environment_failure(exc)})"]
        return [f"{what} is damaged ({exc}): the next `runner.py run` moves it aside and rebuilds it "
                "from the run folders and the registry"]


def ledger_status_lines(cfg) -> list[str]:
    from riskwatch.ledger import Ledger
    from riskwatch.reporting import describe_quarantine

    if not cfg.ledger_path.exists():
        return ["last run: none yet"]
    ledger = Ledger(cfg.ledger_path)
    last = ledger.last_run()
    if last is None:
        return ["last run: none yet"]
    outcome = last["outcome"] or "unfinished (killed or still running)"
    lines = [f"last run: {last['run_id']} started {last['started_at']}: {outcome}"]
    for decision in ledger.decisions(last["run_id"]):
        lines.append(f"  {decision['name']}: {decision['reason']}")
    lines.append(describe_quarantine(ledger.quarantine([last["run_id"]])))
    return lines


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
    runs = ledger.runs(limit)
    quarantine = quarantine_by_run(ledger, [run["run_id"] for run in runs])
    for run in runs:
        files = [marked_file(name, quarantine.get(run["run_id"], {}).get(name))
                 for name in json.loads(run["new_files"] or "[]")]
        prod = f"v{run['production_version']}" if run["production_version"] is not None else "-"
        lines.append(f"  {run['run_id']}  {run['mode'] or '':<10} {run['outcome'] or 'unfinished':<11} "
                     f"production {prod:<5} new files: {', '.join(files) or '-'}")
    lines.append("deployments (newest first):")
    for dep in ledger.deployments(limit):
        f1 = f"F1 {dep['f1']:.4f}" if dep["f1"] is not None else ""
        lines.append(f"  {dep['at']}  {dep['action']:<8} v{dep['version']}  {f1}  {dep['reason']}")
    return "\n".join(lines)


def quarantine_by_run(ledger, run_ids: list[str]) -> dict[str, dict[str, dict]]:
    """run id → file name → what the run put in the quarantine folder for that file."""
    found: dict[str, dict[str, dict]] = {}
    for row in ledger.quarantine(run_ids):
        found.setdefault(row["run_id"], {})[row["name"]] = row
    return found


def marked_file(name: str, quarantined: dict | None) -> str:
    """A new file's name in `history`, marked when it was refused or lost bad rows to the quarantine."""
    if quarantined is None:
        return name
    if quarantined["scope"] == "file":
        return f"{name} [quarantined: file refused]"
    return f"{name} [{quarantined['n_rows']} bad row(s) quarantined]"
