"""Ingestion's local merge: the staged sources concatenated in order, exact duplicate rows dropped
(the first of each kept), written as Parquet — in bounded memory and without sorting the table.

Two steps:

1. :func:`drop_positions` — DuckDB finds the rows to drop. Every row has a position ``_p`` (its
   source's place in the merge, then its row in the source's Parquet part). One hash aggregate of
   each row's 64-bit hash finds the hash values seen more than once; only the rows with those
   hashes are compared exactly (equal rows numbered by position) and all but the first of each
   are returned. A hash shared by different rows only makes them candidates: nothing is dropped
   on a hash alone.
2. :func:`ordered_batches` — the sources are read back in merge order, row group by row group
   (a part shared by several files says which row groups hold a file through its ``_f``
   statistics), the dropped positions filtered out and the columns given the merged types;
   DuckDB writes that stream as Parquet, keeping its order (``preserve_insertion_order``).

Memory is one row group at a time plus the positions to drop (8 bytes per duplicate row).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from riskwatch.config import Schema
from riskwatch.duck_ingest import Session, _q, _s, copy_csv, pandas_schema, plain_layout, write_csv, write_parquet
from riskwatch.staging import Source

POSITION_STRIDE = 1 << 36   # rows per source in the position order: more than any one file holds
BUCKET_ROWS = 6_000_000     # rows whose hashes are counted in one pass (its table of counts fits the memory limit)
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

    The rows stream once: pyarrow writes the Parquet file while DuckDB writes the CSV from the same
    batches, on the other core; pandas rewrites the CSV afterwards only when a value needs pandas'
    own quoting or a column is float (see :func:`~riskwatch.duck_ingest.plain_layout`)."""
    columns, dtypes = merged_dtypes(sources, schema)
    if not sources:
        empty = ", ".join(f"CAST(NULL AS {SQL_TYPE[dtypes[c]]}) AS {_q(c)}" for c in columns)
        write_parquet(session, f"SELECT {empty} LIMIT 0", columns, dtypes, parquet)
    else:
        drop = drop_positions(session, sources, columns, dtypes)
        arrow_schema = pandas_schema(columns, dtypes)
        texts = [c for c in columns if dtypes[c] in ("string", "object")]
        direct = csv is not None and plain_layout(columns, dtypes)
        tmp = parquet.with_name(f".{parquet.name}.tmp")
        parquet.parent.mkdir(parents=True, exist_ok=True)
        quoting = []  # set once a value is found that pandas would write otherwise than DuckDB
        writer = _ParquetOnItsThread(tmp, arrow_schema)
        try:
            def written() -> Iterator[Any]:
                for batch in ordered_batches(sources, columns, arrow_schema, drop):
                    writer.put(batch)
                    if direct and not quoting and _needs_pandas_quoting(batch, texts):
                        quoting.append(True)
                    yield batch
            if direct:
                csv_tmp = csv.with_name(f".{csv.name}.tmp")
                _copy_csv_of_stream(session, arrow_schema, written(), csv_tmp)
                if not quoting:
                    csv_tmp.replace(csv)
                    csv = None
                else:
                    csv_tmp.unlink(missing_ok=True)
            else:
                for _ in written():
                    pass
        finally:
            writer.close()
        tmp.replace(parquet)
    if csv is not None:
        write_csv(session, parquet, columns, dtypes, csv)
    return columns, dtypes


class _ParquetOnItsThread:
    """A pyarrow Parquet writer fed batches through a short queue and writing on its own thread (it
    releases the GIL while encoding), so the Parquet file is encoded while DuckDB writes the CSV.
    A failure to write is raised by the next :meth:`put` and by :meth:`close`."""

    def __init__(self, path: Path, arrow_schema: Any):
        import queue
        import threading

        self.queue: Any = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._write, args=(path, arrow_schema), daemon=True)
        self.thread.start()

    def _write(self, path: Path, arrow_schema: Any) -> None:
        import pyarrow.parquet as pq

        try:
            with pq.ParquetWriter(path, arrow_schema) as writer:
                while (batch := self.queue.get()) is not None:
                    writer.write_batch(batch)
        except BaseException as exc:  # noqa: BLE001 — handed to the producer, which raises it
            self.error = exc
            while self.queue.get() is not None:  # keep taking, so the producer never blocks
                pass

    def put(self, batch: Any) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(batch)

    def close(self) -> None:
        """Finish the file (idempotent) and raise what went wrong writing it, if anything."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error


def _copy_csv_of_stream(session: Session, arrow_schema: Any, batches: Iterator[Any], path: Path) -> None:
    """DuckDB's CSV of the record batches, in their order (``preserve_insertion_order``)."""
    import pyarrow as pa

    session.con.register("_ordered_stream", pa.RecordBatchReader.from_batches(arrow_schema, batches))
    try:
        copy_csv(session, "SELECT * FROM _ordered_stream", path)
    finally:
        session.con.unregister("_ordered_stream")


def _needs_pandas_quoting(batch: Any, texts: Sequence[str]) -> bool:
    """Whether a text value of ``batch`` holds a carriage return or starts with '#' (DuckDB quotes
    those, pandas does not)."""
    import pyarrow.compute as pc

    for name in texts:
        column = batch.column(name)
        if pc.any(pc.match_substring(column, "\r")).as_py() or pc.any(pc.starts_with(column, "#")).as_py():
            return True
    return False


def drop_positions(session: Session, sources: Sequence[Source], columns: Sequence[str],
                   dtypes: Mapping[str, str]) -> np.ndarray:
    """The sorted positions of the rows that repeat an earlier row exactly (see the module's docstring)."""
    names = ", ".join(map(_q, columns))
    union = " UNION ALL ".join(_positioned(path, members, columns, dtypes)
                               for path, members in _by_part(sources).items())
    session.run("SET preserve_insertion_order = false")  # nothing here needs the scan's order: spill freely
    try:
        session.run("CREATE OR REPLACE TEMP TABLE _repeated (h UBIGINT)")
        # One count per distinct hash; in buckets of at most BUCKET_ROWS rows, so the table of counts
        # stays the same size however large the drop (DuckDB would spill, but only up to its limit).
        buckets = max(1, -(-sum(s.rows for s in sources) // BUCKET_ROWS))
        for bucket in range(buckets):
            where = f"WHERE h % {buckets} = {bucket}" if buckets > 1 else ""
            session.run(f"INSERT INTO _repeated SELECT h FROM (SELECT {row_hash(names)} AS h FROM ({union})) {where} "
                        f"GROUP BY h HAVING count(*) > 1")
        found = session.con.execute(
            f"SELECT _p FROM (SELECT _p, row_number() OVER (PARTITION BY {names} ORDER BY _p) AS k FROM ({union}) "
            f"WHERE {row_hash(names)} IN (SELECT h FROM _repeated)) WHERE k > 1 ORDER BY _p").fetchnumpy()["_p"]
    finally:
        session.run("DROP TABLE IF EXISTS _repeated")
        session.run("SET preserve_insertion_order = true")
    return np.asarray(found, dtype=np.int64)


def row_hash(names: str) -> str:
    """The SQL of a row's 64-bit hash over ``names`` (equal rows, equal hashes; not the converse)."""
    return f"hash({names})"


def _by_part(sources: Sequence[Source]) -> dict[Path, list[tuple[int, Source]]]:
    """The sources (with their place in the merge) grouped by the part that holds them."""
    parts: dict[Path, list[tuple[int, Source]]] = {}
    for i, source in enumerate(sources):
        parts.setdefault(source.path, []).append((i, source))
    return parts


def _positioned(path: Path, members: Sequence[tuple[int, Source]], columns: Sequence[str],
                dtypes: Mapping[str, str]) -> str:
    """One scan of a part: its sources' rows in merged columns and types, each with its position
    ``_p`` (its place in the merge, then its row in the part)."""
    source = members[0][1]
    fields = [f"CAST({_q(c)} AS {SQL_TYPE[dtypes[c]]})" if c in source.columns
              else f"CAST(NULL AS {SQL_TYPE[dtypes[c]]})" for c in columns]
    if source.selector is None:
        place, where = str(members[0][0]), ""
    else:
        place = "CASE _f " + " ".join(f"WHEN {s.selector} THEN {i}" for i, s in members) + " END"
        where = f"WHERE _f IN ({', '.join(str(s.selector) for _, s in members)})"
    return (f"SELECT {', '.join(f'{f} AS {_q(c)}' for f, c in zip(fields, columns))}, "
            f"({place}) * {POSITION_STRIDE} + file_row_number AS _p "
            f"FROM read_parquet({_s(path)}, file_row_number = true) {where}")


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
