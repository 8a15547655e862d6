"""Ingestion's local engine: DuckDB checks clean files and merges every source in bounded memory.

DuckDB runs in-process with a memory limit (``compute.memory_limit``) and spills to a temporary
folder beside the output, so peak memory stays flat however large the drop.

- :func:`clean_files` vouches for files whose every value pandas would read exactly as DuckDB does:
  ids present without a leading space, numbers written as plain integers (or empty), targets "0"
  or "1", categories that are not missing-value words. Anything else — a bad row, a decimal, a
  text target — is left to the full rules (:mod:`riskwatch.staging`), so what is quarantined and
  why never depends on the engine. Files with the same header are read by one query (runs of at
  most ``GROUP_BYTES``), so a drop of many small files costs few queries.
- :func:`merge` concatenates the sources in file order (positions from Parquet's row numbers, so
  no row is numbered while reading), widens integer columns to float where pandas
  would, drops exact duplicate rows keeping the first, and writes the result as Parquet (with
  pandas' dtypes); :func:`write_csv` writes it as the CSV pandas' ``to_csv`` would.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence

from riskwatch.compute_rules import compute_settings
from riskwatch.config import Schema
from riskwatch.staging import Source, StagedFile
from riskwatch.tables import LABELLED, NA_TOKENS, UNLABELLED, ValidationError, file_kind

POSITION_STRIDE = 1 << 36   # rows per source in the position order: more than any one file holds
BUCKET_ROWS = 16_000_000    # rows per de-duplication pass (its hash table must fit the memory limit)
GROUP_BYTES = 36_000_000    # CSV bytes staged by one query: fewer queries, yet each file read in parallel


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
            f"quote = '\"', escape = '\"', strict_mode = true, null_padding = false, filename = true)")


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
    try:  # the scan keeps file order, rows in order (preserve_insertion_order): a merge reads positions back
        session.run(f"COPY (SELECT list_position({files}, filename) AS _f, {', '.join(typed)}, "
                    f"({' OR '.join(f'coalesce({t}, false)' for t in odd)}) AS _odd "
                    f"FROM {_read_csv_as_text(files, header)}) TO {_s(part)} (FORMAT parquet, COMPRESSION uncompressed)")
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


def merge(session: Session, sources: Sequence[Source], schema: Schema, parquet: Path) -> tuple[list[str], dict[str, str]]:
    """Concatenate ``sources`` in order without exact duplicates (the first of each kept, in order)
    and write the result to ``parquet`` (see :func:`write_parquet`). Returns the columns and their
    pandas dtypes."""
    columns, dtypes = merged_dtypes(sources, schema)
    sql_type = {"string": "VARCHAR", "object": "VARCHAR", "float64": "DOUBLE", "int64": "BIGINT"}
    names = ", ".join(map(_q, columns))
    selects = [_positioned(path, members, columns, sql_type, dtypes) for path, members in _by_part(sources).items()]
    # Positions are explicit (file order, then row in the file) and the result is ORDER BY them, so
    # DuckDB need not keep the scan's order — which lets it spill instead of failing.
    session.run("SET preserve_insertion_order = false")
    if not selects:
        query = "SELECT " + ", ".join(f"CAST(NULL AS {sql_type[dtypes[c]]}) AS {_q(c)}" for c in columns) + " LIMIT 0"
    else:
        # One aggregate over every row needs a hash table as large as the drop; hash buckets of at
        # most BUCKET_ROWS rows each keep it within the memory limit whatever the drop's size.
        rows = sum(s.rows for s in sources)
        buckets = max(1, -(-rows // BUCKET_ROWS))
        union = " UNION ALL ".join(selects)
        session.run(f"CREATE OR REPLACE TEMP TABLE _kept AS SELECT {names}, _p FROM ({union}) LIMIT 0")
        for bucket in range(buckets):
            where = f"WHERE hash({names}) % {buckets} = {bucket}" if buckets > 1 else ""
            session.run(f"INSERT INTO _kept SELECT {names}, min(_p) FROM (SELECT * FROM ({union}) {where}) "
                        f"GROUP BY ALL")
        query = f"SELECT {names} FROM _kept ORDER BY _p"
    write_parquet(session, query, columns, dtypes, parquet)
    session.run("DROP TABLE IF EXISTS _kept")
    session.run("SET preserve_insertion_order = true")
    return columns, dtypes


def _by_part(sources: Sequence[Source]) -> dict[Path, list[tuple[int, Source]]]:
    """The sources (with their place in the merge) grouped by the part that holds them."""
    parts: dict[Path, list[tuple[int, Source]]] = {}
    for i, source in enumerate(sources):
        parts.setdefault(source.path, []).append((i, source))
    return parts


def _positioned(path: Path, members: Sequence[tuple[int, Source]], columns: Sequence[str],
                sql_type: Mapping[str, str], dtypes: Mapping[str, str]) -> str:
    """One scan of a part: its sources' rows in merged columns, each with its position ``_p`` (its
    place in the merge, then its row in the part, which keeps file order)."""
    source = members[0][1]
    fields = [f"CAST({_q(c)} AS {sql_type[dtypes[c]]})" if c in source.columns
              else f"CAST(NULL AS {sql_type[dtypes[c]]})" for c in columns]
    if source.selector is None:
        place, where = str(members[0][0]), ""
    else:
        place = "CASE _f " + " ".join(f"WHEN {s.selector} THEN {i}" for i, s in members) + " END"
        where = f"WHERE _f IN ({', '.join(str(s.selector) for _, s in members)})"
    return (f"SELECT {', '.join(f'{f} AS {_q(c)}' for f, c in zip(fields, columns))}, "
            f"({place}) * {POSITION_STRIDE} + file_row_number AS _p "
            f"FROM read_parquet({_s(path)}, file_row_number = true) {where}")


def count(session: Session, parquet: Path, where: str = "") -> int:
    return session.run(f"SELECT count(*) FROM read_parquet({_s(parquet)}) {where}")[0][0]


def write_csv(session: Session, parquet: Path, columns: Sequence[str], dtypes: Mapping[str, str], path: Path) -> None:
    """The merged table (read from ``parquet``) as CSV, the bytes pandas' ``to_csv(index=False, lineterminator="\\n")`` writes:
    DuckDB writes it when every value is an integer or text that needs no quoting, pandas (chunk
    by chunk) otherwise."""
    tmp = path.with_name(f".{path.name}.tmp")
    table = f"read_parquet({_s(parquet)})"
    texts = [c for c in columns if dtypes[c] in ("string", "object")]
    plain = all(c.isidentifier() for c in columns) and "float64" not in dtypes.values()
    if plain and texts:  # DuckDB also quotes a carriage return and a leading '#', which pandas does not
        test = " OR ".join(f"contains({_q(c)}, chr(13)) OR starts_with({_q(c)}, '#')" for c in texts)
        plain = not session.run(f"SELECT coalesce(bool_or({test}), false) FROM {table}")[0][0]
    if plain:
        session.run(f"COPY (SELECT {', '.join(map(_q, columns))} FROM {table}) TO {_s(tmp)} "
                            f"(FORMAT csv, HEADER, DELIMITER ',', QUOTE '\"', NEW_LINE '\\n')")
    else:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            first = True
            for frame in _frames(session, table, columns, dtypes):
                frame.to_csv(handle, index=False, header=first, lineterminator="\n")
                first = False
            if first:  # no rows: the header alone, as pandas writes an empty frame
                handle.write(",".join(columns) + "\n")
    tmp.replace(path)


def write_parquet(session: Session, query: str, columns: Sequence[str], dtypes: Mapping[str, str], path: Path) -> None:
    """The rows of ``query`` as Parquet, written by DuckDB in parallel, carrying the pandas metadata that gives
    ``dtypes`` back to ``pd.read_parquet`` (the same dtypes pandas' own ``to_parquet`` records)."""
    metadata = pandas_schema(columns, dtypes).metadata[b"pandas"].decode()
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    session.run(f"COPY ({query}) TO {_s(tmp)} (FORMAT parquet, KV_METADATA {{pandas: {_s(metadata)}}})")
    tmp.replace(path)


def pandas_schema(columns: Sequence[str], dtypes: Mapping[str, str]):
    """The Arrow schema (with pandas' metadata) of a frame of ``columns`` typed ``dtypes``, where
    object columns hold text: from a one-row sample, since an empty object column has no type."""
    import pandas as pd
    import pyarrow as pa

    sample = {"string": "x", "object": "x", "float64": 0.0, "int64": 0}
    frame = pd.DataFrame({c: pd.Series([sample[dtypes[c]]], dtype=dtypes[c]) for c in columns})
    return pa.Schema.from_pandas(frame, preserve_index=False)


def as_dtypes(frame, columns: Sequence[str], dtypes: Mapping[str, str]):
    """``frame`` with the merged pandas dtypes (object columns left as read)."""
    return frame.astype({c: dtypes[c] for c in columns if dtypes[c] != "object"})


def _frames(session: Session, table: str, columns: Sequence[str], dtypes: Mapping[str, str], rows: int = 500_000):
    reader = session.con.sql(f"SELECT {', '.join(map(_q, columns))} FROM {table}").to_arrow_reader(rows)
    for batch in reader:
        yield as_dtypes(batch.to_pandas(), columns, dtypes)
