"""riskwatch.ingestion: validation, quarantine, merge/de-duplication, the record and the batch."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from riskwatch.ingestion import ingest
from riskwatch.newdata import file_sha256
from unit_helpers import COLUMNS, GOOD1, GOOD2, GOOD3, SCHEMA, as_rows, rows_set, snapshot, write_rows

@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    inbox = tmp_path / "in"
    write_rows(inbox / "good1.csv", GOOD1)
    write_rows(inbox / "good2.csv", GOOD2)
    write_rows(inbox / "bad_missing.csv", [r[:3] + r[4:] for r in GOOD1],
               header=["corporation", "lastmonth_activity", "lastyear_activity", "exited"])
    # every row is bad, so even row-level quarantine refuses the whole file
    write_rows(inbox / "bad_text.csv", [["iiii", 1, "lots", 2, 0], ["jjjj", 2, 30, 2, "maybe"]])
    (inbox / "empty.csv").write_bytes(b"")
    return {"in": inbox, "out": tmp_path / "ingesteddata", "q": tmp_path / "quarantine",
            "batch": tmp_path / "scratch" / "batch.parquet"}


def run(layout: dict[str, Path], run_id: str = "r1", **kwargs):
    return ingest(layout["in"], layout["out"], layout["q"], SCHEMA, run_id=run_id,
                  batch_path=layout["batch"], **kwargs)


# ---- one full ingest -----------------------------------------------------------------------

def test_good_files_merge_and_duplicates_are_dropped(layout) -> None:
    result = run(layout)
    final = pd.read_csv(layout["out"] / "finaldata.csv", dtype=str)
    expected = rows_set(GOOD1 + GOOD2)
    assert len(expected) < len(GOOD1) + len(GOOD2)  # the fixture really holds duplicates
    assert list(final.columns) == COLUMNS
    assert len(final) == len(expected) == result.n_rows
    assert as_rows(final) == expected
    assert result.n_files == 2
    assert result.n_rows_read == len(GOOD1) + len(GOOD2)
    assert result.n_duplicates == len(GOOD1) + len(GOOD2) - len(expected)
    assert result.finaldata_path == layout["out"] / "finaldata.csv"
    assert sorted(e["name"] for e in result.ingested) == ["good1.csv", "good2.csv"]


def test_bad_files_are_quarantined_with_a_reason(layout) -> None:
    result = run(layout)
    reasons = {e["name"]: e["reason"] for e in result.quarantined}
    assert set(reasons) == {"bad_missing.csv", "bad_text.csv", "empty.csv"}
    assert "missing column(s): number_of_employees" in reasons["bad_missing.csv"]
    assert "'lastyear_activity' must be numeric" in reasons["bad_text.csv"]
    assert "'lots'" in reasons["bad_text.csv"]
    assert "empty" in reasons["empty.csv"]
    for entry in result.quarantined:
        original = layout["in"] / entry["name"]
        copy = Path(entry["quarantined_as"])
        assert copy.parent == layout["q"]
        assert copy.read_bytes() == original.read_bytes()
        reason_file = copy.with_name(copy.name + ".reason.txt")
        text = reason_file.read_text()
        assert f"reason: {entry['reason']}" in text
        assert f"sha256: {file_sha256(original)}" in text
        assert "run: r1" in text
    assert len(list(layout["q"].glob("*.reason.txt"))) == 3


def test_raw_input_files_are_never_modified(layout) -> None:
    before = snapshot(layout["in"])
    run(layout)
    run(layout, run_id="r2")
    assert snapshot(layout["in"]) == before


def test_record_holds_hashes_rows_and_status(layout) -> None:
    result = run(layout)
    record = json.loads(result.record_path.read_text())
    entries = {e["name"]: e for e in record["files"]}
    assert set(entries) == {"good1.csv", "good2.csv", "bad_missing.csv", "bad_text.csv", "empty.csv"}
    for name, entry in entries.items():
        path = layout["in"] / name
        assert entry["sha256"] == file_sha256(path)
        assert entry["size"] == path.stat().st_size
        assert entry["run_id"] == "r1"
    assert entries["good1.csv"]["rows"] == len(GOOD1)
    assert entries["good2.csv"]["rows"] == len(GOOD2)
    assert {n for n, e in entries.items() if e["status"] == "ingested"} == {"good1.csv", "good2.csv"}
    assert {n for n, e in entries.items() if e["status"] == "quarantined"} == {
        "bad_missing.csv", "bad_text.csv", "empty.csv"}
    assert sorted(record["finaldata"]["sha256"]) == sorted(
        file_sha256(layout["in"] / n) for n in ("good1.csv", "good2.csv"))
    assert record["finaldata"]["rows"] == result.n_rows
    listed = (layout["out"] / "ingestedfiles.txt").read_text().splitlines()
    assert sorted(listed) == ["good1.csv", "good2.csv"]


def test_first_batch_holds_the_deduplicated_new_rows(layout) -> None:
    result = run(layout)
    batch = pd.read_parquet(result.batch_path)
    assert result.batch_path == layout["batch"]
    assert as_rows(batch) == rows_set(GOOD1 + GOOD2)
    assert len(batch) == result.n_batch_rows == len(rows_set(GOOD1 + GOOD2))


# ---- later ingests -------------------------------------------------------------------------

def test_second_ingest_without_changes_finds_nothing_new(layout) -> None:
    run(layout)
    final_before = (layout["out"] / "finaldata.csv").read_bytes()
    quarantine_before = snapshot(layout["q"])
    mtimes_before = {p.name: p.stat().st_mtime_ns for p in layout["q"].iterdir()}
    layout["batch"].unlink()

    result = run(layout, run_id="r2")
    assert result.ingested == [] and result.quarantined == []
    assert result.batch_path is None and result.n_batch_rows == 0
    assert not layout["batch"].exists()
    assert (layout["out"] / "finaldata.csv").read_bytes() == final_before
    assert snapshot(layout["q"]) == quarantine_before
    assert {p.name: p.stat().st_mtime_ns for p in layout["q"].iterdir()} == mtimes_before
    record = json.loads(result.record_path.read_text())
    assert {e["run_id"] for e in record["files"]} == {"r1"}  # nothing re-attributed to r2
    assert len(record["files"]) == 5


def test_batch_holds_only_the_new_files_rows(layout) -> None:
    run(layout)
    write_rows(layout["in"] / "good3.csv", GOOD3)
    result = run(layout, run_id="r2")
    assert [e["name"] for e in result.ingested] == ["good3.csv"]
    batch = pd.read_parquet(result.batch_path)
    # the row GOOD3 shares with GOOD1 is part of the new file, so it is in the batch
    assert as_rows(batch) == rows_set(GOOD3)
    final = pd.read_csv(result.finaldata_path, dtype=str)
    assert as_rows(final) == rows_set(GOOD1 + GOOD2 + GOOD3)
    assert result.n_rows == len(rows_set(GOOD1 + GOOD2 + GOOD3))


def test_redo_hashes_make_known_files_new_again(layout) -> None:
    run(layout)
    redo = file_sha256(layout["in"] / "good2.csv")
    result = run(layout, run_id="r2", redo_hashes=[redo])
    assert [e["name"] for e in result.ingested] == ["good2.csv"]
    assert result.ingested[0]["run_id"] == "r2"
    assert as_rows(pd.read_parquet(result.batch_path)) == rows_set(GOOD2)
    assert result.quarantined == []


def test_redo_of_a_quarantined_file_checks_it_again(layout) -> None:
    run(layout)
    redo = file_sha256(layout["in"] / "bad_text.csv")
    result = run(layout, run_id="r2", redo_hashes=[redo])
    assert [e["name"] for e in result.quarantined] == ["bad_text.csv"]
    assert "run: r2" in Path(result.quarantined[0]["quarantined_as"] + ".reason.txt").read_text()


def test_renamed_file_is_not_new_and_keeps_its_history(layout) -> None:
    first = run(layout)
    (layout["in"] / "good1.csv").rename(layout["in"] / "renamed.csv")
    result = run(layout, run_id="r2")
    assert result.ingested == []
    assert result.n_rows == first.n_rows
    entries = json.loads(result.record_path.read_text())["files"]
    renamed = [e for e in entries if e["sha256"] == file_sha256(layout["in"] / "renamed.csv")]
    assert [e["name"] for e in renamed] == ["renamed.csv"]
    assert renamed[0]["run_id"] == "r1"


def test_removed_file_leaves_finaldata_but_stays_in_the_record(layout) -> None:
    run(layout)
    gone = file_sha256(layout["in"] / "good2.csv")
    (layout["in"] / "good2.csv").unlink()
    result = run(layout, run_id="r2")
    assert as_rows(pd.read_csv(result.finaldata_path, dtype=str)) == rows_set(GOOD1)
    record = json.loads(result.record_path.read_text())
    assert gone in {e["sha256"] for e in record["files"]}
    assert gone not in record["finaldata"]["sha256"]


def test_empty_input_folder_writes_an_empty_finaldata(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    result = ingest(tmp_path / "in", tmp_path / "out", tmp_path / "q", SCHEMA)
    assert result.n_rows == 0 and result.n_files == 0
    assert pd.read_csv(result.finaldata_path).columns.tolist() == COLUMNS
    assert (tmp_path / "out" / "ingestedfiles.txt").read_text() == ""


# ---- read_table ----------------------------------------------------------------------------


# ---- load_table ----------------------------------------------------------------------------




def test_unlabelled_and_labels_files_are_first_class(tmp_path: Path) -> None:
    """Clients without outcomes go to the batch (to score), never into finaldata; a file of ids and
    outcomes is labels for clients scored earlier; a mixed folder works."""
    layout = {"in": tmp_path / "in", "out": tmp_path / "out", "q": tmp_path / "q", "batch": tmp_path / "b.parquet"}
    write_rows(layout["in"] / "a.csv", GOOD1)
    unlabelled = [row[:-1] for row in GOOD3]
    write_rows(layout["in"] / "new_clients.csv", unlabelled, header=COLUMNS[:-1])
    write_rows(layout["in"] / "labels_2026-12.csv", [["aaaa", 1], ["zzzz", 0]], header=[COLUMNS[0], COLUMNS[-1]])
    labels = layout["out"].parent / "run" / "labels.parquet"
    result = run(layout, labels_path=labels)
    assert {e["name"]: e["kind"] for e in result.ingested} == {
        "a.csv": "labelled", "new_clients.csv": "unlabelled", "labels_2026-12.csv": "labels"}
    assert result.quarantined == [] and result.n_rows == len(GOOD1)
    assert as_rows(pd.read_csv(result.finaldata_path)) == rows_set(GOOD1)  # trained on labelled rows only
    batch = pd.read_parquet(result.batch_path)
    assert len(batch) == result.n_batch_rows == len(GOOD1) + len(GOOD3)
    assert result.n_unlabelled_rows == len(GOOD3) == int(batch["exited"].isna().sum())
    assert result.n_label_rows == 2 and pd.read_parquet(labels)["exited"].tolist() == [1, 0]
    again = run(layout, run_id="r2")
    assert again.ingested == [] and again.n_batch_rows == 0  # nothing is new, nothing re-read


def test_a_file_with_some_features_is_still_refused(tmp_path: Path) -> None:
    layout = {"in": tmp_path / "in", "out": tmp_path / "out", "q": tmp_path / "q", "batch": tmp_path / "b.parquet"}
    write_rows(layout["in"] / "half.csv", [["aaaa", 1, 0]], header=["corporation", "lastmonth_activity", "exited"])
    result = run(layout)
    assert [e["name"] for e in result.quarantined] == ["half.csv"]
    assert "missing column(s): lastyear_activity, number_of_employees" in result.quarantined[0]["reason"]


def test_a_batch_of_only_unlabelled_clients_counts_them(tmp_path: Path) -> None:
    layout = {"in": tmp_path / "in", "out": tmp_path / "out", "q": tmp_path / "q", "batch": tmp_path / "b.parquet"}
    write_rows(layout["in"] / "a.csv", GOOD1)
    run(layout)
    write_rows(layout["in"] / "new_clients.csv", [row[:-1] for row in GOOD3], header=COLUMNS[:-1])
    result = run(layout, run_id="r2")
    assert result.n_batch_rows == result.n_unlabelled_rows == len(GOOD3) and result.n_rows == len(GOOD1)


# ---- row-level quarantine and text targets (issue 14, items 5 and 6) -------------------------

def _mixed_file(folder: Path) -> Path:
    """200 good rows and 3 bad ones: no id (line 4), a word for a number (line 51), two problems (line 102)."""
    rows = [[f"c{i:03d}", i, 100 + i, 3, i % 2] for i in range(200)]
    rows.insert(2, ["", 5, 6, 3, 0])
    rows.insert(49, ["x049", "lots", 6, 3, 1])
    rows.insert(100, ["x100", "many", 6, 3, "perhaps"])
    return write_rows(folder / "mixed.csv", rows)


def test_bad_rows_are_set_aside_with_line_numbers_and_every_reason(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    _mixed_file(inbox)
    result = ingest(inbox, tmp_path / "out", tmp_path / "q", SCHEMA, run_id="r1")
    assert result.quarantined == [] and result.n_rows == 200 and result.n_bad_rows == 3
    (entry,) = result.quarantine_summary()
    assert entry["scope"] == "rows" and entry["rows"] == 3 and "line 4" in entry["reason"]
    aside = pd.read_csv(entry["path"], dtype=str, keep_default_na=False)
    assert aside["line"].tolist() == ["4", "51", "102"]
    assert "without 'corporation'" in aside["reasons"][0]
    assert "'lastmonth_activity' must be numeric, got 'lots'" in aside["reasons"][1]
    both = aside["reasons"][2]
    assert "'lastmonth_activity' must be numeric, got 'many'" in both and "'exited' must be 0 or 1" in both
    assert aside["corporation"].tolist() == ["", "x049", "x100"]   # the fields as the file spells them
    final = pd.read_csv(tmp_path / "out" / "finaldata.csv")
    assert len(final) == 200 and not final["corporation"].str.startswith("x").any()
    assert (inbox / "mixed.csv").read_text().count("\n") == 204    # the raw file is untouched


def test_refuse_file_puts_the_whole_file_back_in_quarantine(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    _mixed_file(inbox)
    result = ingest(inbox, tmp_path / "out", tmp_path / "q", SCHEMA, run_id="r1", bad_rows="refuse_file")
    (refused,) = result.quarantined
    assert "3 bad row(s)" in refused["reason"] and "line 4" in refused["reason"]
    assert result.n_rows == 0 and result.rows_set_aside == []


@pytest.mark.parametrize("words, positive", [(("Yes", "No"), None), (("true", "false"), None),
                                             (("churned", "stayed"), "churned")])
def test_text_targets_are_read_as_0_and_1(tmp_path: Path, words, positive) -> None:
    from dataclasses import replace

    schema = replace(SCHEMA, positive_label=positive)
    inbox = tmp_path / "in"
    write_rows(inbox / "text.csv", [["a", 1, 2, 3, words[0]], ["b", 4, 5, 6, words[1]], ["c", 7, 8, 9, words[1]]])
    result = ingest(inbox, tmp_path / "out", tmp_path / "q", schema, run_id="r1")
    assert result.quarantined == [] and result.n_rows == 3
    final = pd.read_csv(tmp_path / "out" / "finaldata.csv")
    assert final.set_index("corporation")["exited"].to_dict() == {"a": 1, "b": 0, "c": 0}


def test_text_targets_without_a_meaning_ask_for_positive_label(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    write_rows(inbox / "text.csv", [["a", 1, 2, 3, "churned"], ["b", 4, 5, 6, "stayed"]])
    result = ingest(inbox, tmp_path / "out", tmp_path / "q", SCHEMA, run_id="r1")
    (refused,) = result.quarantined
    assert "schema.positive_label" in refused["reason"] and "'churned'" in refused["reason"]


def test_good_rows_of_a_damaged_bundled_file_ingest_byte_for_byte_as_the_clean_file(tmp_path: Path) -> None:
    """Setting bad rows aside leaves the good ones typed as if the bad ones were never there: the
    bundled file with three bad lines inserted gives the same finaldata.csv bytes as the file itself."""
    from unit_helpers import REPO

    source = REPO / "data" / "practicedata" / "dataset1.csv"
    clean = ingest(source.parent, tmp_path / "clean", tmp_path / "q1", SCHEMA, run_id="r1")
    lines = source.read_text().splitlines(keepends=True)
    lines[5:5] = ["zz01,12,lots,3,0\n"]
    lines[900:900] = [",1,2,3,1\n", "zz02,1,2,3,maybe\n"]
    inbox = tmp_path / "in"
    inbox.mkdir()
    for other in source.parent.glob("*.csv"):
        (inbox / other.name).write_bytes(other.read_bytes())
    (inbox / "dataset1.csv").write_text("".join(lines))
    damaged = ingest(inbox, tmp_path / "damaged", tmp_path / "q2", SCHEMA, run_id="r1")
    assert damaged.n_bad_rows == 3 and damaged.quarantined == []
    assert (tmp_path / "damaged" / "finaldata.csv").read_bytes() == clean.finaldata_path.read_bytes()
    aside = pd.read_csv(damaged.rows_set_aside[0]["bad_rows_as"], dtype=str, keep_default_na=False)
    assert aside["line"].tolist() == ["6", "901", "902"]


def test_a_known_file_with_bad_rows_is_not_set_aside_again(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    _mixed_file(inbox)
    ingest(inbox, tmp_path / "out", tmp_path / "q", SCHEMA, run_id="r1")
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "q").iterdir()}
    again = ingest(inbox, tmp_path / "out", tmp_path / "q", SCHEMA, run_id="r2")
    assert again.rows_set_aside == [] and again.quarantine_summary() == [] and again.n_rows == 200
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "q").iterdir()} == before
