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

import pandas as pd

from riskwatch import layout
from riskwatch.clock import now_iso
from riskwatch.config import Schema
from riskwatch.newdata import InputFile, atomic_write_text, hash_input_files, read_record
from riskwatch.tables import LABELLED, LABELS, UNLABELLED, ValidationError, drop_duplicates_exact, read_client_file


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
    n_batch_rows: int = 0     # de-duplicated client rows of the new files (with and without outcomes)
    n_unlabelled_rows: int = 0  # of which without outcomes: scored, never trained on
    labels_path: Path | None = None  # outcomes arriving for clients scored earlier
    n_label_rows: int = 0

    @property
    def n_duplicates(self) -> int:
        return self.n_rows_read - self.n_rows


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
           redo_hashes: Sequence[str] = (), known_files: Sequence[dict[str, Any]] = (),
           labels_path: str | Path | None = None) -> IngestionResult:
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
    """
    redo = set(redo_hashes)
    output_folder, quarantine_folder = Path(output_folder), Path(quarantine_folder)
    output_folder.mkdir(parents=True, exist_ok=True)
    record_path = output_folder / layout.INGESTED_RECORD
    record = read_record(record_path)
    known = {entry["sha256"]: entry for entry in record}
    now = now_iso()

    frames, new_frames, result_files, quarantined, ingested = [], [], [], [], []
    new_unlabelled, new_labels = [], []
    for file in hash_input_files(input_folder, [*record, *known_files]):
        previous = known.get(file.sha256)
        is_new = previous is None or file.sha256 in redo
        if previous is not None and previous.get("status") == "quarantined" and file.sha256 not in redo:
            continue  # same bytes were refused before; the reason file already says why
        if not is_new and previous.get("kind", LABELLED) != LABELLED:
            result_files.append({**previous, **file.as_dict()})  # scored or matched already: not read again
            continue
        try:
            kind, frame = read_client_file(file.path, schema)
        except ValidationError as exc:
            entry = quarantine(file, str(exc), quarantine_folder, run_id)
            entry.update(run_id=run_id, ingested_at=now)
            quarantined.append(entry)
            continue
        entry = {**file.as_dict(), "rows": len(frame), "status": "ingested", "kind": kind}
        if kind == LABELLED:
            frames.append(frame)
        if is_new:
            entry.update(run_id=run_id, ingested_at=now)
            {LABELLED: new_frames, UNLABELLED: new_unlabelled, LABELS: new_labels}[kind].append(frame)
            ingested.append(entry)
        else:
            entry.update(run_id=previous.get("run_id"), ingested_at=previous.get("ingested_at"))
        result_files.append(entry)

    columns = list(schema.columns)
    n_files = len(frames)
    all_new = bool(frames) and len(new_frames) == n_files and not new_unlabelled
    if all_new:
        new_frames = []  # the batch will be finaldata itself; don't keep a second reference
    merged = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    del frames  # the merged copy is all we need; halves peak memory at scale
    final = drop_duplicates_exact(merged)
    finaldata_path = output_folder / layout.FINALDATA
    _atomic_csv(final, finaldata_path)

    batch_written = None
    if all_new:
        batch = final  # every file is new: the batch is finaldata, no second de-duplication
    else:
        parts = new_frames + new_unlabelled
        batch = drop_duplicates_exact(pd.concat(parts, ignore_index=True)) if parts else None
    del new_frames
    if batch is not None and batch_path is not None:
        batch_written = Path(batch_path)
        batch_written.parent.mkdir(parents=True, exist_ok=True)
        batch.to_parquet(batch_written, index=False)
    labels_written, n_label_rows = None, 0
    if new_labels and labels_path is not None:
        labels = drop_duplicates_exact(pd.concat(new_labels, ignore_index=True))
        labels_written, n_label_rows = Path(labels_path), len(labels)
        labels_written.parent.mkdir(parents=True, exist_ok=True)
        labels.to_parquet(labels_written, index=False)

    # Keep entries for files no longer in the folder: the record is history, and a file that
    # comes back under another name must still be recognised.
    present = {e["sha256"] for e in result_files} | {e["sha256"] for e in quarantined}
    history = [e for e in record if e["sha256"] not in present]
    new_record = history + result_files + quarantined
    finaldata_info = {"sha256": [e["sha256"] for e in result_files if e.get("kind", LABELLED) == LABELLED],
                      "rows": len(final), "written_at": now}
    atomic_write_text(record_path, json.dumps({"files": new_record, "finaldata": finaldata_info},
                                              indent=1) + "\n")
    # The baseline's record: one ingested file name per line.
    atomic_write_text(output_folder / layout.INGESTED_LIST,
                      "".join(f"{e['name']}\n" for e in new_record if e.get("status") == "ingested"))

    return IngestionResult(
        finaldata_path=finaldata_path, batch_path=batch_written, record_path=record_path,
        ingested=ingested, quarantined=quarantined, n_files=n_files,
        n_rows_read=len(merged), n_rows=len(final),
        n_batch_rows=0 if batch is None else len(batch),
        n_unlabelled_rows=0 if batch is None else len(batch) if schema.target not in batch
        else int(batch[schema.target].isna().sum()),
        labels_path=labels_written, n_label_rows=n_label_rows,
    )


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


