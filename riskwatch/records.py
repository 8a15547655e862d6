"""Client records to score → the typed frame the model takes, or a :class:`RecordError` saying why not.

Shared by the API and the dashboard: from a pandas frame (:func:`validate_frame`), from JSON
records (:func:`frame_from_records`, the fast single-client path), from CSV bytes
(:func:`read_csv_bytes`) and from a JSON request body (:func:`frame_from_json`, which also takes
the baseline's ``{"data_path": ...}``, read only from inside the folders the caller allows).
Nothing here knows about HTTP: the API maps :attr:`RecordError.kind` to a status code.
"""

from __future__ import annotations

import enum
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Schema
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
    out = pd.DataFrame({schema.id_column: frame[names[schema.id_column]].astype("string").fillna("")})
    for column in schema.numeric_features:
        values = frame[names[column]]
        converted, bad = coerce_numeric(values)
        bad |= converted.isna()  # unlike ingested data, a client to score needs every value
        if bad.any():
            raise _not_finite(column, int(bad.sum()), values[bad].iloc[0])
        out[column] = converted.astype("float64")
    for column in schema.categorical_features:
        out[column] = as_categorical(frame[names[column]])
    return out


def frame_from_records(records: list[dict[str, Any]], schema: Schema) -> pd.DataFrame:
    """JSON records → typed frame without pandas' per-column inference (the single-client path)."""
    needed = (schema.id_column, *schema.features)
    missing = [c for c in needed if any(c not in r for r in records)]
    if missing:
        raise _missing_columns(missing, needed)
    columns: dict[str, Any] = {schema.id_column: [str(r[schema.id_column]) for r in records]}
    for column in schema.numeric_features:
        values = [r[column] for r in records]
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))
               or not math.isfinite(v)]
        if bad:
            raise _not_finite(column, len(bad), bad[0])
        columns[column] = np.asarray(values, dtype="float64")
    for column in schema.categorical_features:
        columns[column] = [None if r[column] is None else str(r[column]) for r in records]
    frame = pd.DataFrame(columns)
    for column in schema.categorical_features:
        frame[column] = as_categorical(frame[column])
    return frame


def read_csv_bytes(body: bytes) -> pd.DataFrame:
    """An uploaded CSV as read (not yet validated: see :func:`validate_frame`)."""
    try:
        return pd.read_csv(io.BytesIO(body), engine="pyarrow")
    except Exception:
        try:  # pyarrow is strict about ragged files; the C parser explains better
            return pd.read_csv(io.BytesIO(body))
        except Exception as exc:
            reason = str(exc).strip()
            raise RecordError(f"not a readable CSV: {reason.splitlines()[0] if reason else exc}") from None


def frame_from_json(body: bytes, schema: Schema, data_roots: Sequence[Path],
                    base: Path | None = None) -> pd.DataFrame:
    """A JSON body → typed frame: ``{"records": [...]}``, a list of records, or ``{"data_path": ...}``
    naming a CSV inside ``data_roots`` (resolved paths; a relative path may also start from
    ``base``, the project folder)."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
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
