"""Ingestion on a Dask cluster: the same per-file check and staging as the local engine, one task
per file, and the merge of the staged parts as a hash shuffle with exact de-duplication.

- :func:`stage_files` runs :func:`riskwatch.staging.stage_file` on the workers (the full rules, the
  same Parquet part per file) and returns what it returns, in file order.
- :func:`merge` is :func:`riskwatch.duck_merge.merge` on the cluster: the parts concatenated in
  file order, numeric columns widened to float64 when any part holds floats, exact duplicate rows
  dropped keeping the first, written as Parquet with pandas' dtypes and, when asked, as the CSV
  pandas' ``to_csv(index=False, lineterminator="\\n")`` writes — byte for byte.

The shuffle, in three task rounds: each part's rows (typed as merged, with their position
``_p`` = file index × stride + row) are written bucketed by a hash of all their values (an Arrow
file per part, rows grouped by bucket); one task per bucket reads its slice of every part and
finds, by comparing values exactly, the rows that repeat an earlier one; one task per part then
writes its kept rows in order as a CSV piece and a Parquet piece, which the driver joins in file
order. No task holds more than one part or one bucket (about :data:`BUCKET_ROWS` rows); dask's
dataframe shuffle needed several times that memory per worker in the same test. Every path must be
reachable from every worker (a shared filesystem on a real cluster).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from riskwatch.config import Schema
from riskwatch.dask_parts import run_tasks
from riskwatch.duck_ingest import as_dtypes, pandas_schema, parquet_options
from riskwatch.duck_merge import POSITION_STRIDE, merged_dtypes
from riskwatch.newdata import atomic_write
from riskwatch.staging import Source, StagedFile, stage_file
from riskwatch.tables import ValidationError

BUCKET_ROWS = 200_000     # rows per de-duplication task (its memory: a few times this many rows)


def _stage_one(path: str, index: int, schema: Schema, folder: str) -> StagedFile | ValidationError:
    try:
        return stage_file(path, schema, folder, index)
    except ValidationError as exc:  # the file as a whole is refused: the caller quarantines it
        return exc


def stage_files(client: Any, paths: Sequence[str | Path], schema: Schema,
                folder: str | Path) -> list[StagedFile | ValidationError]:
    """Each file checked and staged as ``folder/part-<index>.parquet`` by
    :func:`~riskwatch.staging.stage_file`, one task per file; in file order, a
    :class:`~riskwatch.tables.ValidationError` in place of a refused file."""
    return run_tasks(client, _stage_one, [str(p) for p in paths], list(range(len(paths))), schema=schema,
                     folder=str(folder))


def typed_part(source: Source, index: int, columns: Sequence[str], dtypes: dict[str, str]) -> pd.DataFrame:
    """A staged part with the merged columns and dtypes (missing columns empty) and its positions."""
    frame = pd.read_parquet(source.path)
    out = pd.DataFrame({c: (frame[c] if c in frame else pd.Series(np.nan, index=frame.index)).astype(dtypes[c])
                        for c in columns})
    out["_p"] = index * POSITION_STRIDE + frame["_r"].to_numpy(dtype=np.int64)
    return out


def bucket_part(source: Source, index: int, columns: list[str], dtypes: dict[str, str], buckets: int,
                folder: str) -> int:
    """Round 1: the part's rows, typed as merged, into an Arrow file of one record batch per bucket
    (a bucket's batch can be read alone); returns the rows."""
    frame = typed_part(source, index, columns, dtypes)
    bucket = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy() % np.uint64(buckets)
    order = np.argsort(bucket, kind="stable")
    batch = pa.RecordBatch.from_pandas(frame.iloc[order], preserve_index=False)
    bounds = np.searchsorted(bucket[order], np.arange(buckets + 1, dtype=np.uint64))
    with pa.OSFile(_arrow_path(folder, index), "wb") as sink, ipc.new_file(sink, batch.schema) as writer:
        for b in range(buckets):
            writer.write_batch(batch.slice(int(bounds[b]), int(bounds[b + 1] - bounds[b])))
    return len(frame)


def repeated_in_bucket(bucket: int, parts: int, columns: list[str], folder: str) -> np.ndarray:
    """Round 2: positions of the bucket's rows that repeat an earlier row exactly (values compared)."""
    pieces = []
    for index in range(parts):
        with pa.OSFile(_arrow_path(folder, index)) as source:
            batch = ipc.open_file(source).get_batch(bucket)
            if batch.num_rows:
                pieces.append(batch.to_pandas())
    if not pieces:
        return np.zeros(0, dtype=np.int64)
    rows = pd.concat(pieces, ignore_index=True).sort_values("_p", kind="stable")
    return rows.loc[rows.duplicated(subset=columns, keep="first"), "_p"].to_numpy(dtype=np.int64)


def write_piece(index: int, drop: np.ndarray, columns: list[str], dtypes: dict[str, str], folder: str,
                csv: bool) -> int:
    """Round 3: the part's kept rows in file order as a Parquet piece (and a CSV piece, no header)."""
    with pa.OSFile(_arrow_path(folder, index)) as source:
        frame = ipc.open_file(source).read_all().to_pandas()
    frame = as_dtypes(frame[~frame["_p"].isin(drop)].sort_values("_p", kind="stable")[columns], columns, dtypes)
    frame.to_parquet(Path(folder) / f"piece-{index:06d}.parquet", index=False)
    if csv:
        frame.to_csv(Path(folder) / f"piece-{index:06d}.csv", index=False, header=False, lineterminator="\n")
    return len(frame)


def _arrow_path(folder: str, index: int) -> str:
    return str(Path(folder) / f"bucketed-{index:06d}.arrow")


def merge(client: Any, sources: Sequence[Source], schema: Schema, parquet: str | Path,
          csv_path: str | Path | None = None, bucket_rows: int = BUCKET_ROWS) -> tuple[list[str], dict[str, str]]:
    """:func:`riskwatch.duck_merge.merge` on the cluster (see the module's docstring): writes
    ``parquet`` (and ``csv_path`` if given); returns the columns and their pandas dtypes."""
    columns, dtypes = merged_dtypes(sources, schema)
    parquet = Path(parquet)
    folder = parquet.parent / f".{parquet.name}.shuffle"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        n_rows = sum(s.rows for s in sources)
        buckets = max(1, -(-n_rows // bucket_rows))
        kept = []
        if sources:
            run_tasks(client, bucket_part, list(sources), list(range(len(sources))), columns=columns,
                 dtypes=dtypes, buckets=buckets, folder=str(folder))
            repeated = run_tasks(client, repeated_in_bucket, list(range(buckets)), parts=len(sources), columns=columns,
                            folder=str(folder))
            drop = np.sort(np.concatenate([np.zeros(0, dtype=np.int64), *repeated]))
            bounds = np.searchsorted(drop // POSITION_STRIDE, np.arange(len(sources) + 1))
            per_part = [drop[bounds[i]:bounds[i + 1]] for i in range(len(sources))]
            kept = run_tasks(client, write_piece, list(range(len(sources))), per_part, columns=columns, dtypes=dtypes,
                        folder=str(folder), csv=csv_path is not None)
        if csv_path is not None:
            _join_csv(folder, kept, columns, Path(csv_path))
        # last: the copy is as new as the CSV
        _join_parquet(folder, kept, columns, dtypes, schema.id_column, parquet)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return columns, dtypes


def _join_parquet(folder: Path, kept: list[int], columns: list[str], dtypes: dict[str, str], id_column: str,
                  path: Path) -> None:
    """The pieces as one Parquet file, in file order, with pandas' dtypes in its metadata."""
    schema = pandas_schema(columns, dtypes)

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema, **parquet_options(columns, id_column)) as writer:
            for index, rows in enumerate(kept):
                if rows:
                    writer.write_table(pq.read_table(folder / f"piece-{index:06d}.parquet").cast(schema))
            if not any(kept):
                writer.write_table(schema.empty_table())
    atomic_write(path, write)


def _join_csv(folder: Path, kept: list[int], columns: list[str], path: Path) -> None:
    """The header pandas writes, then the CSV pieces in file order."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            out.write(pd.DataFrame(columns=columns).to_csv(index=False, lineterminator="\n").encode("utf-8"))
            for index, rows in enumerate(kept):
                if rows:
                    with open(folder / f"piece-{index:06d}.csv", "rb") as piece:
                        shutil.copyfileobj(piece, out, 1 << 20)
    atomic_write(path, write)
