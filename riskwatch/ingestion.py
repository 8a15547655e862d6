"""Ingestion: validate every CSV of the input folder, merge, de-duplicate, record.

A file that cannot be read as a whole (unreadable, empty, missing columns) is copied to the
quarantine folder with a ``.reason.txt`` beside it and the rest of the batch goes through. Bad rows
(no id, a value that is not a number, a target that is not 0/1) are written to
``<stem>.<hash12>.rows.csv`` there, with their line numbers and every reason, and the file's good
rows are ingested — or, with ``bad_rows="refuse_file"`` (config ``ingestion.bad_rows``), the whole
file is refused. Raw input files are never modified, moved or deleted.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from riskwatch import layout
from riskwatch.clock import now_iso
from riskwatch.config import Schema
from riskwatch.duck_ingest import Session, clean_files, count
from riskwatch.duck_merge import merge
from riskwatch.newdata import InputFile, atomic_copy, atomic_write_text, hash_input_files, read_record
from riskwatch.staging import Source, StagedFile, stage_file
from riskwatch.tables import LABELLED, LABELS, UNLABELLED, ValidationError


@dataclass
class IngestionResult:
    finaldata_path: Path
    batch_path: Path | None
    record_path: Path
    ingested: list[dict[str, Any]] = field(default_factory=list)     # new files ingested now
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # new files refused now
    rows_set_aside: list[dict[str, Any]] = field(default_factory=list)  # new files ingested without their bad rows
    n_files: int = 0          # valid files merged into finaldata
    n_rows_read: int = 0
    n_rows: int = 0           # rows in finaldata after de-duplication
    n_batch_rows: int = 0     # de-duplicated client rows of the new files (with and without outcomes)
    n_unlabelled_rows: int = 0  # of which without outcomes: scored, never trained on
    labels_path: Path | None = None  # outcomes arriving for clients scored earlier
    n_label_rows: int = 0

    @property
    def n_duplicates(self) -> int:
        return self.n_rows_read - self.n_rows

    @property
    def n_bad_rows(self) -> int:
        """Bad rows set aside from the new files whose good rows were ingested."""
        return sum(e["bad_rows"] for e in self.rows_set_aside)

    def quarantine_summary(self) -> list[dict[str, Any]]:
        """What this run put in the quarantine folder, one entry per file: ``scope`` "file" (refused)
        or "rows" (``rows`` bad rows set aside, the good ones ingested), the reason and the path."""
        return [{"name": e["name"], "sha256": e["sha256"], "scope": "file", "rows": e.get("bad_rows"),
                 "reason": e["reason"], "path": e["quarantined_as"]} for e in self.quarantined] + [
                {"name": e["name"], "sha256": e["sha256"], "scope": "rows", "rows": e["bad_rows"],
                 "reason": e["bad_rows_reason"], "path": e["bad_rows_as"]} for e in self.rows_set_aside]


def quarantine(file: InputFile, reason: str, quarantine_folder: Path, run_id: str,
               checked: StagedFile | None = None) -> dict[str, Any]:
    """Copy a refused file aside with a reason file (and its bad rows, if it was refused for them);
    the original stays where it was."""
    quarantine_folder.mkdir(parents=True, exist_ok=True)
    target = quarantine_folder / f"{file.path.stem}.{file.sha256[:12]}{file.path.suffix}"
    shutil.copy2(file.path, target)
    atomic_write_text(target.with_name(target.name + ".reason.txt"),
                      f"file: {file.path}\nsha256: {file.sha256}\nrun: {run_id}\nreason: {reason}\n")
    entry = {**file.as_dict(), "status": "quarantined", "reason": reason, "quarantined_as": str(target)}
    if checked is not None and checked.bad is not None:
        entry.update(bad_rows=len(checked.bad), bad_rows_as=str(set_rows_aside(file, checked.bad, quarantine_folder)))
    return entry


def set_rows_aside(file: InputFile, bad: pd.DataFrame, quarantine_folder: Path) -> Path:
    """Write a file's bad rows to ``<stem>.<hash12>.rows.csv`` in the quarantine folder: ``line`` (the
    line number in the file, the header being line 1), ``reasons`` (every problem of the row) and
    the row's fields as the file spells them."""
    quarantine_folder.mkdir(parents=True, exist_ok=True)
    target = quarantine_folder / f"{file.path.stem}.{file.sha256[:12]}.rows.csv"
    atomic_write_text(target, bad.to_csv(index=False, lineterminator="\n"))
    return target


class _LocalIngestion:
    """DuckDB on this machine: clean files staged by DuckDB, the rest by the full rules."""

    def __init__(self, session: Session):
        self.session = session

    def __enter__(self) -> _LocalIngestion:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def stager(self, paths: Sequence[Path], schema: Schema, folder: Path) -> Callable[[int, Path], StagedFile]:
        clean = clean_files(self.session, paths, schema, folder)
        return lambda index, path: clean.get(path) or stage_file(path, schema, folder, index)

    def merge(self, sources: Sequence[Source], schema: Schema, parquet: Path, csv: Path | None = None):
        return merge(self.session, sources, schema, parquet, csv)


class _DaskIngestion:
    """A Dask cluster (``compute.engine = "dask"``): every file checked by the full rules on the
    workers, one task per file, and the parts merged by a shuffle (:mod:`riskwatch.dask_ingest`)."""

    def __init__(self, compute: Mapping[str, Any]):
        from riskwatch.engine import open_engine

        self.engine = open_engine(compute)

    def __enter__(self) -> _DaskIngestion:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.engine.close()

    def stager(self, paths: Sequence[Path], schema: Schema, folder: Path) -> Callable[[int, Path], StagedFile]:
        from riskwatch.dask_ingest import stage_files

        staged = stage_files(self.engine.client, paths, schema, folder)

        def take(index: int, path: Path) -> StagedFile:
            if isinstance(staged[index], ValidationError):
                raise staged[index]
            return staged[index]
        return take

    def merge(self, sources: Sequence[Source], schema: Schema, parquet: Path, csv: Path | None = None):
        from riskwatch.dask_ingest import merge as merge_on_cluster

        return merge_on_cluster(self.engine.client, sources, schema, parquet, csv)


def _engine(compute: Mapping[str, Any] | None, session: Session) -> _LocalIngestion | _DaskIngestion:
    return _DaskIngestion(compute) if (compute or {}).get("engine") == "dask" else _LocalIngestion(session)


def ingest(input_folder: str | Path, output_folder: str | Path, quarantine_folder: str | Path,
           schema: Schema, run_id: str = "manual", batch_path: str | Path | None = None,
           redo_hashes: Sequence[str] = (), known_files: Sequence[dict[str, Any]] = (),
           labels_path: str | Path | None = None, bad_rows: str = "quarantine",
           compute: Mapping[str, Any] | None = None) -> IngestionResult:
    """Merge every valid labelled CSV of ``input_folder`` into ``finaldata.csv`` and update the record.

    A file is labelled (every feature and the target: training data), unlabelled (every feature, no
    target: clients to score, never trained on) or labels (only id and target: outcomes of clients
    scored earlier), see :func:`riskwatch.tables.file_kind`. Files whose hash the record does not
    know are this run's new files: their de-duplicated client rows, labelled or not, are written to
    ``batch_path`` (Parquet; the target is missing for unlabelled rows) — the batch the drift check
    and the risk list use; new label rows go to ``labels_path``.
    ``redo_hashes`` name files of an interrupted cycle, which count as new again.
    ``known_files`` are hashes the caller already computed (path, size, mtime_ns, sha256), so
    the runner's new-file check and ingestion do not both read every new file.
    ``bad_rows`` is "quarantine" (set bad rows aside, ingest the good ones) or "refuse_file".
    ``compute`` is the config's ``compute`` section: DuckDB's memory limit and threads. Clean files
    stream through DuckDB; any other file is checked by the full rules (:mod:`riskwatch.staging`).
    The merged table is also written as ``finaldata.parquet``.
    """
    redo = set(redo_hashes)
    output_folder, quarantine_folder = Path(output_folder), Path(quarantine_folder)
    output_folder.mkdir(parents=True, exist_ok=True)
    record_path = output_folder / layout.INGESTED_RECORD
    record = read_record(record_path)
    known = {entry["sha256"]: entry for entry in record}
    now = now_iso()

    result_files, quarantined, ingested, set_aside, to_read = [], [], [], [], []
    for file in hash_input_files(input_folder, [*record, *known_files]):
        previous = known.get(file.sha256)
        if previous is not None and previous.get("status") == "quarantined" and file.sha256 not in redo:
            continue  # same bytes were refused before; the reason file already says why
        if previous is not None and file.sha256 not in redo and previous.get("kind", LABELLED) != LABELLED:
            result_files.append({**previous, **file.as_dict()})  # scored or matched already: not read again
            continue
        to_read.append((file, previous))

    sources: dict[str, list[Source]] = {"all": [], LABELLED: [], UNLABELLED: [], LABELS: []}
    with Session(output_folder / layout.INGEST_SPILL, compute) as session, _engine(compute, session) as engine:
        stage = engine.stager([file.path for file, _ in to_read], schema, session.spill / "parts")
        for index, (file, previous) in enumerate(to_read):
            is_new = previous is None or file.sha256 in redo
            try:
                staged = stage(index, file.path)
                refused = staged.bad is not None and (bad_rows == "refuse_file" or staged.rows == 0)
                reason = staged.problems if refused else None
            except ValidationError as exc:
                staged, reason = None, str(exc)
            if reason is not None:
                entry = quarantine(file, reason, quarantine_folder, run_id, staged)
                entry.update(run_id=run_id, ingested_at=now)
                quarantined.append(entry)
                continue
            entry = {**file.as_dict(), "rows": staged.rows, "status": "ingested", "kind": staged.kind}
            if staged.bad is not None:  # set aside when the file is new; a known file's rows were already
                entry.update(bad_rows=len(staged.bad), bad_rows_reason=staged.problems,
                             bad_rows_as=str(set_rows_aside(file, staged.bad, quarantine_folder)) if is_new
                             else previous.get("bad_rows_as"))
            source = staged.source()
            if staged.kind == LABELLED:
                sources["all"].append(source)
            if is_new:
                entry.update(run_id=run_id, ingested_at=now)
                sources[staged.kind].append(source)
                ingested.append(entry)
                if staged.bad is not None:
                    set_aside.append(entry)
            else:
                entry.update(run_id=previous.get("run_id"), ingested_at=previous.get("ingested_at"))
            result_files.append(entry)

        n_files, n_rows_read = len(sources["all"]), sum(s.rows for s in sources["all"])
        finaldata_parquet = output_folder / layout.FINALDATA_PARQUET
        finaldata_path = output_folder / layout.FINALDATA
        columns, dtypes = engine.merge(sources["all"], schema, finaldata_parquet, finaldata_path)
        n_rows = count(session, finaldata_parquet)
        os.utime(finaldata_parquet)  # the copy is as new as the CSV (see tables.read_finaldata)

        batch_written, n_batch_rows, n_unlabelled = None, 0, 0
        new_parts = sources[LABELLED] + sources[UNLABELLED]
        if new_parts and batch_path is not None:
            batch_written = Path(batch_path)
            if n_files and len(sources[LABELLED]) == n_files and not sources[UNLABELLED]:
                atomic_copy(finaldata_parquet, batch_written)  # the batch is finaldata
                n_batch_rows = n_rows
            else:
                columns, _ = engine.merge(new_parts, schema, batch_written)  # labelled files first, as ever
                n_batch_rows = count(session, batch_written)
                n_unlabelled = (count(session, batch_written, f"WHERE \"{schema.target}\" IS NULL")
                                if schema.target in columns else n_batch_rows)
        labels_written, n_label_rows = None, 0
        if sources[LABELS] and labels_path is not None:
            labels_written = Path(labels_path)
            engine.merge(sources[LABELS], schema, labels_written)
            n_label_rows = count(session, labels_written)

    # Keep entries for files no longer in the folder: the record is history, and a file that
    # comes back under another name must still be recognised.
    present = {e["sha256"] for e in result_files} | {e["sha256"] for e in quarantined}
    history = [e for e in record if e["sha256"] not in present]
    new_record = history + result_files + quarantined
    finaldata_info = {"sha256": [e["sha256"] for e in result_files if e.get("kind", LABELLED) == LABELLED],
                      "rows": n_rows, "written_at": now}
    atomic_write_text(record_path, json.dumps({"files": new_record, "finaldata": finaldata_info},
                                              indent=1) + "\n")
    # The baseline's record: one ingested file name per line.
    atomic_write_text(output_folder / layout.INGESTED_LIST,
                      "".join(f"{e['name']}\n" for e in new_record if e.get("status") == "ingested"))

    return IngestionResult(
        finaldata_path=finaldata_path, batch_path=batch_written, record_path=record_path,
        ingested=ingested, quarantined=quarantined, rows_set_aside=set_aside, n_files=n_files,
        n_rows_read=n_rows_read, n_rows=n_rows, n_batch_rows=n_batch_rows, n_unlabelled_rows=n_unlabelled,
        labels_path=labels_written, n_label_rows=n_label_rows,
    )


