"""What ingestion accepts, as settings: how bad rows are handled (``ingestion.bad_rows``) and what a
target given as text means (``schema.positive_label``) — their defaults and rules.

Standard library only, like the drift policy: :mod:`riskwatch.config` validates with these rules
before any data is read (a :class:`RuleError` becomes a ``ConfigError`` naming the key), and
:mod:`riskwatch.tables` applies :func:`label_meanings` to the values it reads.
"""

from __future__ import annotations

from typing import Any, Iterable

BAD_ROWS = {
    "quarantine": "set bad rows aside in the quarantine folder and ingest the file's good rows",
    "refuse_file": "refuse the whole file when any of its rows is bad",
}
DEFAULT_INGESTION: dict[str, Any] = {"bad_rows": "quarantine"}

# Target words understood without configuration (compared trimmed and in lower case).
TRUE_WORDS = frozenset({"1", "yes", "y", "true"})
FALSE_WORDS = frozenset({"0", "no", "n", "false"})


class RuleError(ValueError):
    """A setting breaks its rule; ``key`` names it (``ingestion.bad_rows``), ``why`` says how."""

    def __init__(self, key: str, why: str):
        self.key, self.why = key, why
        super().__init__(f"{key}: {why}")


def ingestion_settings(raw: Any) -> dict[str, Any]:
    """The ``ingestion`` section merged with its defaults; :class:`RuleError` for a wrong value."""
    if raw is None:
        return dict(DEFAULT_INGESTION)
    if not isinstance(raw, dict):
        raise RuleError("ingestion", "must be an object")
    for key in raw:
        if key not in DEFAULT_INGESTION:
            raise RuleError(f"ingestion.{key}", f"is not a known setting (known: {', '.join(DEFAULT_INGESTION)})")
    settings = {**DEFAULT_INGESTION, **raw}
    if settings["bad_rows"] not in BAD_ROWS:
        raise RuleError("ingestion.bad_rows", f"must be one of {', '.join(map(repr, BAD_ROWS))}, "
                                              f"got {settings['bad_rows']!r}")
    return settings


def positive_label(raw: Any) -> str | None:
    """``schema.positive_label`` checked: None (not set) or the non-empty text that means 1."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise RuleError("schema.positive_label", f"must be the target value that means 1 (exited), as text "
                                                 f"such as \"Yes\" or \"churned\", or null; got {raw!r}")
    return raw.strip()


def label_meanings(texts: Iterable[str], positive: str | None = None) -> dict[str, int]:
    """0 or 1 for each distinct target text of one file that has a meaning (keys trimmed, lower case).

    Without ``positive``: yes/no, true/false, y/n and 1/0. With it: that value means 1 and the
    file's one other value means 0 — a file with several other values is ambiguous, and none of
    them gets a meaning. Texts missing from the answer have no meaning.
    """
    keys = {str(t).strip().lower() for t in texts}
    if positive is None:
        return {k: 1 if k in TRUE_WORDS else 0 for k in keys if k in TRUE_WORDS | FALSE_WORDS}
    positive = positive.strip().lower()
    others = keys - {positive}
    meanings = {positive: 1} if positive in keys else {}
    if len(others) == 1:
        meanings[others.pop()] = 0
    return meanings
