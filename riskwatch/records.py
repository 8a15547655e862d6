"""Client records to score → the typed frame the model takes, or a :class:`RecordError` saying why not.

Shared by the API and the dashboard: from a pandas frame (:func:`validate_frame`), from JSON
records (:func:`frame_from_records`, the fast single-client path), from CSV bytes or a CSV file
(:func:`read_csv_bytes`, :func:`read_csv_file`: UTF-8 text with a bounded header) and from a JSON
request body (:func:`frame_from_json`, within the bounds of :mod:`riskwatch.request_limits`, which
also takes the baseline's ``{"data_path": ...}``, read only from inside the folders the caller allows).
Nothing here knows about HTTP: the API maps :attr:`RecordError.kind` to a status code.
"""

from __future__ import annotations

import codecs
import enum
import io
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from riskwatch.config import Schema
from riskwatch.request_limits import (MAX_CSV_HEADER_BYTES, MAX_DATA_PATH_CHARS, JsonLimitError, OversizedNumber,
                                      header_problem, load_bounded_json, number_too_long)
from riskwatch.tables import as_categorical
from riskwatch.tables import coerce_numeric


class RecordErrorKind(enum.Enum):
    MALFORMED = "malformed"            # the body is not JSON at all
    INVALID = "invalid"                # readable, but not records the model can score
    OUTSIDE_DATA = "outside_data"      # a data_path outside the allowed folders
    NO_SUCH_FILE = "no_such_file"      # a data_path inside them that names no file


class RecordError(ValueError):
    """Records that cannot be scored; the message says what to fix, ``kind`` which sort of problem."""

    def __init__(self, message: str, kind: RecordErrorKind = RecordErrorKind.INVALID):
        super().__init__(message)
        self.kind = kind


FLOAT_MAX = sys.float_info.max


def _missing_columns(missing: list[str], needed: Sequence[str]) -> RecordError:
    return RecordError(f"missing column(s): {', '.join(missing)}; expected {', '.join(needed)}")


def _not_finite(column: str, n_bad: int, example: Any) -> RecordError:
    return RecordError(f"column '{column}' must hold finite numbers; {n_bad} value(s) do not (e.g. {example!r})")


def validate_frame(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The columns the model needs (names stripped of blanks), typed; ``frame`` is left as it is."""
    if frame.empty:
        raise RecordError("no client records in the request")
    names = {str(c).strip(): c for c in frame.columns}
    needed = (schema.id_column, *schema.features)
    missing = [c for c in needed if c not in names]
    if missing:
        raise _missing_columns(missing, needed)
    try:
        out = pd.DataFrame({schema.id_column: frame[names[schema.id_column]].astype("string").fillna("")})
    except UnicodeError:  # a lone surrogate, as JSON's "\\ud800" gives, has no UTF-8 form
        raise _not_unicode(schema.id_column) from None
    for column in schema.numeric_features:
        values = frame[names[column]]
        converted, bad = coerce_numeric(values)
        bad |= converted.isna()  # unlike ingested data, a client to score needs every value
        if bad.any():
            example = values[bad].iloc[0]
            raise _not_finite(column, int(bad.sum()), example.item() if isinstance(example, np.generic) else example)
        out[column] = converted.astype("float64")
    for column in schema.categorical_features:
        try:
            out[column] = as_categorical(frame[names[column]])
        except UnicodeError:
            raise _not_unicode(column) from None
    return out


def _not_unicode(column: str) -> RecordError:
    return RecordError(f"column '{column}' holds text that is not valid Unicode (e.g. a lone surrogate such as \\ud800)")


def _check_text_values(records: list[dict[str, Any]], column: str, nullable: bool) -> None:
    """Ids and categories are text or numbers (a JSON object or list is not; null only where allowed)."""
    for record in records:
        value = record[column]
        if isinstance(value, (str, int, float)) or (value is None and nullable):
            continue
        if isinstance(value, OversizedNumber):
            raise RecordError(number_too_long(column, value))
        raise RecordError(f"column '{column}' must hold text or numbers; got {type(value).__name__} "
                          f"{_shorten(repr(value))}")


def _shorten(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[:most] + "…"


def frame_from_records(records: list[dict[str, Any]], schema: Schema) -> pd.DataFrame:
    """JSON records → typed frame without pandas' per-column inference (the single-client path)."""
    needed = (schema.id_column, *schema.features)
    missing = [c for c in needed if any(c not in r for r in records)]
    if missing:
        raise _missing_columns(missing, needed)
    _check_text_values(records, schema.id_column, nullable=False)
    columns: dict[str, Any] = {schema.id_column: [str(r[schema.id_column]) for r in records]}
    for column in schema.numeric_features:
        values = [r[column] for r in records]
        # A range check, not math.isfinite: that raises OverflowError for an int past 1.8e308.
        # NaN fails it too (every comparison with NaN is false).
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))
               or not -FLOAT_MAX <= v <= FLOAT_MAX]
        if bad:
            oversized = next((v for v in bad if isinstance(v, OversizedNumber)), None)
            if oversized is not None:
                raise RecordError(number_too_long(column, oversized))
            raise _not_finite(column, len(bad), bad[0])
        columns[column] = np.asarray(values, dtype="float64")
    for column in schema.categorical_features:
        _check_text_values(records, column, nullable=True)
        columns[column] = [None if r[column] is None else str(r[column]) for r in records]
    try:
        frame = pd.DataFrame(columns)
        for column in schema.categorical_features:
            frame[column] = as_categorical(frame[column])
    except UnicodeError:
        raise _not_unicode(_first_unencodable(columns)) from None
    return frame


def _first_unencodable(columns: dict[str, Any]) -> str:
    for column, values in columns.items():
        if not isinstance(values, np.ndarray):
            try:
                "".join(v for v in values if v is not None).encode("utf-8")
            except UnicodeError:
                return column
    return "?"


def read_csv_bytes(body: bytes) -> pd.DataFrame:
    """An uploaded CSV as read (not yet validated: see :func:`validate_frame`)."""
    view = memoryview(body)
    _check_csv_text(view[i:i + CHECK_BLOCK] for i in range(0, len(view), CHECK_BLOCK))
    return _parse_csv(lambda: io.BytesIO(body))


def read_csv_file(handle: BinaryIO) -> pd.DataFrame:
    """A CSV upload the API spooled to a (temporary) binary file, as read (not yet validated):
    parsed from the file, so that no copy of the upload is held in memory beside the table."""
    handle.seek(0)
    _check_csv_text(iter(lambda: handle.read(CHECK_BLOCK), b""))

    def rewound() -> BinaryIO:
        handle.seek(0)
        return handle
    return _parse_csv(rewound)


CHECK_BLOCK = max(MAX_CSV_HEADER_BYTES, 1 << 20)  # bytes per step of the text check; the first holds the header


def _check_csv_text(blocks: Iterable[bytes | memoryview]) -> None:
    """RecordError unless the blocks are UTF-8 text (a BOM is fine) whose header line is bounded."""
    decoder, offset = codecs.getincrementaldecoder("utf-8")(), 0
    try:
        for block in blocks:
            if offset == 0:
                problem = header_problem(bytes(block[:MAX_CSV_HEADER_BYTES]))
                if problem:
                    raise RecordError(f"not a readable CSV: {problem}")
            decoder.decode(block)
            offset += len(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        at = offset + exc.start
        raise RecordError(f"not a readable CSV: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{at:,}); save it as UTF-8") from None


_TOO_MANY_FIELDS = re.compile(r"Expected (\d+) columns, got (\d+)")


def _parse_csv(source: Callable[[], Any]) -> pd.DataFrame:
    """``pd.read_csv(source())``: pyarrow's parser, else the C parser's explanation as a RecordError."""
    try:
        return pd.read_csv(source(), engine="pyarrow")
    except Exception as exc:
        counts = _TOO_MANY_FIELDS.search(str(exc))
        if counts and int(counts[2]) > int(counts[1]):  # the C parser would shift the columns silently
            raise RecordError(f"not a readable CSV: a row has {int(counts[2]):,} fields where the header "
                              f"has {int(counts[1]):,}") from None
        try:  # pyarrow is strict about short rows and explains less; index_col=False: never shift columns
            return pd.read_csv(source(), index_col=False)
        except Exception as exc:
            reason = str(exc).strip()
            raise RecordError(f"not a readable CSV: {reason.splitlines()[0] if reason else exc}") from None


def frame_from_json(body: bytes, schema: Schema, data_roots: Sequence[Path],
                    base: Path | None = None) -> pd.DataFrame:
    """A JSON body → typed frame: ``{"records": [...]}``, a list of records, or ``{"data_path": ...}``
    naming a CSV inside ``data_roots`` (resolved paths; a relative path may also start from
    ``base``, the project folder)."""
    try:
        payload = load_bounded_json(body)
    except JsonLimitError as exc:
        raise RecordError(str(exc)) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise RecordError(f"the body is not valid JSON: {exc}", RecordErrorKind.MALFORMED) from None
    if isinstance(payload, dict) and "data_path" in payload:
        return validate_frame(read_data_file(payload["data_path"], data_roots, base), schema)
    records = payload.get("records") if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not records:
        raise RecordError("send {\"records\": [...]} or a JSON list of client records, or {\"data_path\": ...}")
    if not all(isinstance(r, dict) for r in records):
        raise RecordError("each record must be a JSON object of column: value")
    return frame_from_records(records, schema)


def read_data_file(data_path: Any, data_roots: Sequence[Path], base: Path | None = None) -> pd.DataFrame:
    """The baseline's form: a CSV named by path — but only inside ``data_roots`` (resolved paths).
    A relative path is tried from each data folder (a bare file name) and from ``base`` (the project
    folder: ``data/testdata/testdata.csv``)."""
    if not isinstance(data_path, str) or not data_path.strip():
        raise RecordError("data_path must be a file name or path")
    if len(data_path) > MAX_DATA_PATH_CHARS:
        raise RecordError(f"data_path has {len(data_path):,} characters; at most {MAX_DATA_PATH_CHARS:,} are accepted")
    try:
        candidate = Path(data_path)
        starts = [*data_roots, *([base] if base is not None else [])]
        options = [candidate] if candidate.is_absolute() else [start / candidate for start in starts]
    except ValueError:  # an embedded NUL byte
        options = []
    inside = []
    for option in options:
        try:
            resolved = option.resolve()  # follows "..", and symlinks that point elsewhere
        except (OSError, RuntimeError, ValueError):
            continue
        if any(resolved.is_relative_to(root) for root in data_roots):
            inside.append(resolved)
    if not inside:
        raise RecordError(f"data_path must name a file inside the configured data folders "
                          f"({_folders(data_roots, base)})", RecordErrorKind.OUTSIDE_DATA)
    for resolved in inside:
        if _is_file(resolved):
            try:
                return pd.read_csv(resolved)
            except Exception as exc:
                raise RecordError(f"{resolved.name} is not a readable CSV: {exc}") from None
    raise RecordError(f"no such data file in the configured data folders ({_folders(data_roots, base)}): "
                      f"{data_path}", RecordErrorKind.NO_SUCH_FILE)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system names no file
        return False


def _folders(data_roots: Sequence[Path], base: Path | None) -> str:
    """The allowed folders as a person would type them: relative to the project when inside it."""
    def shown(root: Path) -> str:
        if base is not None and root.is_relative_to(base.resolve()):
            return str(root.relative_to(base.resolve())) or "."
        return str(root)
    return ", ".join(shown(root) for root in data_roots)
