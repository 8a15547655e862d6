"""Find input files that are new *by content*, with the standard library only.

A cron tick calls :func:`detect_new_files` before anything heavy is imported, so a tick with no
new data costs milliseconds. Files are hashed in chunks (SHA-256); the record remembers each
file's size and mtime so an unchanged file is not re-hashed on every tick.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

CHUNK = 1 << 20


@dataclass(frozen=True)
class InputFile:
    path: Path
    sha256: str
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.path.name

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256,
                "size": self.size, "mtime_ns": self.mtime_ns}


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks so memory stays flat for big files."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_record(record_path: str | Path) -> list[dict[str, Any]]:
    """Entries of the ingested-files record; an absent record means nothing was ingested yet."""
    try:
        data = json.loads(Path(record_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return list(data.get("files", []))


def list_input_files(input_folder: str | Path) -> list[Path]:
    """CSV files directly in ``input_folder``, sorted by name (hidden files ignored)."""
    folder = Path(input_folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() == ".csv" and not p.name.startswith("."))


def hash_input_files(input_folder: str | Path, record: list[dict[str, Any]] | None = None) -> list[InputFile]:
    """Every CSV in ``input_folder`` with its content hash, reusing hashes the record already has
    for the same path, size and mtime."""
    known = {}
    for entry in record or []:
        if {"path", "size", "mtime_ns", "sha256"} <= entry.keys():
            known[(entry["path"], entry["size"], entry["mtime_ns"])] = entry["sha256"]
    found = []
    for path in list_input_files(input_folder):
        path, stat = path.resolve(), path.stat()
        found.append((path, stat, known.get((str(path), stat.st_size, stat.st_mtime_ns))))
    unknown = [path for path, _, sha in found if sha is None]
    hashed = dict(zip(unknown, _hash_all(unknown)))
    return [InputFile(path, sha or hashed[path], stat.st_size, stat.st_mtime_ns) for path, stat, sha in found]


def _hash_all(paths: list[Path]) -> list[str]:
    """The files' SHA-256, one file per core (at most 4) when there are several (hashlib lets go of
    the GIL)."""
    if len(paths) < 2:
        return [file_sha256(p) for p in paths]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(paths), os.cpu_count() or 1, 4)) as pool:
        return list(pool.map(file_sha256, paths))


def detect_new_files(input_folder: str | Path, record_path: str | Path,
                     redo_hashes: set[str] | frozenset[str] = frozenset()) -> list[InputFile]:
    """Input files whose content was never ingested (or quarantined) before.

    A renamed copy of an ingested file has a known hash and is not new; an edited file has a new
    hash and is. ``redo_hashes`` are files of an interrupted cycle, which count as new again.
    """
    record = read_record(record_path)
    seen = {entry["sha256"] for entry in record if "sha256" in entry}
    files = hash_input_files(input_folder, record)
    return [f for f in files if f.sha256 not in seen or f.sha256 in redo_hashes]


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` then rename ``tmp`` onto ``path``: readers see the old file or the new one,
    never half of it; a failed write (a full disk) leaves no temp file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` atomically (see :func:`atomic_write`), synced to disk."""
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    atomic_write(path, write)


def atomic_copy(source: str | Path, path: str | Path) -> None:
    """Copy ``source`` onto ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda tmp: shutil.copyfile(source, tmp))
