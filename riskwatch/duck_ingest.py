"""Ingestion's local engine: DuckDB checks clean files and merges every source in bounded memory.

DuckDB runs in-process with a memory limit (``compute.memory_limit``) and spills to a temporary
folder beside the output, so peak memory stays flat however large the drop.

- :func:`clean_files` vouches for files whose every value pandas would read exactly as DuckDB does:
  ids present without a leading space, numbers written as plain integers (or empty), targets "0"
  or "1", categories that are not missing-value words. Anything else — a bad row, a decimal, a
  text target — is left to the full rules (:mod:`riskwatch.staging`), so what is quarantined and
  why never depends on the engine. Files with the same header are read by one query (runs of at
  most ``GROUP_BYTES``), so a drop of many small files costs few queries.
- The merge itself is :mod:`riskwatch.duck_merge`; :func:`pandas_csv` writes its CSV when a
  column is float, :func:`pandas_schema` gives its Parquet file pandas' dtypes and
  :func:`parquet_options` the writer's settings.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence

from riskwatch.compute_rules import compute_settings
from riskwatch.config import Schema
from riskwatch.staging import StagedFile
from riskwatch.tables import LABELLED, NA_TOKENS, UNLABELLED, ValidationError, file_kind

GROUP_BYTES = 36_000_000    # CSV bytes staged by one query: fewer queries, yet each file read in parallel
CSV_BUFFER = 2 * 1024 * 1024  # bytes of a file read at once: rows wait in memory to be written in order,
                              # a buffer's worth at most, not a file's (a longer line: the full rules read it)


class Session:
    """A DuckDB connection with its memory limit, threads and spill folder; a context manager."""

    def __init__(self, spill_folder: Path, compute: Mapping[str, Any] | None = None):
        import duckdb

        compute = compute_settings(dict(compute or {}))  # missing keys take their defaults
        self.spill = spill_folder
        self.spill.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(config={"memory_limit": str(compute["memory_limit"]),
                                          "temp_directory": str(self.spill), "preserve_insertion_order": True})
        self.run("SET enable_progress_bar = false")
        if compute["threads"]:
            self.run(f"SET threads = {int(compute['threads'])}")

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def run(self, sql: str) -> list[tuple]:
        """Run one statement to completion (DuckDB wants every result consumed) and return its rows."""
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.spill, ignore_errors=True)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _s(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def header_of(path: Path) -> tuple[str, ...] | None:
    """The file's column names (trimmed), or None when the first line is not a plain UTF-8 header."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            first = next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not first or first[0].startswith("\ufeff"):
        return None
    names = tuple(c.strip() for c in first)
    return names if len(set(names)) == len(names) and all(names) else None


def _read_csv_as_text(files: str, header: Sequence[str]) -> str:
    """``read_csv`` of ``files`` (a SQL list of paths) with every column as text, and ``filename``."""
    columns = "{" + ", ".join(f"{_s(c)}: 'VARCHAR'" for c in header) + "}"
    return (f"read_csv({files}, header = true, columns = {columns}, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', strict_mode = true, null_padding = false, filename = true, "
            f"buffer_size = {CSV_BUFFER})")


def clean_files(session: Session, paths: Sequence[Path], schema: Schema, folder: Path) -> dict[Path, StagedFile]:
    """The files among ``paths`` DuckDB can ingest as pandas would, staged typed in ``folder`` as
    :func:`riskwatch.staging.stage_file` stages the rest. Files with the same header are read by one
    query into one Parquet part (``_f``: the file, rows in file order); a group DuckDB cannot read
    as a whole is tried file by file."""
    clean: dict[Path, StagedFile] = {}
    folder.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[tuple[str, ...], str], list[Path]] = {}
    for path in paths:
        header = header_of(path)
        if header is None:
            continue
        try:
            kind = file_kind(list(header), schema)
        except ValidationError:
            continue
        if kind in (LABELLED, UNLABELLED):
            groups.setdefault((header, kind), []).append(path)
    for g, ((header, kind), members) in enumerate(_chunks(groups)):
        try:
            clean.update(_stage_group(session, members, header, kind, schema, folder / f"group-{g:06d}.parquet"))
        except Exception:  # noqa: BLE001 — one file DuckDB cannot read spoils the query: try each alone
            for j, path in enumerate(members):
                try:
                    clean.update(_stage_group(session, [path], header, kind, schema,
                                              folder / f"group-{g:06d}-{j:06d}.parquet"))
                except Exception:  # noqa: BLE001 — not a plain CSV to DuckDB: the full rules will say why
                    pass
    return clean


def _chunks(groups: Mapping[tuple, list[Path]]):
    """Each group's files in runs of at most GROUP_BYTES (at least one file per run)."""
    for key, members in groups.items():
        run, size = [], 0
        for path in members:
            length = path.stat().st_size
            if run and size + length > GROUP_BYTES:
                yield key, run
                run, size = [], 0
            run.append(path)
            size += length
        yield key, run


def _stage_group(session: Session, paths: Sequence[Path], header: Sequence[str], kind: str, schema: Schema,
                 part: Path) -> dict[Path, StagedFile]:
    """Read ``paths`` (one header) once as text and write their values typed to ``part``, with the
    file (``_f``, 1-based) and an ``_odd`` flag for rows pandas might read differently; the files
    with rows and no odd row, staged."""
    na = ", ".join(_s(t) for t in NA_TOKENS if t)
    spaced = "left({c}, 1) IN (' ', chr(9))"
    odd = [f"{_q(schema.id_column)} IS NULL OR " + spaced.format(c=_q(schema.id_column))]
    for c in map(_q, schema.numeric_features):
        odd.append(f"{c} IS NOT NULL AND {c} IS DISTINCT FROM CAST(TRY_CAST({c} AS BIGINT) AS VARCHAR)")
    for c in map(_q, schema.categorical_features):
        odd.append(f"{c} IN ({na}) OR " + spaced.format(c=c))
    typed = [_q(schema.id_column)] + [f"TRY_CAST({_q(c)} AS BIGINT) AS {_q(c)}" for c in schema.numeric_features]
    typed += [_q(c) for c in schema.categorical_features]
    if kind == LABELLED:
        odd.append(f"{_q(schema.target)} IS NULL OR {_q(schema.target)} NOT IN ('0', '1')")
        typed.append(f"TRY_CAST({_q(schema.target)} AS BIGINT) AS {_q(schema.target)}")
    files = "[" + ", ".join(_s(p) for p in paths) + "]"
    # A part is read a few times and thrown away: neither compressed nor given dictionaries (of ids,
    # one entry per row).
    try:  # the scan keeps file order, rows in order (preserve_insertion_order): a merge reads positions back
        session.run(f"COPY (SELECT list_position({files}, filename) AS _f, {', '.join(typed)}, "
                    f"({' OR '.join(f'coalesce({t}, false)' for t in odd)}) AS _odd "
                    f"FROM {_read_csv_as_text(files, header)}) TO {_s(part)} "
                    f"(FORMAT parquet, COMPRESSION uncompressed, DICTIONARY_SIZE_LIMIT 1)")
        nulls = [f"count(*) FILTER ({_q(c)} IS NULL)" for c in schema.numeric_features] or ["0"]
        found = session.run(f"SELECT _f, count(*), count(*) FILTER (_odd), {', '.join(nulls)} "
                            f"FROM read_parquet({_s(part)}) GROUP BY _f")
    except Exception:
        part.unlink(missing_ok=True)
        raise
    staged = {}
    columns = tuple(c for c in schema.columns if c in header)
    for f, rows, odd_rows, *empty in found:
        if rows and not odd_rows:
            floats = tuple(c for c, n in zip(schema.numeric_features, empty) if n)
            staged[paths[f - 1]] = StagedFile(kind, part, rows, float_columns=floats, columns=columns, selector=f)
    if not staged:
        part.unlink(missing_ok=True)
    return staged


def count(session: Session, parquet: Path, where: str = "") -> int:
    return session.run(f"SELECT count(*) FROM read_parquet({_s(parquet)}) {where}")[0][0]


def pandas_csv(session: Session, table: str, columns: Sequence[str], dtypes: Mapping[str, str], path: Path) -> None:
    """``table`` written by pandas' ``to_csv``, chunk by chunk."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        first = True
        for frame in _frames(session, table, columns, dtypes):
            frame.to_csv(handle, index=False, header=first, lineterminator="\n")
            first = False
        if first:  # no rows: the header alone, as pandas writes an empty frame
            handle.write(",".join(columns) + "\n")


def pandas_schema(columns: Sequence[str], dtypes: Mapping[str, str]):
    """The Arrow schema (with pandas' metadata) of a frame of ``columns`` typed ``dtypes``, where
    object columns hold text: from a one-row sample, since an empty object column has no type."""
    import pandas as pd
    import pyarrow as pa

    sample = {"string": "x", "object": "x", "float64": 0.0, "int64": 0}
    frame = pd.DataFrame({c: pd.Series([sample[dtypes[c]]], dtype=dtypes[c]) for c in columns})
    return pa.Schema.from_pandas(frame, preserve_index=False)


def parquet_options(columns: Sequence[str], id_column: str) -> dict[str, Any]:
    """The pyarrow writer's options for the merged table: dictionary pages and statistics for every
    column but the client id. Ids are unique by nature, so a dictionary of them is as long as the
    column (pyarrow builds it and then gives up) and their min/max prune nothing; leaving both out
    writes the file in about two thirds of the time, and smaller."""
    others = [c for c in columns if c != id_column]
    return {"use_dictionary": others, "write_statistics": others}


def as_dtypes(frame, columns: Sequence[str], dtypes: Mapping[str, str]):
    """``frame`` with the merged pandas dtypes (object columns left as read)."""
    return frame.astype({c: dtypes[c] for c in columns if dtypes[c] != "object"})


def _frames(session: Session, table: str, columns: Sequence[str], dtypes: Mapping[str, str], rows: int = 500_000):
    reader = session.con.sql(f"SELECT {', '.join(map(_q, columns))} FROM {table}").to_arrow_reader(rows)
    for batch in reader:
        yield as_dtypes(batch.to_pandas(), columns, dtypes)
