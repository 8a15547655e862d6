"""Bounds on what the API parses from a request, so a hostile body costs little and is refused.

Python's :mod:`json` recurses once per nesting level and turns any digit string into an ``int``
(refused past 4,300 digits) or a ``float`` (``inf`` past 1.8e308); a huge header line makes a
CSV parser build one column per field. :func:`load_bounded_json` checks the nesting depth with a
scan in C-speed passes before it parses, and keeps over-long number literals as
:class:`OversizedNumber` markers that the record checks report by column. Nothing here knows
about HTTP; the callers raise ``RecordError`` with the messages built here.
"""

from __future__ import annotations

import csv
import json
import re
from typing import Any

import numpy as np

MAX_JSON_DEPTH = 32             # {"records": [{...}]} needs 3
MAX_NUMBER_CHARS = 40           # digits, sign, point and exponent of one JSON number literal
MAX_DATA_PATH_CHARS = 1024      # the baseline form's {"data_path": ...}
MAX_JSON_BYTES = 10_000_000     # JSON bodies (records are parsed into Python objects); CSV has api.max_upload_bytes
MAX_CSV_COLUMNS = 1000          # fields in a CSV header line
MAX_CSV_HEADER_BYTES = 1 << 20  # the header line must end within this many bytes

_OPENING, _CLOSING = (ord("["), ord("{")), (ord("]"), ord("}"))
_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')  # every byte but these is deleted by the scan
_LONG_NUMBER = re.compile(rb"[-+.eE0-9]{%d}" % (MAX_NUMBER_CHARS + 1))  # may also match inside a string


class OversizedNumber:
    """A number literal longer than :data:`MAX_NUMBER_CHARS`, kept unconverted so that the record
    checks can name the column it was sent for."""

    __slots__ = ("length",)

    def __init__(self, literal: str):
        self.length = len(literal)

    def __repr__(self) -> str:
        return f"a number literal of {self.length} characters"


def number_too_long(column: str, value: OversizedNumber) -> str:
    return (f"column '{column}' holds {value!r}; numbers may have at most {MAX_NUMBER_CHARS} "
            "(send long ids as strings)")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body``, brackets inside strings not counted.

    Escaped backslashes and quotes go first, then everything but brackets and quotes; what is left
    between two quotes was a string. A body that is not JSON may be over-counted, never under-counted
    where :func:`json.loads` would still be parsing."""
    structure = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _STRUCTURE)
    if b'"' in structure:
        parts = structure.split(b'"')
        structure = b"".join(parts[0::2])  # even parts are outside strings; json reads the rest as text
    if not structure:
        return 0
    codes = np.frombuffer(structure, dtype=np.uint8)
    steps = np.isin(codes, _OPENING).astype(np.int32) - np.isin(codes, _CLOSING).astype(np.int32)
    return int(np.cumsum(steps).max())


def _bounded_int(literal: str) -> int | OversizedNumber:
    return OversizedNumber(literal) if len(literal) > MAX_NUMBER_CHARS else int(literal)


def _bounded_float(literal: str) -> float | OversizedNumber:
    return OversizedNumber(literal) if len(literal) > MAX_NUMBER_CHARS else float(literal)


class JsonLimitError(ValueError):
    """The body is deeper than :data:`MAX_JSON_DEPTH` allows."""


def load_bounded_json(body: bytes) -> Any:
    """``json.loads(body)`` within :data:`MAX_JSON_DEPTH`; over-long numbers become
    :class:`OversizedNumber`. Raises :class:`JsonLimitError`, or what ``json.loads`` raises."""
    # Fewer brackets than the limit cannot nest beyond it: a one-record body skips the scan.
    depth = 0 if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH else json_depth(body)
    if depth > MAX_JSON_DEPTH:
        raise JsonLimitError(f"the JSON is nested {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted")
    try:
        if _LONG_NUMBER.search(body) is None:  # the common case: the hooks would triple the parse time
            return json.loads(body)
        return json.loads(body, parse_int=_bounded_int, parse_float=_bounded_float)
    except RecursionError:  # the scan above should make this unreachable; a 500 would be worse
        raise JsonLimitError(f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep") from None


def header_problem(head: bytes) -> str | None:
    """Why the CSV starting with ``head`` (its first bytes) is refused before parsing, or None:
    a header line longer than :data:`MAX_CSV_HEADER_BYTES` or with over :data:`MAX_CSV_COLUMNS` fields."""
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) >= MAX_CSV_HEADER_BYTES:
        return f"the CSV header line is longer than {MAX_CSV_HEADER_BYTES:,} bytes"
    if line.count(b",") < MAX_CSV_COLUMNS:
        return None
    try:
        fields = len(next(csv.reader([line.decode("utf-8", "replace")]), []))
    except csv.Error as exc:
        return f"the CSV header line cannot be read: {exc}"
    if fields > MAX_CSV_COLUMNS:
        return f"the CSV header has {fields:,} columns; at most {MAX_CSV_COLUMNS:,} are accepted"
    return None
