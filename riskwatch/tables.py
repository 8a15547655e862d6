"""Tables by the schema: read and validate a CSV, read what the pipeline wrote, coerce columns,
drop exact duplicates. Used by every stage that reads data; writes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskwatch.config import Schema


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
    the schema's columns that kind has, typed."""
    path = Path(path)
    try:
        na_values = {c: NA_TOKENS for c in (*schema.features, schema.target)}
        na_values[schema.id_column] = [""]
        frame = pd.read_csv(path, dtype={schema.id_column: "string"}, skipinitialspace=True,
                            keep_default_na=False, na_values=na_values)
    except pd.errors.EmptyDataError:
        raise ValidationError("the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"not a readable CSV: {str(exc).strip().splitlines()[0]}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    kind = file_kind(list(frame.columns), schema)
    if frame.empty:
        raise ValidationError("the file has a header but no rows")
    columns = {LABELLED: schema.columns, UNLABELLED: (schema.id_column, *schema.features),
               LABELS: (schema.id_column, schema.target)}[kind]
    frame = frame[list(columns)].copy()
    if frame[schema.id_column].isna().any():
        raise ValidationError(f"{int(frame[schema.id_column].isna().sum())} row(s) without "
                              f"'{schema.id_column}'")
    if kind != LABELS:
        for column in schema.numeric_features:
            frame[column] = _to_numeric(frame[column], column)
        for column in schema.categorical_features:
            frame[column] = as_categorical(frame[column])
    if kind != UNLABELLED:
        target = _to_numeric(frame[schema.target], schema.target)
        bad = ~target.isin([0, 1])
        if bad.any():
            example = frame.loc[bad, schema.target].iloc[0]
            raise ValidationError(f"'{schema.target}' must be 0 or 1 in every row; "
                                  f"{int(bad.sum())} row(s) are not (e.g. {example!r})")
        frame[schema.target] = target.astype("int64")
    return kind, frame


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


def _to_numeric(values: pd.Series, column: str) -> pd.Series:
    converted, bad = coerce_numeric(values)
    if bad.any():
        example = values[bad].iloc[0]
        raise ValidationError(f"column '{column}' must be numeric; {int(bad.sum())} value(s) are not "
                              f"(e.g. {example!r})")
    return converted


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
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise ValidationError(f"no CSV files in {path}")
        return pd.concat([read_table(f, schema) for f in files], ignore_index=True)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return read_table(path, schema)
