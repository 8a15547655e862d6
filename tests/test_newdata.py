"""riskwatch.newdata: content hashes, the hash cache and new-file detection."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from riskwatch.newdata import (
    CHUNK,
    InputFile,
    atomic_write_text,
    detect_new_files,
    file_sha256,
    hash_input_files,
    list_input_files,
    read_record,
)
from unit_helpers import SCHEMA, write_rows

ROWS_A = [["aaaa", 10, 100, 3, 0], ["bbbb", 20, 200, 4, 1]]
ROWS_B = [["cccc", 30, 300, 5, 0], ["dddd", 40, 400, 6, 1]]


def write_record(record_path: Path, files: list[InputFile], status: str = "ingested") -> None:
    """A record like the one ingestion writes: one entry per file, with hash, size and mtime."""
    entries = [{**f.as_dict(), "status": status} for f in files]
    record_path.parent.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps({"files": entries}))


def set_mtime(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inbox = tmp_path / "in"
    write_rows(inbox / "a.csv", ROWS_A)
    write_rows(inbox / "b.csv", ROWS_B)
    return inbox


# ---- hashing -------------------------------------------------------------------------------

def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    small = tmp_path / "small.bin"
    small.write_bytes(b"corporation,exited\nabcd,1\n")
    assert file_sha256(small) == hashlib.sha256(small.read_bytes()).hexdigest()


def test_file_sha256_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    data = os.urandom(1024) * (2 * CHUNK // 1024) + b"tail"  # two full chunks plus a partial one
    big.write_bytes(data)
    assert file_sha256(big) == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(big)) == file_sha256(big)


def test_empty_file_hash(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert file_sha256(empty) == hashlib.sha256(b"").hexdigest()


# ---- listing -------------------------------------------------------------------------------

def test_list_input_files_only_visible_csv_files_sorted(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    for name in ("b.csv", "a.CSV", ".hidden.csv", "notes.txt", "c.csv.bak"):
        write_rows(inbox / name, ROWS_A)
    (inbox / "sub.csv").mkdir()  # a folder named like a CSV is not a file
    write_rows(inbox / "sub.csv" / "inner.csv", ROWS_A)
    assert [p.name for p in list_input_files(inbox)] == ["a.CSV", "b.csv"]


def test_list_input_files_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list_input_files(tmp_path / "absent") == []
    assert hash_input_files(tmp_path / "absent") == []


def test_hash_input_files_describes_each_file(folder: Path) -> None:
    files = hash_input_files(folder)
    assert [f.name for f in files] == ["a.csv", "b.csv"]
    for f in files:
        stat = f.path.stat()
        assert f.path.is_absolute()
        assert f.sha256 == hashlib.sha256(f.path.read_bytes()).hexdigest()
        assert (f.size, f.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
        assert f.as_dict() == {"name": f.name, "path": str(f.path), "sha256": f.sha256,
                               "size": f.size, "mtime_ns": f.mtime_ns}


# ---- the record ----------------------------------------------------------------------------

def test_read_record_absent_means_nothing_ingested(tmp_path: Path) -> None:
    assert read_record(tmp_path / "ingestedfiles.json") == []


def test_read_record_returns_the_file_entries(tmp_path: Path) -> None:
    path = tmp_path / "ingestedfiles.json"
    path.write_text(json.dumps({"files": [{"name": "a.csv", "sha256": "x"}], "finaldata": {}}))
    assert read_record(path) == [{"name": "a.csv", "sha256": "x"}]


def test_everything_is_new_without_a_record(folder: Path, tmp_path: Path) -> None:
    new = detect_new_files(folder, tmp_path / "out" / "ingestedfiles.json")
    assert [f.name for f in new] == ["a.csv", "b.csv"]


def test_nothing_is_new_after_recording(folder: Path, tmp_path: Path) -> None:
    record = tmp_path / "out" / "ingestedfiles.json"
    write_record(record, hash_input_files(folder))
    assert detect_new_files(folder, record) == []


def test_quarantined_content_is_not_new_either(folder: Path, tmp_path: Path) -> None:
    record = tmp_path / "out" / "ingestedfiles.json"
    write_record(record, hash_input_files(folder), status="quarantined")
    assert detect_new_files(folder, record) == []


def test_renamed_copy_of_an_ingested_file_is_not_new(folder: Path, tmp_path: Path) -> None:
    record = tmp_path / "out" / "ingestedfiles.json"
    write_record(record, hash_input_files(folder))
    (folder / "a.csv").rename(folder / "a_renamed.csv")
    (folder / "b_copy.csv").write_bytes((folder / "b.csv").read_bytes())
    assert [f.name for f in hash_input_files(folder)] == ["a_renamed.csv", "b.csv", "b_copy.csv"]
    assert detect_new_files(folder, record) == []


def test_edited_file_is_new(folder: Path, tmp_path: Path) -> None:
    record = tmp_path / "out" / "ingestedfiles.json"
    before = hash_input_files(folder)
    write_record(record, before)
    target = folder / "a.csv"
    old_mtime = target.stat().st_mtime_ns
    edited = target.read_bytes().replace(b"bbbb,20,200,4,1", b"bbbb,20,200,4,0")  # same size
    assert edited != target.read_bytes() and len(edited) == target.stat().st_size
    target.write_bytes(edited)
    set_mtime(target, old_mtime + 1_000_000_000)  # an edit made a second later
    new = detect_new_files(folder, record)
    assert [f.name for f in new] == ["a.csv"]
    assert new[0].sha256 == hashlib.sha256(edited).hexdigest()
    assert new[0].sha256 != before[0].sha256


def test_unchanged_file_reuses_the_recorded_hash(folder: Path, tmp_path: Path) -> None:
    """Same path, size and mtime -> the recorded hash is trusted, the file is not re-read."""
    files = hash_input_files(folder)
    record = [{**f.as_dict(), "sha256": "recorded-" + f.name} for f in files]
    again = hash_input_files(folder, record)
    assert [f.sha256 for f in again] == ["recorded-a.csv", "recorded-b.csv"]
    # without the record the real hashes come back
    assert [f.sha256 for f in hash_input_files(folder)] == [f.sha256 for f in files]


def test_hash_cache_does_not_hide_an_edit_that_changes_size(folder: Path, tmp_path: Path) -> None:
    record_path = tmp_path / "out" / "ingestedfiles.json"
    files = hash_input_files(folder)
    write_record(record_path, files)
    target = folder / "a.csv"
    old = files[0]
    with open(target, "ab") as handle:
        handle.write(b"eeee,50,500,7,1\n")
    set_mtime(target, old.mtime_ns)  # even with the mtime put back, the size gives it away
    assert target.stat().st_mtime_ns == old.mtime_ns and target.stat().st_size != old.size
    new = detect_new_files(folder, record_path)
    assert [f.name for f in new] == ["a.csv"]
    assert new[0].sha256 == hashlib.sha256(target.read_bytes()).hexdigest()


def test_hash_cache_does_not_hide_an_edit_with_a_new_mtime(folder: Path, tmp_path: Path) -> None:
    files = hash_input_files(folder)
    record = [{**f.as_dict(), "sha256": "stale"} for f in files]
    target = folder / "b.csv"
    set_mtime(target, files[1].mtime_ns + 5_000_000_000)
    again = hash_input_files(folder, record)
    assert again[0].sha256 == "stale"  # a.csv untouched: cached
    assert again[1].sha256 == hashlib.sha256(target.read_bytes()).hexdigest()


def test_record_entries_without_cache_keys_are_ignored(folder: Path) -> None:
    record = [{"name": "a.csv", "sha256": "x"}]  # no path/size/mtime: cannot be trusted as cache
    assert hash_input_files(folder, record)[0].sha256 == file_sha256(folder / "a.csv")


def test_redo_hashes_make_known_files_new_again(folder: Path, tmp_path: Path) -> None:
    record = tmp_path / "out" / "ingestedfiles.json"
    files = hash_input_files(folder)
    write_record(record, files)
    new = detect_new_files(folder, record, redo_hashes={files[1].sha256})
    assert [f.name for f in new] == ["b.csv"]


def test_detect_new_files_agrees_with_ingestion(folder: Path, tmp_path: Path) -> None:
    """The record the real ingestion writes is the one detection reads."""
    from riskwatch.ingestion import ingest

    out = tmp_path / "out"
    ingest(folder, out, tmp_path / "quarantine", SCHEMA)
    assert detect_new_files(folder, out / "ingestedfiles.json") == []
    write_rows(folder / "c.csv", [["ffff", 1, 2, 3, 0]])
    assert [f.name for f in detect_new_files(folder, out / "ingestedfiles.json")] == ["c.csv"]


# ---- atomic writes -------------------------------------------------------------------------

def test_atomic_write_text_creates_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "file.txt"
    atomic_write_text(target, "one\n")
    assert target.read_text() == "one\n"
    atomic_write_text(target, "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]
