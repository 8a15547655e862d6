"""Ingestion: validate every CSV of the input folder, merge, de-duplicate, record.

A file that fails validation is copied to the quarantine folder with a ``.reason.txt`` beside it
and the rest of the batch goes through. Raw input files are never modified, moved or deleted.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from riskwatch.clock import now_iso
from riskwatch.config import Schema
from riskwatch.newdata import InputFile, atomic_write_text, hash_input_files, read_record


# What pandas reads as missing by default. The id column is exempt: a client may be called "null".
NA_TOKENS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


class ValidationError(ValueError):
    """A data file does not match the schema; the message says how."""


@dataclass
class IngestionResult:
    finaldata_path: Path
    batch_path: Path | None
    record_path: Path
    ingested: list[dict[str, Any]] = field(default_factory=list)     # new files ingested now
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # new files refused now
    n_files: int = 0          # valid files merged into finaldata
    n_rows_read: int = 0
    n_rows: int = 0           # rows in finaldata after de-duplication
    n_batch_rows: int = 0     # de-duplicated rows of the new files

    @property
    def n_duplicates(self) -> int:
        return self.n_rows_read - self.n_rows


def read_table(path: str | Path, schema: Schema) -> pd.DataFrame:
    """Read and validate one CSV against ``schema``; raise :class:`ValidationError` saying what is wrong."""
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
    missing = [c for c in schema.columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"missing column(s): {', '.join(missing)} "
                              f"(found: {', '.join(map(str, frame.columns))})")
    if frame.empty:
        raise ValidationError("the file has a header but no rows")
    frame = frame[list(schema.columns)].copy()
    if frame[schema.id_column].isna().any():
        raise ValidationError(f"{int(frame[schema.id_column].isna().sum())} row(s) without "
                              f"'{schema.id_column}'")
    for column in schema.numeric_features:
        frame[column] = _to_numeric(frame[column], column)
    for column in schema.categorical_features:
        frame[column] = as_categorical(frame[column])
    target = _to_numeric(frame[schema.target], schema.target)
    bad = ~target.isin([0, 1])
    if bad.any():
        example = frame.loc[bad, schema.target].iloc[0]
        raise ValidationError(f"'{schema.target}' must be 0 or 1 in every row; "
                              f"{int(bad.sum())} row(s) are not (e.g. {example!r})")
    frame[schema.target] = target.astype("int64")
    return frame


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


def quarantine(file: InputFile, reason: str, quarantine_folder: Path, run_id: str) -> dict[str, Any]:
    """Copy a refused file aside with a reason file; the original stays where it was."""
    quarantine_folder.mkdir(parents=True, exist_ok=True)
    target = quarantine_folder / f"{file.path.stem}.{file.sha256[:12]}{file.path.suffix}"
    shutil.copy2(file.path, target)
    atomic_write_text(target.with_name(target.name + ".reason.txt"),
                      f"file: {file.path}\nsha256: {file.sha256}\nrun: {run_id}\nreason: {reason}\n")
    return {**file.as_dict(), "status": "quarantined", "reason": reason, "quarantined_as": str(target)}


def ingest(input_folder: str | Path, output_folder: str | Path, quarantine_folder: str | Path,
           schema: Schema, run_id: str = "manual", batch_path: str | Path | None = None,
           redo_hashes: Sequence[str] = (), known_files: Sequence[dict[str, Any]] = ()) -> IngestionResult:
    """Merge every valid CSV of ``input_folder`` into ``finaldata.csv`` and update the record.

    Files whose hash the record does not know are this run's new files: their de-duplicated rows
    are also written to ``batch_path`` (Parquet), the "current" data drift is measured on.
    ``redo_hashes`` name files of an interrupted cycle, which count as new again.
    ``known_files`` are hashes the caller already computed (path, size, mtime_ns, sha256), so
    the runner's new-file check and ingestion do not both read every new file.
    """
    redo = set(redo_hashes)
    output_folder, quarantine_folder = Path(output_folder), Path(quarantine_folder)
    output_folder.mkdir(parents=True, exist_ok=True)
    record_path = output_folder / "ingestedfiles.json"
    record = read_record(record_path)
    known = {entry["sha256"]: entry for entry in record}
    now = now_iso()

    frames, new_frames, result_files, quarantined, ingested = [], [], [], [], []
    for file in hash_input_files(input_folder, [*record, *known_files]):
        previous = known.get(file.sha256)
        if previous is not None and previous.get("status") == "quarantined" and file.sha256 not in redo:
            continue  # same bytes were refused before; the reason file already says why
        try:
            frame = read_table(file.path, schema)
        except ValidationError as exc:
            entry = quarantine(file, str(exc), quarantine_folder, run_id)
            entry.update(run_id=run_id, ingested_at=now)
            quarantined.append(entry)
            continue
        frames.append(frame)
        entry = {**file.as_dict(), "rows": len(frame), "status": "ingested"}
        if previous is None or file.sha256 in redo:
            entry.update(run_id=run_id, ingested_at=now)
            new_frames.append(frame)
            ingested.append(entry)
        else:
            entry.update(run_id=previous.get("run_id"), ingested_at=previous.get("ingested_at"))
        result_files.append(entry)

    columns = list(schema.columns)
    n_files = len(frames)
    all_new = bool(frames) and len(new_frames) == n_files
    if all_new:
        new_frames = []  # the batch will be finaldata itself; don't keep a second reference
    merged = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    del frames  # the merged copy is all we need; halves peak memory at scale
    final = drop_duplicates_exact(merged)
    finaldata_path = output_folder / "finaldata.csv"
    _atomic_csv(final, finaldata_path)

    batch_written = None
    if all_new:
        batch = final  # every file is new: the batch is finaldata, no second de-duplication
    else:
        batch = drop_duplicates_exact(pd.concat(new_frames, ignore_index=True)) if new_frames else None
    del new_frames
    if batch is not None and batch_path is not None:
        batch_written = Path(batch_path)
        batch_written.parent.mkdir(parents=True, exist_ok=True)
        batch.to_parquet(batch_written, index=False)

    # Keep entries for files no longer in the folder: the record is history, and a file that
    # comes back under another name must still be recognised.
    present = {e["sha256"] for e in result_files} | {e["sha256"] for e in quarantined}
    history = [e for e in record if e["sha256"] not in present]
    new_record = history + result_files + quarantined
    finaldata_info = {"sha256": [e["sha256"] for e in result_files], "rows": len(final), "written_at": now}
    atomic_write_text(record_path, json.dumps({"files": new_record, "finaldata": finaldata_info},
                                              indent=1) + "\n")
    # The baseline's record: one ingested file name per line.
    atomic_write_text(output_folder / "ingestedfiles.txt",
                      "".join(f"{e['name']}\n" for e in new_record if e.get("status") == "ingested"))

    return IngestionResult(
        finaldata_path=finaldata_path, batch_path=batch_written, record_path=record_path,
        ingested=ingested, quarantined=quarantined, n_files=n_files,
        n_rows_read=len(merged), n_rows=len(final),
        n_batch_rows=0 if batch is None else len(batch),
    )


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


def _atomic_csv(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    if not _write_csv_arrow(frame, tmp):
        frame.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)


def _write_csv_arrow(frame: pd.DataFrame, path: Path) -> bool:
    """Write the CSV with pyarrow when its bytes equal pandas' ``to_csv`` (integer columns and
    strings that need no quoting); False when pandas must write it."""
    if len(frame) < 100_000:
        return False
    import pyarrow as pa
    import pyarrow.csv as pacsv

    import pyarrow.compute as pc

    if any(not str(c).isidentifier() for c in frame.columns):
        return False
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for name, column in zip(table.column_names, table.columns):
        kind = column.type
        if pa.types.is_integer(kind) and column.null_count == 0:
            continue
        if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and column.null_count == 0 \
                and not pc.any(pc.match_substring_regex(column, r'[",\r\n]|^\s|\s$|^$')).as_py():
            continue
        return False
    with open(path, "wb") as handle:
        handle.write((",".join(map(str, frame.columns)) + "\n").encode())
        pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    return True


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
