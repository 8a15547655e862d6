"""Failures that are the machine's, not the user's: disk full, permission denied, read-only file
system — as an exception (``OSError``, or SQLite saying the same in its words) or as the text of a
kernel's error. They get their own exit code: the fix is to free space or fix permissions."""

from __future__ import annotations

import errno
import re
import sqlite3

EXIT_ENVIRONMENT = 5

ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, errno.EDQUOT}
_PLAIN = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exhausted",
          errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
          errno.EROFS: "the file system is read-only"}
_SQLITE = {"database or disk is full": "the disk is full", "attempt to write a readonly database":
           "the file system is read-only", "disk i/o error": "the disk refused a write (full or failing)",
           "unable to open database file": "the ledger cannot be opened (permission or space)"}


def _chain(exc: BaseException | None):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _describe_one(exc: BaseException) -> str | None:
    if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
        return _PLAIN[exc.errno] + (f" at {exc.filename}" if exc.filename else "")
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return next((plain for words, plain in _SQLITE.items() if words in text), None)
    return None


def environment_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is the machine refusing a read or write."""
    return any(_describe_one(e) for e in _chain(exc))


def describe_environment_failure(exc: BaseException) -> str:
    """``the disk is full at /x/y`` from an exception chain."""
    return next((d for e in _chain(exc) if (d := _describe_one(e))), "the machine refused a read or write")


def describe_environment_reason(reason: str) -> str | None:
    """The same from the text of an error a kernel reported (``OSError: [Errno 28] ...: '/x'``)."""
    match = re.search(r"\[Errno (\d+)\][^'\"]*(?:['\"]([^'\"]+)['\"])?", reason)
    if match and int(match.group(1)) in ENVIRONMENT_ERRNOS:
        return _PLAIN[int(match.group(1))] + (f" at {match.group(2)}" if match.group(2) else "")
    text = reason.lower()
    return next((plain for words, plain in _SQLITE.items() if words in text), None)
