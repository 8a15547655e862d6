"""riskwatch.duck_ingest and riskwatch.staging: DuckDB ingests exactly what the full pandas rules
would — the same bytes in finaldata.csv, the same rows set aside — and vouches only for files it
reads the way pandas does; everything else goes through the rules file by file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskwatch.config import Schema
from riskwatch.duck_ingest import Session, clean_files
from riskwatch.ingestion import ingest
from riskwatch.newdata import hash_input_files
from riskwatch.tables import LABELLED, ValidationError, check_client_file

HEADER = "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n"
SCHEMA = Schema("corporation", ("lastmonth_activity", "lastyear_activity", "number_of_employees"), (), "exited")
CAT_SCHEMA = Schema("corporation", ("lastmonth_activity", "lastyear_activity"), ("sector",), "exited")

FILES = {
    "a_clean.csv": HEADER + "aaa,1,10,5,0\nbbb,2,20,6,1\naaa,1,10,5,0\nccc,-3,0,7,1\n",
    "b_dupes.csv": HEADER + "bbb,2,20,6,1\nddd,4,40,8,0\n",
    "c_missing.csv": HEADER + "eee,,50,9,0\nfff,6,NA,10,1\n",          # missing values: float columns
    "d_empty_int.csv": HEADER + "ggg,7,70,,0\n",                         # an empty integer: float, fast
    "e_decimals.csv": HEADER + "hhh,5.0,1e3,12,1\niii,1.,2,3,0\n",       # floats pandas's way
    "f_lenient.csv": HEADER + "jjj,+5,007,1,0\nkkk,0x10,1_000,2,1\n",    # DuckDB would read 0x10 as 16
    "g_quoting.csv": HEADER + '"l,l",1,2,3,0\n"m""m",1,2,3,1\n#nn,1,2,3,0\n"o\ro",4,5,6,1\n',
    "h_text_target.csv": HEADER + "ppp,1,2,3,yes\nqqq,1,2,3,no\n",
    "i_bad_rows.csv": HEADER + "rrr,1,2,3,0\n,1,2,3,1\nsss,x,2,3,0\nttt,1,2,3,7\n",
    "j_spaces.csv": HEADER + " uuu,1,2,3,0\nvvv, 1,2 ,3,1\n",
    "k_unlabelled.csv": "corporation,lastmonth_activity,lastyear_activity,number_of_employees\nwww,1,2,3\n",
}


CAT_HEADER = "corporation,lastmonth_activity,lastyear_activity,sector,exited\n"
CAT_FILES = {"a.csv": CAT_HEADER + "a,1,2,retail,0\nb,1,2,,1\n",
             "b.csv": CAT_HEADER + "c,1,2,NA,0\nd,1,2, media,1\na,1,2,retail,0\n"}


def reference(folder: Path, schema: Schema) -> tuple[bytes, dict[str, pd.DataFrame], pd.DataFrame]:
    """What ingestion wrote before DuckDB: every labelled file checked by pandas, concatenated,
    de-duplicated by pandas, written by pandas."""
    frames, bad = [], {}
    for file in hash_input_files(folder, []):
        try:
            checked = check_client_file(file.path, schema)
        except ValidationError:
            continue
        if checked.bad is not None:
            bad[file.name] = checked.bad
        if checked.kind == LABELLED and len(checked.frame):
            frames.append(checked.frame)
    final = pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)
    return final.to_csv(index=False, lineterminator="\n").encode(), bad, final


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode())
    return folder


@pytest.mark.parametrize("names", [list(FILES), ["a_clean.csv", "b_dupes.csv", "d_empty_int.csv"],
                                   ["a_clean.csv", "e_decimals.csv"], ["g_quoting.csv", "a_clean.csv"],
                                   ["f_lenient.csv", "j_spaces.csv", "b_dupes.csv"]])
def test_finaldata_is_byte_for_byte_what_pandas_wrote(tmp_path: Path, names: list[str]) -> None:
    folder = write(tmp_path / "in", {n: FILES[n] for n in names})
    expected, bad, _ = reference(folder, SCHEMA)
    result = ingest(folder, tmp_path / "out", tmp_path / "q", SCHEMA, batch_path=tmp_path / "batch.parquet")
    assert result.finaldata_path.read_bytes() == expected
    for entry in result.rows_set_aside:
        set_aside = pd.read_csv(entry["bad_rows_as"], dtype=str, keep_default_na=False)
        assert list(set_aside["line"].astype(int)) == list(bad[entry["name"]]["line"])
    assert {e["name"] for e in result.rows_set_aside} == {n for n in bad if n in names} - {"h_text_target.csv"}


def test_the_parquet_copy_holds_the_same_rows_with_pandas_dtypes(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", FILES)
    result = ingest(folder, tmp_path / "out", tmp_path / "q", SCHEMA, batch_path=tmp_path / "batch.parquet")
    _, _, expected = reference(folder, SCHEMA)
    from_parquet = pd.read_parquet(tmp_path / "out" / "finaldata.parquet")
    assert from_parquet["lastmonth_activity"].dtype == "float64"   # some files hold decimals or blanks
    pd.testing.assert_frame_equal(from_parquet, expected)          # dtypes included
    batch = pd.read_parquet(tmp_path / "batch.parquet")
    assert result.n_batch_rows == len(batch) and result.n_unlabelled_rows == 1  # www has no outcome yet
    assert batch["exited"].isna().sum() == 1


def test_duckdb_vouches_only_for_files_it_reads_as_pandas_does(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", FILES)
    with Session(tmp_path / "spill") as session:
        clean = clean_files(session, sorted(folder.glob("*.csv")), SCHEMA, tmp_path / "spill" / "parts")
    assert sorted(p.name for p in clean) == ["a_clean.csv", "b_dupes.csv", "d_empty_int.csv", "g_quoting.csv",
                                             "k_unlabelled.csv"]
    assert clean[folder / "d_empty_int.csv"].float_columns == ("number_of_employees",)
    assert clean[folder / "a_clean.csv"].rows == 4
    assert not (tmp_path / "spill").exists()  # the spill folder goes with the session


def test_one_unreadable_file_does_not_spoil_its_group(tmp_path: Path) -> None:
    """Files with one header are read by one query; a ragged file makes DuckDB refuse the query, so
    each file is tried alone: the others are still vouched for, and the bytes are pandas' bytes."""
    files = {"a_clean.csv": FILES["a_clean.csv"], "b_ragged.csv": HEADER + "zzz,1,2,3,0,9\nyyy,1,2,3,1\n",
             "c_dupes.csv": FILES["b_dupes.csv"]}
    folder = write(tmp_path / "in", files)
    with Session(tmp_path / "spill") as session:
        clean = clean_files(session, sorted(folder.glob("*.csv")), SCHEMA, tmp_path / "spill" / "parts")
        assert sorted(p.name for p in clean) == ["a_clean.csv", "c_dupes.csv"]
        assert clean[folder / "a_clean.csv"].part != clean[folder / "c_dupes.csv"].part
    result = ingest(folder, tmp_path / "out", tmp_path / "q", SCHEMA)
    assert result.finaldata_path.read_bytes() == reference(folder, SCHEMA)[0]


def test_files_staged_in_several_groups_merge_in_file_order(tmp_path: Path, monkeypatch) -> None:
    import riskwatch.duck_ingest as duck_ingest

    monkeypatch.setattr(duck_ingest, "GROUP_BYTES", 40)  # about one file per query
    folder = write(tmp_path / "in", FILES)
    with Session(tmp_path / "spill") as session:
        clean = clean_files(session, sorted(folder.glob("*.csv")), SCHEMA, tmp_path / "spill" / "parts")
        assert len({staged.part for staged in clean.values()}) > 1
    result = ingest(folder, tmp_path / "out", tmp_path / "q", SCHEMA)
    assert result.finaldata_path.read_bytes() == reference(folder, SCHEMA)[0]


def test_categorical_missing_words_are_left_to_pandas(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", CAT_FILES)
    with Session(tmp_path / "spill") as session:
        assert [p.name for p in clean_files(session, sorted(folder.glob("*.csv")), CAT_SCHEMA, tmp_path / "spill" / "parts")] == ["a.csv"]
    expected, _, _ = reference(folder, CAT_SCHEMA)
    result = ingest(folder, tmp_path / "out", tmp_path / "q", CAT_SCHEMA)
    assert result.finaldata_path.read_bytes() == expected


def test_duckdb_keeps_to_its_memory_limit_and_threads(tmp_path: Path) -> None:
    with Session(tmp_path / "spill", {"memory_limit": "300MB", "threads": 1}) as session:
        limit = session.run("SELECT current_setting('memory_limit')")[0][0]
        threads = session.run("SELECT current_setting('threads')")[0][0]
        temp = session.run("SELECT current_setting('temp_directory')")[0][0]
    assert limit.replace(" ", "") in ("286.1MiB", "300.0MB", "286.0MiB") and int(threads) == 1
    assert Path(temp) == tmp_path / "spill"


def test_no_labelled_file_gives_an_empty_finaldata_with_the_header(tmp_path: Path) -> None:
    folder = write(tmp_path / "in", {"k_unlabelled.csv": FILES["k_unlabelled.csv"]})
    result = ingest(folder, tmp_path / "out", tmp_path / "q", SCHEMA, batch_path=tmp_path / "batch.parquet")
    assert result.finaldata_path.read_text() == HEADER
    assert result.n_rows == 0 and result.n_batch_rows == 1 and result.n_unlabelled_rows == 1


def test_later_stages_read_the_parquet_copy_unless_the_csv_was_replaced(tmp_path: Path) -> None:
    import os

    from riskwatch.tables import read_finaldata

    folder = write(tmp_path / "in", {n: FILES[n] for n in ("a_clean.csv", "b_dupes.csv")})
    result = ingest(folder, tmp_path / "out", tmp_path / "q", SCHEMA)
    parquet = tmp_path / "out" / "finaldata.parquet"
    assert parquet.stat().st_mtime_ns >= result.finaldata_path.stat().st_mtime_ns
    some = read_finaldata(result.finaldata_path, SCHEMA, columns=["corporation", "exited"])
    assert list(some.columns) == ["corporation", "exited"] and len(some) == 4
    pd.testing.assert_frame_equal(read_finaldata(result.finaldata_path, SCHEMA), reference(folder, SCHEMA)[2])
    result.finaldata_path.write_text(HEADER + "zzz,1,2,3,1\n")   # an operator replaces the CSV by hand
    later = parquet.stat().st_mtime_ns + 1_000_000
    os.utime(result.finaldata_path, ns=(later, later))
    assert list(read_finaldata(result.finaldata_path, SCHEMA)["corporation"]) == ["zzz"]


@pytest.mark.integration
@pytest.mark.parametrize("schema, files", [(SCHEMA, FILES), (CAT_SCHEMA, CAT_FILES)], ids=["numeric", "categorical"])
def test_the_ingestion_stage_on_a_dask_cluster_writes_the_same_files(tmp_path: Path, schema: Schema,
                                                                     files: dict[str, str]) -> None:
    folder = write(tmp_path / "in", files)
    local = ingest(folder, tmp_path / "local", tmp_path / "q1", schema, batch_path=tmp_path / "b1.parquet")
    compute = {"engine": "dask", "dask": {"n_workers": 2, "threads_per_worker": 1, "memory_limit": "600MB"}}
    on_dask = ingest(folder, tmp_path / "dask", tmp_path / "q2", schema, batch_path=tmp_path / "b2.parquet",
                     compute=compute)
    assert on_dask.finaldata_path.read_bytes() == local.finaldata_path.read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask" / "finaldata.parquet"),
                                  pd.read_parquet(tmp_path / "local" / "finaldata.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "b2.parquet"), pd.read_parquet(tmp_path / "b1.parquet"))
    assert [e["name"] for e in on_dask.quarantined] == [e["name"] for e in local.quarantined]
    assert [e["bad_rows"] for e in on_dask.rows_set_aside] == [e["bad_rows"] for e in local.rows_set_aside]
    assert (on_dask.n_rows, on_dask.n_batch_rows, on_dask.n_unlabelled_rows) == \
        (local.n_rows, local.n_batch_rows, local.n_unlabelled_rows)
