"""One input file checked by the full rules and its good rows staged as a Parquet part.

This is ingestion's reference path: :func:`riskwatch.tables.check_client_file` reads the file with
pandas and applies every rule (bad rows with their line numbers and reasons, text targets, missing
values). Its good rows are written as ``<folder>/part-<index>.parquet``, typed exactly as pandas
read that file alone, so a merge of parts (DuckDB locally, a Dask shuffle on a cluster) gives the
same table as concatenating the frames. Files the fast path (:mod:`riskwatch.duck_ingest`) cannot
vouch for come here; on a Dask cluster every file does, one task per file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from riskwatch.config import Schema
from riskwatch.tables import CheckedFile, check_client_file


@dataclass
class Source:
    """One input to a merge: one file's good rows in a Parquet part, in file order. A part that
    holds several files (DuckDB stages files with the same header together) says which rows are
    this file's with ``selector``, the value of its ``_f`` column."""

    path: Path
    columns: tuple[str, ...]              # the schema columns it holds
    float_columns: tuple[str, ...]
    rows: int
    selector: int | None = None


@dataclass
class StagedFile:
    """A checked file: its kind, where its good rows are, how many, its bad rows (None if none)
    and the sentence that describes them."""

    kind: str
    part: Path | None
    rows: int
    bad: pd.DataFrame | None = None
    problems: str | None = None
    float_columns: tuple[str, ...] = ()   # numeric columns pandas read as float64 in this file
    columns: tuple[str, ...] = ()         # the schema's columns this file has, in schema order
    selector: int | None = None           # its rows' ``_f`` in a part shared with other files

    def source(self) -> Source:
        """What a merge reads: the staged part, its rows in file order."""
        return Source(self.part, self.columns, self.float_columns, self.rows, self.selector)


def stage_file(path: str | Path, schema: Schema, folder: str | Path, index: int) -> StagedFile:
    """Check ``path`` with :func:`check_client_file` (a :class:`~riskwatch.tables.ValidationError`
    when the file as a whole is refused) and write its good rows to ``folder``."""
    checked = check_client_file(path, schema)
    return write_part(checked, Path(folder), index)


def write_part(checked: CheckedFile, folder: Path, index: int) -> StagedFile:
    frame = checked.frame
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"part-{index:06d}.parquet"
    frame.assign(_r=range(1, len(frame) + 1)).to_parquet(part, index=False)  # _r: the row's position
    floats = tuple(c for c in frame.columns if pd.api.types.is_float_dtype(frame[c]))
    return StagedFile(checked.kind, part, len(frame), checked.bad,
                      checked.problems() if checked.bad is not None else None, floats, tuple(frame.columns))
