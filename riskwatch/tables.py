"""Tables by the schema: read and validate a CSV, read what the pipeline wrote, coerce columns,
drop exact duplicates. Used by every stage that reads data; writes nothing."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from riskwatch.config import Schema
from riskwatch.ingestion_rules import label_meanings


# What pandas reads as missing by default. The id column is exempt: a client may be called "null".
NA_TOKENS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


class ValidationError(ValueError):
    """A data file does not match the schema; the message says how."""


LABELLED, UNLABELLED, LABELS = "labelled", "unlabelled", "labels"
FILE_KINDS = {LABELLED: "clients with outcomes (training data)",
              UNLABELLED: "clients to score (no outcomes yet)",
              LABELS: "outcomes of clients scored earlier"}


def file_kind(columns: list[str], schema: Schema) -> str:
    """What a client file is, from its header: every feature and the target (labelled), every
    feature without the target (unlabelled), or only the id and the target (labels arriving later)."""
    present = set(columns)
    missing_features = [c for c in schema.features if c not in present]
    if schema.id_column not in present:
        raise ValidationError(f"missing column(s): {schema.id_column} (found: {', '.join(columns)})")
    if not missing_features:
        return LABELLED if schema.target in present else UNLABELLED
    if schema.target in present and len(missing_features) == len(schema.features):
        return LABELS
    missing = missing_features + ([] if schema.target in present else [schema.target])
    raise ValidationError(f"missing column(s): {', '.join(missing)} (found: {', '.join(columns)}); a file "
                          f"holds every feature (with or without '{schema.target}'), or only "
                          f"'{schema.id_column}' and '{schema.target}'")


def read_table(path: str | Path, schema: Schema) -> pd.DataFrame:
    """Read and validate one labelled CSV against ``schema``; raise :class:`ValidationError` saying what is wrong."""
    kind, frame = read_client_file(path, schema)
    if kind != LABELLED:
        raise ValidationError(f"missing column(s): {schema.target} (this file holds {FILE_KINDS[kind]})"
                              if kind == UNLABELLED else
                              f"missing column(s): {', '.join(schema.features)} (this file holds {FILE_KINDS[kind]})")
    return frame


def read_client_file(path: str | Path, schema: Schema) -> tuple[str, pd.DataFrame]:
    """Read and validate one CSV of any kind (:func:`file_kind`); returns the kind and the frame with
    the schema's columns that kind has, typed. Any bad row refuses the file (see :func:`check_client_file`)."""
    checked = check_client_file(path, schema)
    if checked.bad is not None:
        raise ValidationError(checked.problems())
    return checked.kind, checked.frame


@dataclass
class CheckedFile:
    """A client file read by :func:`check_client_file`: its kind, its good rows (typed), and its bad
    rows (None if there are none): ``line`` (the line number in the file, the header being line 1),
    ``reasons`` (every problem of the row, joined by "; ") and the row's fields as written."""

    kind: str
    frame: pd.DataFrame
    bad: pd.DataFrame | None = None

    def problems(self, shown: int = 5) -> str:
        """The bad rows in one sentence: how many, and the first ``shown`` with their line numbers."""
        bad = self.bad if self.bad is not None else pd.DataFrame(columns=["line", "reasons"])
        listed = "; ".join(f"line {line}: {reasons}" for line, reasons in
                           zip(bad["line"].head(shown), bad["reasons"].head(shown)))
        more = f"; and {len(bad) - shown} more" if len(bad) > shown else ""
        good = f", {len(self.frame)} good" if len(self.frame) else ", no good row"
        return f"{len(bad)} bad row(s){good} — {listed}{more}"


def check_client_file(path: str | Path, schema: Schema) -> CheckedFile:
    """Read one CSV of any kind and check it row by row.

    Problems of the file as a whole (unreadable, empty, missing columns, target text that has no
    meaning at all) raise :class:`ValidationError`. Problems of single rows — no id, a value that
    is not a number, a target that is missing or not 0/1 — are collected, every one of each row:
    the good rows come back typed as if the file held nothing else, the bad ones as written.
    """
    path = Path(path)
    try:
        na_values = {c: NA_TOKENS for c in (*schema.features, schema.target)}
        na_values[schema.id_column] = [""]
        raw = pd.read_csv(path, dtype={schema.id_column: "string"}, skipinitialspace=True,
                          keep_default_na=False, na_values=na_values)
    except pd.errors.EmptyDataError:
        raise ValidationError("the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"not a readable CSV: {str(exc).strip().splitlines()[0]}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    kind = file_kind(list(raw.columns), schema)
    if raw.empty:
        raise ValidationError("the file has a header but no rows")
    columns = {LABELLED: schema.columns, UNLABELLED: (schema.id_column, *schema.features),
               LABELS: (schema.id_column, schema.target)}[kind]
    frame = raw[list(columns)].copy()
    checks = [(frame[schema.id_column].isna(), f"a row without '{schema.id_column}'", None)]
    if kind != LABELS:
        for column in schema.numeric_features:
            frame[column], bad = coerce_numeric(frame[column])
            checks.append((bad, f"'{column}' must be numeric, got ", raw[column]))
        for column in schema.categorical_features:
            frame[column] = as_categorical(frame[column])
    if kind != UNLABELLED:
        frame[schema.target], bad = target_values(frame[schema.target], schema)
        checks.append((bad, f"'{schema.target}' must be 0 or 1 (or yes/no, true/false, y/n), got ",
                       raw[schema.target]))
    any_bad = np.logical_or.reduce([mask.to_numpy() for mask, _, _ in checks])
    if not any_bad.any():
        if kind != UNLABELLED:
            frame[schema.target] = frame[schema.target].astype("int64")
        return CheckedFile(kind, frame)
    positions = np.flatnonzero(any_bad)
    reasons = ["; ".join(text + ("" if values is None else _shown(values.iat[i]))
                         for mask, text, values in checks if mask.iat[i]) for i in positions]
    return CheckedFile(kind, _typed(raw[~any_bad], kind, columns, schema),
                       bad_rows_as_written(path, raw, positions, reasons))


def _typed(raw: pd.DataFrame, kind: str, columns: tuple[str, ...], schema: Schema) -> pd.DataFrame:
    """The good rows typed as the whole file would be had it held only them (numbers re-inferred)."""
    frame = raw[list(columns)].reset_index(drop=True).copy()
    if kind != LABELS:
        for column in schema.numeric_features:
            frame[column] = pd.to_numeric(frame[column])
        for column in schema.categorical_features:
            frame[column] = as_categorical(frame[column])
    if kind != UNLABELLED:
        frame[schema.target] = target_values(frame[schema.target], schema)[0].astype("int64")
    return frame


def target_values(values: pd.Series, schema: Schema) -> tuple[pd.Series, pd.Series]:
    """(0/1 as floats with NaN where there is none, mask of rows whose target is missing or not 0/1).

    Numbers 0 and 1 are themselves; text is read by :func:`riskwatch.ingestion_rules.label_meanings`.
    Text that has no meaning while the file holds no valid target at all, or a file with several
    values besides ``schema.positive_label``, raises :class:`ValidationError`: the file, not a row, is wrong.
    """
    numbers = pd.to_numeric(values, errors="coerce")
    result = numbers.where(numbers.isin([0, 1]))
    is_text = numbers.isna() & values.notna()
    if is_text.any():
        texts = values[is_text].astype(str).str.strip()
        meanings = label_meanings(texts.unique(), schema.positive_label)
        keys = texts.str.lower()
        result[is_text] = keys.map(meanings).astype(float)
        unknown = sorted(set(texts[~keys.isin(meanings)]))
        if unknown and schema.positive_label is not None:
            raise ValidationError(f"'{schema.target}': schema.positive_label is {schema.positive_label!r}, so one "
                                  f"other value means 0, but this file holds several ({_seen(texts)})")
        if unknown and not result.notna().any():
            raise ValidationError(f"'{schema.target}' holds text that cannot be read as 0/1 ({_seen(texts)}); "
                                  f"set schema.positive_label in config.json to the value that means 1")
    return result, result.isna()


def _seen(texts: pd.Series, limit: int = 10) -> str:
    values = list(dict.fromkeys(texts))
    return "values seen: " + ", ".join(map(repr, values[:limit])) + (" …" if len(values) > limit else "")


def _shown(value) -> str:
    """A field's value for a reason: quoted text, a plain number, or "nothing" when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "nothing"
    return repr(value.item() if isinstance(value, np.generic) else value)


def bad_rows_as_written(path: Path, raw: pd.DataFrame, positions: np.ndarray, reasons: list[str]) -> pd.DataFrame:
    """The bad rows (at ``positions`` of ``raw``): ``line`` (the line number in the file, the header being
    line 1), ``reasons``, then the fields as the file spells them — read again with the csv module, or
    as pandas read them if the two disagree on where the rows are."""
    wanted, header, lines, rows, count = set(positions.tolist()), None, [], [], 0
    with open(path, newline="", encoding="utf-8") as handle:
        reader, last = csv.reader(handle), 0
        for record in reader:
            start, last = last + 1, reader.line_num
            if not record:
                continue  # a blank line: pandas skips it too
            if header is None:
                header = [c.strip() for c in record]
                continue
            if count in wanted:
                lines.append(start)
                rows.append(record)
            count += 1
    if count == len(raw) and header is not None and all(len(r) == len(header) for r in rows):
        written = pd.DataFrame(rows, columns=header)
    else:
        lines, written = [int(i) + 2 for i in positions], raw.iloc[positions].reset_index(drop=True)
    return pd.concat([pd.DataFrame({"line": lines, "reasons": reasons}), written], axis=1)


def coerce_numeric(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(float-or-int values, mask of entries that are present but not finite numbers).

    inf counts as bad: it is "numeric" to pandas but poisons training for the whole batch.
    """
    converted = pd.to_numeric(values, errors="coerce")
    bad = (converted.isna() & values.notna()) | converted.isin([np.inf, -np.inf])
    return converted, bad


def as_categorical(values: pd.Series) -> pd.Series:
    """Text with NaN for blanks: scikit-learn's imputers do not understand pd.NA."""
    text = values.astype("string")
    return text.astype(object).where(text.notna(), np.nan)


def drop_duplicates_exact(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame.drop_duplicates(ignore_index=True)``, same rows in the same order, faster.

    Rows are hashed (vectorised); only rows whose hash occurs more than once — every true
    duplicate and its first occurrence, plus any hash collision — go through pandas' exact
    comparison, so a collision can never drop a distinct row.
    """
    if len(frame) < 100_000:
        return frame.drop_duplicates(ignore_index=True)
    hashes = pd.util.hash_pandas_object(frame, index=False)
    candidates = hashes.duplicated(keep=False).to_numpy()
    drop = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        drop[np.flatnonzero(candidates)] = frame[candidates].duplicated().to_numpy()
    return frame[~drop].reset_index(drop=True)


def load_table(path: str | Path, schema: Schema) -> pd.DataFrame:
    """Read a table the pipeline wrote (CSV or Parquet), or every CSV of a folder, validated."""
    files = table_files(path)
    if files[0].suffix == ".parquet":
        return pd.read_parquet(files[0])
    frames = [read_table(f, schema) for f in files]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def table_files(path: str | Path) -> list[Path]:
    """The files of a table: every CSV of a folder (in name order), else the file itself."""
    path = Path(path)
    if not path.is_dir():
        return [path]
    files = sorted(path.glob("*.csv"))
    if not files:
        raise ValidationError(f"no CSV files in {path}")
    return files


def read_finaldata(path: str | Path, schema: Schema, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """finaldata typed by the schema: from the Parquet copy ingestion writes beside it (only
    ``columns``, if given) when that copy is current (:func:`finaldata_copy`), else the CSV read and
    validated."""
    parquet = finaldata_copy(path)
    if parquet is not None:
        return categories_as_read(pd.read_parquet(parquet, columns=list(columns) if columns is not None else None),
                                  schema)
    frame = read_table(path, schema)
    return frame[list(columns)] if columns is not None else frame


def finaldata_copy(path: str | Path) -> Path | None:
    """The Parquet copy beside ``finaldata.csv`` when it is at least as new as the CSV — a CSV
    replaced by hand is never shadowed by an older copy — else None."""
    path = Path(path)
    parquet = path.with_suffix(".parquet")
    if parquet.exists() and (not path.exists() or parquet.stat().st_mtime_ns >= path.stat().st_mtime_ns):
        return parquet
    return None


def categories_as_read(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Categorical columns of a frame read from Parquet typed as :func:`check_client_file` types them."""
    for column in schema.categorical_features:
        if column in frame:
            frame[column] = as_categorical(frame[column])
    return frame
