"""A table as partitions a Dask cluster reads itself, and the map/reduce the Dask engine is built on.

A partition is described, not shipped: a :class:`Part` names a Parquet file and a range of its row
groups (about ``compute.dask.blocksize`` bytes of data), or one CSV file read and validated by the
same rules as the local engine (:func:`riskwatch.tables.read_table`). Each worker reads its own
parts, so the driver never holds the table; the files must be reachable from the workers (the same
path on every machine of a real cluster). Results come back in part order, which is file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd
import pyarrow.parquet as pq

from riskwatch.config import Schema
from riskwatch.tables import categories_as_read, finaldata_copy, read_table, table_files


@dataclass(frozen=True)
class Part:
    """One partition: ``row_groups`` of the Parquet file at ``path``, or (``row_groups`` None) the
    whole CSV file at ``path``, validated by ``schema``."""

    path: str
    schema: Schema
    row_groups: tuple[int, ...] | None = None
    columns: tuple[str, ...] | None = None

    def read(self) -> pd.DataFrame:
        if self.row_groups is None:
            frame = read_table(self.path, self.schema)
            return frame[list(self.columns)] if self.columns is not None else frame
        return categories_as_read(pq.ParquetFile(self.path).read_row_groups(
            list(self.row_groups), columns=list(self.columns) if self.columns is not None else None
        ).to_pandas(), self.schema)


def parquet_parts(path: str | Path, schema: Schema, blocksize: int,
                  columns: Sequence[str] | None = None) -> list[Part]:
    """Consecutive row groups of ``path`` gathered into parts of about ``blocksize`` bytes of data
    (a row group is never split, so a part may be larger)."""
    metadata = pq.ParquetFile(path).metadata
    parts, current, size = [], [], 0
    for index in range(metadata.num_row_groups):
        current.append(index)
        size += metadata.row_group(index).total_byte_size
        if size >= blocksize:
            parts.append(current)
            current, size = [], 0
    if current or not parts:
        parts.append(current or [])
    cols = tuple(columns) if columns is not None else None
    return [Part(str(path), schema, tuple(groups), cols) for groups in parts]


def table_parts(path: str | Path, schema: Schema, blocksize: int,
                columns: Sequence[str] | None = None) -> list[Part]:
    """The parts of a table as :func:`riskwatch.tables.load_table` reads it: every CSV of a folder
    (one part per file, in name order), a Parquet file by row groups, or one CSV file."""
    files = table_files(path)
    if files[0].suffix == ".parquet":
        return parquet_parts(files[0], schema, blocksize, columns)
    return [Part(str(f), schema, None, tuple(columns) if columns is not None else None) for f in files]


def finaldata_parts(path: str | Path, schema: Schema, blocksize: int,
                    columns: Sequence[str] | None = None) -> list[Part]:
    """finaldata as :func:`riskwatch.tables.read_finaldata` chooses it: the Parquet copy ingestion
    writes beside the CSV when it is at least as new, by row groups; else the CSV in one part."""
    return table_parts(finaldata_copy(path) or path, schema, blocksize, columns)


def _apply(part: Part, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    return fn(part.read(), *args, **kwargs)


def map_parts(client: Any, fn: Callable[..., Any], parts: Sequence[Part], *args: Any, **kwargs: Any) -> list[Any]:
    """``fn(frame_of_part, *args, **kwargs)`` for every part, one task per part on the workers;
    the results in part order. Arguments that are futures (a broadcast model) are resolved on the
    workers; a task's frame is freed as soon as ``fn`` returns, so only results travel back."""
    return run_tasks(client, _apply, list(parts), fn=fn, args=args, kwargs=kwargs) if parts else []


def run_tasks(client: Any, task: Callable[..., Any], /, *iterables: Sequence[Any], **kwargs: Any) -> list[Any]:
    """``task`` over ``iterables`` (as ``map``, ``kwargs`` passed to every call), one task per item
    on the workers; the results in order, and no future left behind."""
    futures = client.map(task, *iterables, pure=False, **kwargs)
    try:
        return client.gather(futures)
    finally:
        client.cancel(futures)


def map_reduce_parts(client: Any, fn: Callable[..., Any], parts: Sequence[Part], merge: Callable[[Any, Any], Any],
                     *args: Any, **kwargs: Any) -> Any:
    """``fn`` on every part, its results merged pairwise in part order on the workers (each merge
    runs as soon as its two inputs exist, before more parts are read, so partial results never
    pile up in the workers' memory); the one merged result."""
    if not parts:
        raise ValueError("nothing to merge")
    futures = client.map(_apply, list(parts), fn=fn, args=args, kwargs=kwargs, pure=False)
    while len(futures) > 1:
        futures = [client.submit(merge, futures[i], futures[i + 1], pure=False, priority=1)
                   if i + 1 < len(futures) else futures[i] for i in range(0, len(futures), 2)]
    try:
        return futures[0].result()
    finally:
        client.cancel(futures)


def broadcast(client: Any, value: Any) -> Any:
    """``value`` (a fitted model) sent once to every worker; pass the future to :func:`map_parts`."""
    return client.scatter(value, broadcast=True, hash=False)
