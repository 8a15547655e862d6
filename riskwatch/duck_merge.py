"""Ingestion's local merge: the staged sources concatenated in order, exact duplicate rows dropped
(the first of each kept), written as Parquet — in bounded memory and without sorting the table.

Two steps:

1. :func:`drop_positions` — DuckDB finds the rows to drop, reading every part in one multi-file
   scan. Every row has a position ``_p`` (its source's place in the merge, then its row in the
   source's Parquet part). Each row's 64-bit hash is written once to a file; counting them, a
   bucket at a time, finds the hash values seen more than once; only the rows with those hashes
   are compared exactly (equal rows numbered by position), a pass of candidates at a time, and
   all but the first of each are returned. A hash shared by different rows only makes them
   candidates: nothing is dropped on a hash alone.
2. :func:`ordered_batches` — the sources are read back in merge order, row group by row group
   (a part shared by several files says which row groups hold a file through its ``_f``
   statistics), the dropped positions filtered out and the columns given the merged types.
   That one stream is written twice at once: pyarrow encodes the Parquet file on its own thread
   while :mod:`riskwatch.csv_text` formats the CSV from the same batches on two more.

Memory is one row group at a time plus the positions to drop (8 bytes per duplicate row), and
DuckDB's: a bucket of hashes to count, a bucket of candidates to compare, a CSV buffer to stage.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from riskwatch import csv_text
from riskwatch.config import Schema
from riskwatch.duck_ingest import Session, _q, _s, pandas_csv, pandas_schema, parquet_options
from riskwatch.newdata import atomic_write
from riskwatch.staging import Source

POSITION_STRIDE = 1 << 36   # rows per source in the position order: more than any one file holds
BUCKET_ROWS = 3_000_000     # rows whose hashes are counted in one pass (its table of counts fits the memory limit)
CANDIDATE_ROWS = 1_500_000  # rows sharing a hash compared in one pass (they are all held for the comparison)
SQL_TYPE = {"string": "VARCHAR", "object": "VARCHAR", "float64": "DOUBLE", "int64": "BIGINT"}


def merged_dtypes(sources: Sequence[Source], schema: Schema) -> tuple[list[str], dict[str, str]]:
    """The merged table's columns (schema order) and pandas dtypes: integer columns become float64
    where any source holds floats or blanks, as pandas' concat would make them."""
    present = set().union(*(s.columns for s in sources)) if sources else set(schema.columns)
    columns = [c for c in schema.columns if c in present]
    floats = set().union(*(s.float_columns for s in sources)) if sources else set()
    if schema.target in columns and any(schema.target not in s.columns for s in sources):
        floats.add(schema.target)   # clients without outcomes beside labelled ones: NaN targets
    return columns, {c: "string" if c == schema.id_column else "object" if c in schema.categorical_features
                     else "float64" if c in floats else "int64" for c in columns}


def merge(session: Session, sources: Sequence[Source], schema: Schema, parquet: Path,
          csv: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """Concatenate ``sources`` in order without exact duplicates (the first of each kept, in order)
    and write the result to ``parquet`` with pandas' dtypes (and to ``csv`` as pandas' ``to_csv``
    would, when given). Returns the columns and their pandas dtypes.

    The CSV is formatted from the same stream (:mod:`riskwatch.csv_text`) unless a column is float:
    then pandas writes it from the Parquet file afterwards."""
    columns, dtypes = merged_dtypes(sources, schema)
    arrow_schema = pandas_schema(columns, dtypes)
    drop = drop_positions(session, sources, columns, dtypes) if sources else np.zeros(0, dtype=np.int64)
    batches = ordered_batches(sources, columns, arrow_schema, drop)
    as_text = csv is not None and csv_text.can_write(arrow_schema)
    with _system_allocator(), _ParquetOnItsThread(parquet, arrow_schema,
                                                  parquet_options(columns, schema.id_column)) as writer:
        if as_text:
            atomic_write(csv, lambda tmp: _write_text(writer.passing(batches), columns, tmp))
        else:
            writer.write_all(batches)
    if csv is not None and not as_text:
        atomic_write(csv, lambda tmp: pandas_csv(session, f"read_parquet({_s(parquet)})", columns, dtypes, tmp))
    return columns, dtypes


@contextmanager
def _system_allocator() -> Iterator[None]:
    """pyarrow allocates from the C library's heap meanwhile. Its default pool (mimalloc) keeps
    what the formatting and writing threads free for reuse by the same thread: some 150 MB more
    at the peak of a 10M-row merge, and more when the machine is busy; the C heap gives it back
    as the batches go, at no cost in time."""
    import pyarrow as pa

    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


class _Abandoned(Exception):
    """The producer of a :class:`_ParquetOnItsThread` failed: its file is not kept."""


_ABANDON = object()


class _ParquetOnItsThread:
    """A pyarrow Parquet writer fed batches through a short queue and writing ``path`` on its own
    thread (it releases the GIL while encoding), so the Parquet file is encoded while the CSV is
    formatted from the same batches. The file appears whole (:func:`~riskwatch.newdata.atomic_write`)
    when the ``with`` block ends normally, and not at all when it ends by an exception. A failure
    to write is raised by the next :meth:`put` and by :meth:`close`."""

    def __init__(self, path: Path, arrow_schema: Any, options: Mapping[str, Any] | None = None):
        import queue
        import threading

        self.queue: Any = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.ended = False  # the end marker (keep or abandon) was taken from the queue
        self.thread = threading.Thread(target=self._write, args=(path, arrow_schema, options or {}), daemon=True)
        self.thread.start()

    def _take(self) -> Any:
        batch = self.queue.get()
        self.ended = batch is None or batch is _ABANDON
        return batch

    def _write(self, path: Path, arrow_schema: Any, options: Mapping[str, Any]) -> None:
        import pyarrow.parquet as pq

        def write(tmp: Path) -> None:
            with pq.ParquetWriter(tmp, arrow_schema, **options) as writer:
                while (batch := self._take()) is not None:
                    if batch is _ABANDON:
                        raise _Abandoned()
                    writer.write_batch(batch)
        try:
            atomic_write(path, write)
        except BaseException as exc:  # noqa: BLE001 — handed to the producer, which raises it
            self.error = exc
            while not self.ended:  # keep taking until the end marker, so the producer never blocks
                self._take()

    def put(self, batch: Any) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(batch)

    def passing(self, batches: Iterator[Any]) -> Iterator[Any]:
        """``batches`` as they are, each put to be written on its way through."""
        for batch in batches:
            self.put(batch)
            yield batch

    def write_all(self, batches: Iterator[Any]) -> None:
        for batch in batches:
            self.put(batch)

    def close(self, keep: bool = True) -> None:
        """Finish the file and raise what went wrong writing it, if anything; with ``keep`` false,
        leave no file and raise nothing (the producer's own error is the one to tell). Idempotent."""
        if self.thread.is_alive():
            self.queue.put(None if keep else _ABANDON)
            self.thread.join()
        if keep and self.error is not None:
            raise self.error

    def __enter__(self) -> _ParquetOnItsThread:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.close(keep=False)


def _write_text(batches: Iterator[Any], columns: Sequence[str], path: Path) -> None:
    with open(path, "wb") as handle:
        csv_text.write(batches, columns, handle)


def drop_positions(session: Session, sources: Sequence[Source], columns: Sequence[str],
                   dtypes: Mapping[str, str]) -> np.ndarray:
    """The sorted positions of the rows that repeat an earlier row exactly (see the module's docstring)."""
    names = ", ".join(map(_q, columns))
    rows = _positioned(sources, columns, dtypes)
    hashes = session.spill / "hashes.parquet"
    session.run("SET preserve_insertion_order = false")  # nothing here needs the scan's order: spill freely
    try:
        session.run("CREATE OR REPLACE TEMP TABLE _repeated (h UBIGINT, n BIGINT)")
        # Every row's hash written once to a file (8 bytes a row, on disk), then one count per distinct
        # hash, in buckets of at most BUCKET_ROWS rows, so the table of counts stays the same size
        # however large the drop (DuckDB would spill, but only up to its limit).
        session.run(f"COPY (SELECT {row_hash(names)} AS h FROM ({rows})) TO {_s(hashes)} "
                    f"(FORMAT parquet, COMPRESSION uncompressed)")
        buckets = max(1, -(-sum(s.rows for s in sources) // BUCKET_ROWS))
        for bucket in range(buckets):
            where = f"WHERE h % {buckets} = {bucket}" if buckets > 1 else ""
            session.run(f"INSERT INTO _repeated SELECT h, count(*) FROM read_parquet({_s(hashes)}) {where} "
                        f"GROUP BY h HAVING count(*) > 1")
        # The candidates compared exactly, at most about CANDIDATE_ROWS of them at a time.
        candidates = session.run("SELECT coalesce(sum(n), 0) FROM _repeated")[0][0]
        passes = max(1, -(-candidates // CANDIDATE_ROWS))
        found = [session.con.execute(
            f"SELECT _p FROM (SELECT _p, row_number() OVER (PARTITION BY {names} ORDER BY _p) AS k FROM ({rows}) "
            f"WHERE {row_hash(names)} IN (SELECT h FROM _repeated WHERE h % {passes} = {p})) WHERE k > 1"
        ).fetchnumpy()["_p"] for p in range(passes)]
    finally:
        session.run("DROP TABLE IF EXISTS _repeated")
        hashes.unlink(missing_ok=True)
        session.run("SET preserve_insertion_order = true")
    return np.sort(np.concatenate(found).astype(np.int64))


def row_hash(names: str) -> str:
    """The SQL of a row's 64-bit hash over ``names`` (equal rows, equal hashes; not the converse)."""
    return f"hash({names})"


def _positioned(sources: Sequence[Source], columns: Sequence[str], dtypes: Mapping[str, str]) -> str:
    """One scan of every part: the sources' rows in merged columns and types, each with its position
    ``_p`` (its place in the merge, then its row in its part); rows of a shared part that belong to
    no source (a file left to the full rules) are left out.

    One multi-file read, not a UNION of one read per part: DuckDB sets up every branch of a UNION
    at once, so its memory grew with the number of parts (by ~150 MB for 100 parts), and a drop of
    many files would outgrow the memory limit."""
    parts = list(dict.fromkeys(s.path for s in sources))
    index = {path: i for i, path in enumerate(parts)}
    places = ", ".join(f"({index[s.path]}, {s.selector or 0}, {place})" for place, s in enumerate(sources))
    shared = "coalesce(r._f, 0)" if any(s.selector is not None for s in sources) else "0"
    fields = ", ".join(f"CAST(r.{_q(c)} AS {SQL_TYPE[dtypes[c]]}) AS {_q(c)}" for c in columns)
    return (f"SELECT {fields}, m._place * {POSITION_STRIDE} + r.file_row_number AS _p "
            f"FROM read_parquet([{', '.join(_s(p) for p in parts)}], file_row_number = true, union_by_name = true) r "
            f"JOIN (VALUES {places}) m(_part, _selector, _place) ON r.file_index = m._part AND {shared} = m._selector")


def ordered_batches(sources: Sequence[Source], columns: Sequence[str], arrow_schema: Any,
                    drop: np.ndarray) -> Iterator[Any]:
    """The sources' rows in merge order as record batches of ``arrow_schema``, without the rows at
    the ``drop`` positions: one row group of a part read at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for place, source in enumerate(sources):
        part = pq.ParquetFile(source.path)
        starts = np.cumsum([0] + [part.metadata.row_group(g).num_rows for g in range(part.num_row_groups)])
        wanted = [c for c in columns if c in source.columns] + (["_f"] if source.selector is not None else [])
        for group in _row_groups_of(part, source.selector):
            table = part.read_row_group(group, columns=wanted)
            positions = place * POSITION_STRIDE + starts[group] + np.arange(table.num_rows, dtype=np.int64)
            keep = np.ones(table.num_rows, dtype=bool)
            if source.selector is not None:
                keep &= table.column("_f").to_numpy() == source.selector
            lo, hi = np.searchsorted(drop, [positions[0], positions[-1] + 1]) if table.num_rows else (0, 0)
            keep[drop[lo:hi] - positions[0]] = False
            table = table.filter(pa.array(keep))
            arrays = [table.column(c).cast(arrow_schema.field(c).type) if c in source.columns
                      else pa.nulls(table.num_rows, arrow_schema.field(c).type) for c in columns]
            yield from pa.Table.from_arrays(arrays, schema=arrow_schema).to_batches()


def _row_groups_of(part: Any, selector: int | None) -> list[int]:
    """The row groups of ``part`` that may hold rows whose ``_f`` is ``selector`` (all when None or
    when the part keeps no statistics)."""
    groups = range(part.num_row_groups)
    if selector is None:
        return list(groups)
    column = part.schema_arrow.get_field_index("_f")
    found = []
    for g in groups:
        stats = part.metadata.row_group(g).column(column).statistics
        if stats is None or not stats.has_min_max or stats.min <= selector <= stats.max:
            found.append(g)
    return found
