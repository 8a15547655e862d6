"""riskwatch.duck_merge: the merge finds repeated rows by hash but drops only exact repeats, keeps
file order across parts, row groups, hash buckets and passes, and says when the Parquet file cannot be written."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import riskwatch.duck_ingest as duck_ingest
import riskwatch.duck_merge as duck_merge
from riskwatch.ingestion import ingest
from test_duck_ingest import FILES, SCHEMA, reference, write

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))


def test_rows_sharing_a_hash_are_compared_exactly_before_any_is_dropped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(duck_merge, "row_hash", lambda names: "CAST(7 AS UBIGINT)")  # every row collides
    folder = write(tmp_path / "in", FILES)
    result = ingest(folder, tmp_path / "out", tmp_path / "q", SCHEMA, batch_path=tmp_path / "batch.parquet")
    assert result.finaldata_path.read_bytes() == reference(folder, SCHEMA)[0]


def test_hash_buckets_candidate_passes_and_row_groups_shared_by_files_keep_file_order(tmp_path: Path, monkeypatch) -> None:
    from scale import make_ingestion_data

    monkeypatch.setattr(duck_merge, "BUCKET_ROWS", 100_000)  # several passes over the hashes
    monkeypatch.setattr(duck_merge, "CANDIDATE_ROWS", 10_000)  # and over the rows compared exactly
    monkeypatch.setattr(duck_ingest, "GROUP_BYTES", 10_000_000)  # the three files staged in one part
    folder = tmp_path / "in"
    folder.mkdir()
    make_ingestion_data(folder, 450_000, 3)  # 150,000 rows a file: row groups span two files
    result = ingest(folder, tmp_path / "out", tmp_path / "q", SCHEMA, batch_path=tmp_path / "batch.parquet")
    expected, _, final = reference(folder, SCHEMA)
    assert len(final) < 450_000  # the generator repeats rows across files
    assert result.finaldata_path.read_bytes() == expected
    parquet = pd.read_parquet(tmp_path / "out" / "finaldata.parquet")
    pd.testing.assert_frame_equal(parquet.astype({"corporation": object}), final.astype({"corporation": object}),
                                  check_dtype=False)


def test_a_parquet_file_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    schema = pa.schema([("x", pa.int64())])
    (tmp_path / "not-a-folder").write_text("")
    writer = duck_merge._ParquetOnItsThread(tmp_path / "not-a-folder" / "out.parquet", schema)
    with pytest.raises(OSError):
        for _ in range(20):  # the writer's failure reaches the producer, which never blocks
            writer.put(pa.record_batch([pa.array([1, 2, 3])], schema=schema))
        writer.close()
    with pytest.raises(OSError):
        writer.close()


def test_a_stream_that_fails_leaves_no_parquet_file(tmp_path: Path) -> None:
    schema = pa.schema([("x", pa.int64())])
    with pytest.raises(ValueError, match="the producer failed"):
        with duck_merge._ParquetOnItsThread(tmp_path / "out.parquet", schema) as writer:
            writer.put(pa.record_batch([pa.array([1, 2, 3])], schema=schema))
            raise ValueError("the producer failed")
    assert not list(tmp_path.iterdir())  # neither the file nor its temp file
