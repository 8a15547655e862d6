"""``runner.py cron install|show|remove``: the crontab entry that runs riskwatch unattended.

The entry uses absolute paths and the project's own interpreter, sets the environment kernels
need under cron's bare one (writable IPYTHONDIR and MPLCONFIGDIR, a PATH that finds the venv and
Chromium) and appends its output to ``outputs/logs/cron.log``. It is marked with the config's
path, so installing again replaces it and other crontab lines are left alone.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from riskwatch.config import Config

MARK = "# riskwatch:"


class CronError(RuntimeError):
    """crontab is missing or refused the change."""


def schedule_for(every: str) -> str:
    """``10m`` → ``*/10 * * * *``, ``2h`` → ``0 */2 * * *``, ``1d`` → ``0 0 * * *``."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", every or "")
    if not match:
        raise ValueError(f"--every must look like 10m, 2h or 1d, got {every!r}")
    n, unit = int(match.group(1)), match.group(2)
    if unit == "m" and 1 <= n <= 59:
        return "* * * * *" if n == 1 else f"*/{n} * * * *"
    if unit == "h" and 1 <= n <= 23:
        return "0 * * * *" if n == 1 else f"0 */{n} * * *"
    if unit == "d" and n == 1:
        return "0 0 * * *"
    raise ValueError(f"--every {every}: use 1-59m, 1-23h or 1d")


def cron_line(cfg: Config, every: str = "10m", python: str | None = None) -> str:
    """The crontab line for this config (its mode included)."""
    python = python or sys.executable
    runner = Path(__file__).resolve().parent.parent / "runner.py"
    cache = cfg.outputs_path / ".cache"
    logs = cfg.outputs_path / "logs"
    path = ":".join(dict.fromkeys([str(Path(python).parent), "/usr/local/bin", "/usr/bin", "/bin"]))
    command = (f"mkdir -p {shlex.quote(str(logs))} && cd {shlex.quote(str(cfg.root))} && "
               f"IPYTHONDIR={shlex.quote(str(cache / 'ipython'))} "
               f"MPLCONFIGDIR={shlex.quote(str(cache / 'matplotlib'))} PATH={shlex.quote(path)} "
               f"{shlex.quote(python)} {shlex.quote(str(runner))} --config {shlex.quote(str(cfg.source))} "
               f"--mode {shlex.quote(cfg.mode)} run >> {shlex.quote(str(logs / 'cron.log'))} 2>&1")
    # cron turns an unescaped % into a newline
    return f"{schedule_for(every)} {command.replace('%', chr(92) + '%')} {MARK}{cfg.source}"


def _crontab() -> str:
    found = shutil.which("crontab")
    if not found:
        raise CronError("crontab not found: install cron (Debian/Ubuntu: apt-get install cron)")
    return found


def read_crontab() -> list[str]:
    done = subprocess.run([_crontab(), "-l"], capture_output=True, text=True)
    if done.returncode != 0:
        if "no crontab" in done.stderr.lower():
            return []
        raise CronError(f"crontab -l failed: {done.stderr.strip()}")
    return done.stdout.splitlines()


def write_crontab(lines: list[str]) -> None:
    text = "\n".join(lines) + ("\n" if lines else "")
    done = subprocess.run([_crontab(), "-"], input=text, capture_output=True, text=True)
    if done.returncode != 0:
        raise CronError(f"crontab refused the entry: {done.stderr.strip()}")


def _ours(line: str, cfg: Config) -> bool:
    return line.rstrip().endswith(f"{MARK}{cfg.source}")


def entry_mode(line: str) -> str | None:
    """The mode an entry runs (its ``--mode`` argument)."""
    match = re.search(r"--mode (\S+) run", line)
    return match.group(1).strip("'\"") if match else None


def install(cfg: Config, every: str = "10m", mode_given: bool = True) -> str:
    """Install (or replace) this config's entry for ``cfg.mode``. Entries of the config's other modes
    stay; without an explicit ``--mode`` (``mode_given`` false) an entry of another mode is not
    silently joined or replaced: the caller must say which mode it means."""
    line = cron_line(cfg, every)
    current = read_crontab()
    others = sorted({entry_mode(existing) or "?" for existing in current
                     if _ours(existing, cfg) and entry_mode(existing) != cfg.mode})
    if others and not mode_given:
        raise CronError(f"the crontab already runs {cfg.source} in mode {', '.join(others)}; "
                        f"say which mode you mean: --mode {others[0]} replaces that entry, "
                        f"--mode {cfg.mode} adds a {cfg.mode} entry beside it")
    kept = [existing for existing in current if not (_ours(existing, cfg) and entry_mode(existing) == cfg.mode)]
    write_crontab(kept + [line])
    return line


def show(cfg: Config) -> list[str]:
    return [line for line in read_crontab() if _ours(line, cfg)]


def remove(cfg: Config, mode: str | None = None) -> int:
    """Remove this config's entries: those of ``mode``, or all of them when ``mode`` is None."""
    lines = read_crontab()
    kept = [line for line in lines if not (_ours(line, cfg) and (mode is None or entry_mode(line) == mode))]
    if len(kept) != len(lines):
        write_crontab(kept)
    return len(lines) - len(kept)


def daemon_running(proc: Path = Path("/proc")) -> bool:
    """Whether a cron daemon (cron, crond, cronie, busybox crond) is running, read from /proc."""
    names = {"cron", "crond", "cronie"}
    for entry in proc.glob("[0-9]*/comm"):
        try:
            if entry.read_text().strip() in names:
                return True
        except OSError:  # the process ended while we looked
            continue
    return False


NO_DAEMON = ("warning: no cron daemon is running, so the entry will not run until one starts "
             "(Debian: `service cron start`, or `cron` as root)")
