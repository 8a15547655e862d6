"""The last line of defence of every command: an error nobody planned for becomes one sentence.

Environment failures (disk full, permission denied, read-only file system) have their own exit
code, since the fix is the machine's, not the config's. Anything else unexpected (a bug, a damaged
file) is said in one line naming the command, and its traceback goes to the project's log — or, when
that cannot be written, to a file in the temporary folder — so no command ends in a traceback and
no detail is lost.
"""

from __future__ import annotations

import errno
import tempfile
import traceback
from pathlib import Path

EXIT_ENVIRONMENT = 5     # disk full, permission denied, read-only file system
EXIT_UNEXPECTED = 6      # a bug or a damaged file: the traceback is in the log

ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, errno.EDQUOT}
_PLAIN = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exhausted",
          errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
          errno.EROFS: "the file system is read-only"}


def environment_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is the machine refusing a read or write."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def describe_environment_failure(exc: BaseException) -> str:
    """``the disk is full writing /x/y`` from an OSError chain."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
            where = f" at {exc.filename}" if exc.filename else ""
            return f"{_PLAIN[exc.errno]}{where}"
        exc = exc.__cause__ or exc.__context__
    return "the machine refused a read or write"


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
