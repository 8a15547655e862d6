"""The last line of defence of every command: an error nobody planned for becomes one sentence.

Environment failures (disk full, permission denied, read-only file system) have their own exit
code, since the fix is the machine's, not the config's. Anything else unexpected (a bug, a damaged
file) is said in one line naming the command, and its traceback goes to the project's log — or, when
that cannot be written, to a file in the temporary folder — so no command ends in a traceback and
no detail is lost.
"""

from __future__ import annotations

import tempfile
import traceback
from pathlib import Path

from riskwatch.environment import EXIT_ENVIRONMENT, describe_environment_failure, environment_failure

EXIT_UNEXPECTED = 6      # a bug or a damaged file: the traceback is in the log


def report_unexpected(command: str, exc: BaseException, log_path: Path | None) -> tuple[str, int]:
    """The one line to print and the exit code for an unplanned error in ``command``; writes the
    traceback to ``log_path`` (or a temporary file when that fails)."""
    if environment_failure(exc):
        return (f"riskwatch {command}: {describe_environment_failure(exc)}; nothing more was done — free "
                f"space or fix the permissions, then run it again", EXIT_ENVIRONMENT)
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    where = _write_traceback(text, log_path)
    return (f"riskwatch {command}: unexpected {type(exc).__name__}: {exc} (traceback in {where}; "
            f"please report it)", EXIT_UNEXPECTED)


def _write_traceback(text: str, log_path: Path | None) -> str:
    for target in ([log_path] if log_path is not None else []):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(text)
            return str(target)
        except OSError:
            pass
    try:
        with tempfile.NamedTemporaryFile("w", prefix="riskwatch-error-", suffix=".txt", delete=False) as handle:
            handle.write(text)
            return handle.name
    except OSError:
        return "nowhere: the disk refused it too"
