"""The one clock: UTC timestamps as every record, log line and run id writes them."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def now_iso() -> str:
    """ISO 8601, UTC, to the second: ``2026-11-25T12:53:36+00:00``."""
    return now().isoformat(timespec="seconds")


def stamp() -> str:
    """Compact and sortable, for run ids: ``20261125T125336Z``."""
    return now().strftime("%Y%m%dT%H%M%SZ")
