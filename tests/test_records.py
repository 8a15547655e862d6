"""Client records to score: every form turns into the same typed frame, or a RecordError of the right kind."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.config import Schema
from riskwatch.records import (RecordError, RecordErrorKind, frame_from_json, frame_from_records,
                               read_csv_bytes, read_csv_file, read_data_file, validate_frame)

SCHEMA = Schema("corporation", ("lastmonth_activity", "number_of_employees"), ("sector",), "exited")
RECORD = {"corporation": "abcd", "lastmonth_activity": 12, "number_of_employees": 3.5, "sector": "retail"}
CSV = b"corporation,lastmonth_activity,number_of_employees,sector\nabcd,12,3.5,retail\nefgh,0,1,\n"


def check_typed(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["corporation", "lastmonth_activity", "number_of_employees", "sector"]
    assert frame["lastmonth_activity"].dtype == "float64" and frame["number_of_employees"].dtype == "float64"
    assert frame["sector"].dtype == object


def test_records_csv_and_frame_give_the_same_typed_frame() -> None:
    from_records = frame_from_records([RECORD], SCHEMA)
    from_csv = validate_frame(read_csv_bytes(CSV), SCHEMA)
    from_frame = validate_frame(pd.DataFrame([RECORD]), SCHEMA)
    for frame in (from_records, from_csv, from_frame):
        check_typed(frame)
    pd.testing.assert_frame_equal(from_records, from_csv.iloc[:1], check_dtype=False)
    pd.testing.assert_frame_equal(from_records, from_frame, check_dtype=False)
    assert from_csv["corporation"].tolist() == ["abcd", "efgh"]
    assert math.isnan(from_csv["sector"].iloc[1])                 # blank category → NaN for the imputer


def test_validate_frame_strips_column_names_and_leaves_its_input_alone() -> None:
    frame = pd.DataFrame({" corporation": ["a"], "lastmonth_activity ": ["7"], "number_of_employees": [2],
                          "sector": [None], "extra": [1]})
    clean = validate_frame(frame, SCHEMA)
    check_typed(clean)
    assert clean["lastmonth_activity"].tolist() == [7.0]
    assert frame.columns[0] == " corporation"


@pytest.mark.parametrize("frame, words", [
    (pd.DataFrame(), "no client records"),
    (pd.DataFrame({"corporation": ["a"], "lastmonth_activity": [1]}),
     "missing column(s): number_of_employees, sector; expected corporation, lastmonth_activity"),
    (pd.DataFrame([{**RECORD, "number_of_employees": "many"}]),
     "column 'number_of_employees' must hold finite numbers; 1 value(s) do not (e.g. 'many')"),
    (pd.DataFrame([{**RECORD, "lastmonth_activity": np.inf}]), "'lastmonth_activity' must hold finite numbers"),
    (pd.DataFrame([{**RECORD, "lastmonth_activity": None}]), "'lastmonth_activity' must hold finite numbers"),
])
def test_bad_frames_say_what_is_wrong(frame: pd.DataFrame, words: str) -> None:
    with pytest.raises(RecordError) as caught:
        validate_frame(frame, SCHEMA)
    assert words in str(caught.value) and caught.value.kind is RecordErrorKind.INVALID


@pytest.mark.parametrize("value", ["12", True, None, float("nan"), float("inf"), [1]])
def test_a_record_needs_a_finite_json_number(value) -> None:
    with pytest.raises(RecordError, match="'lastmonth_activity' must hold finite numbers") as caught:
        frame_from_records([{**RECORD, "lastmonth_activity": value}], SCHEMA)
    assert caught.value.kind is RecordErrorKind.INVALID


def test_a_record_without_a_column_names_it() -> None:
    with pytest.raises(RecordError, match=r"missing column\(s\): sector;"):
        frame_from_records([RECORD, {k: v for k, v in RECORD.items() if k != "sector"}], SCHEMA)


def test_unreadable_csv_is_invalid() -> None:
    with pytest.raises(RecordError, match="not a readable CSV") as caught:
        read_csv_bytes(b"")
    assert caught.value.kind is RecordErrorKind.INVALID


@pytest.mark.parametrize("payload", [{"records": [RECORD]}, [RECORD]])
def test_json_records_in_both_shapes(payload) -> None:
    frame = frame_from_json(json.dumps(payload).encode(), SCHEMA, [])
    pd.testing.assert_frame_equal(frame, frame_from_records([RECORD], SCHEMA))


@pytest.mark.parametrize("body, kind, words", [
    (b"{not json", RecordErrorKind.MALFORMED, "the body is not valid JSON"),
    (b"\xff\xfe", RecordErrorKind.MALFORMED, "the body is not valid JSON"),
    (b'{"records": []}', RecordErrorKind.INVALID, 'send {"records": [...]}'),
    (b"42", RecordErrorKind.INVALID, 'send {"records": [...]}'),
    (b'{"records": [1, 2]}', RecordErrorKind.INVALID, "each record must be a JSON object"),
    (b'{"data_path": 3}', RecordErrorKind.INVALID, "data_path must be a file name or path"),
])
def test_bad_json_bodies(body: bytes, kind: RecordErrorKind, words: str) -> None:
    with pytest.raises(RecordError) as caught:
        frame_from_json(body, SCHEMA, [])
    assert caught.value.kind is kind and words in str(caught.value)


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    (root / "clients.csv").write_bytes(CSV)
    (root / "broken.csv").write_bytes(b"")
    (tmp_path / "secret.csv").write_bytes(CSV)
    return root.resolve()


def test_data_path_inside_the_roots_is_read(data_root: Path) -> None:
    by_name = frame_from_json(b'{"data_path": "clients.csv"}', SCHEMA, [data_root])
    check_typed(by_name)
    pd.testing.assert_frame_equal(read_data_file(str(data_root / "clients.csv"), [data_root]),
                                  read_data_file("clients.csv", [data_root]))


@pytest.mark.parametrize("name, kind, words", [
    ("../secret.csv", RecordErrorKind.OUTSIDE_DATA, "inside the configured data folders"),
    ("/etc/passwd", RecordErrorKind.OUTSIDE_DATA, "inside the configured data folders"),
    ("nothing.csv", RecordErrorKind.NO_SUCH_FILE, "no such data file"),
    ("broken.csv", RecordErrorKind.INVALID, "broken.csv is not a readable CSV"),
    ("  ", RecordErrorKind.INVALID, "data_path must be a file name or path"),
])
def test_data_path_problems(data_root: Path, name: str, kind: RecordErrorKind, words: str) -> None:
    with pytest.raises(RecordError) as caught:
        read_data_file(name, [data_root])
    assert caught.value.kind is kind and words in str(caught.value)


def test_record_error_is_a_value_error_and_defaults_to_invalid() -> None:
    error = RecordError("bad")
    assert isinstance(error, ValueError) and error.kind is RecordErrorKind.INVALID and str(error) == "bad"


def test_data_path_relative_to_the_project_folder_is_read(data_root: Path) -> None:
    """``data/clients.csv`` from the project folder, as a user types it, not only the bare name."""
    project = data_root.parent
    frame = frame_from_json(b'{"data_path": "data/clients.csv"}', SCHEMA, [data_root], project)
    pd.testing.assert_frame_equal(frame, frame_from_json(b'{"data_path": "clients.csv"}', SCHEMA, [data_root]))
    with pytest.raises(RecordError) as outside:  # the project folder itself is not a data folder
        read_data_file("secret.csv", [data_root], project)
    assert outside.value.kind is RecordErrorKind.NO_SUCH_FILE  # data/secret.csv: there is none


@pytest.mark.parametrize("name, kind", [("nothing.csv", RecordErrorKind.NO_SUCH_FILE),
                                        ("../secret.csv", RecordErrorKind.OUTSIDE_DATA),
                                        ("x" * 1000 + ".csv", RecordErrorKind.NO_SUCH_FILE)])  # ENAMETOOLONG
def test_refusals_name_the_allowed_folders(data_root: Path, name: str, kind: RecordErrorKind) -> None:
    with pytest.raises(RecordError) as caught:
        read_data_file(name, [data_root], data_root.parent)
    assert caught.value.kind is kind and "(data)" in str(caught.value)


# Issue 15, "hostile requests": every one of these was a 500 (or a silent 200) before.
def test_deep_nesting_is_invalid_not_a_recursion_error() -> None:
    with pytest.raises(RecordError, match="nested 100000 levels deep; at most 32 are accepted") as caught:
        frame_from_json(b"[" * 100_000 + b"]" * 100_000, SCHEMA, [])
    assert caught.value.kind is RecordErrorKind.INVALID


@pytest.mark.parametrize("literal", ["1" + "0" * 400, "9" * 5000, "-" + "1" * 41, "0." + "5" * 60])
def test_an_over_long_number_names_its_column(literal: str) -> None:
    body = json.dumps([RECORD])[:-2].encode() + b', "lastmonth_activity": ' + literal.encode() + b"}]"
    with pytest.raises(RecordError) as caught:  # OverflowError / ValueError (4,300 digits) before
        frame_from_json(body, SCHEMA, [])
    assert caught.value.kind is RecordErrorKind.INVALID
    assert f"column 'lastmonth_activity' holds a number literal of {len(literal)} characters" in str(caught.value)


def test_a_huge_python_int_is_not_finite_rather_than_an_overflow() -> None:
    with pytest.raises(RecordError, match="'lastmonth_activity' must hold finite numbers"):
        frame_from_records([{**RECORD, "lastmonth_activity": 10 ** 400}], SCHEMA)


@pytest.mark.parametrize("field, value, words", [
    ("corporation", {"a": [1]}, "column 'corporation' must hold text or numbers; got dict"),
    ("corporation", None, "column 'corporation' must hold text or numbers; got NoneType"),
    ("sector", ["retail"], "column 'sector' must hold text or numbers; got list"),
])
def test_ids_and_categories_must_be_text_or_numbers(field: str, value, words: str) -> None:
    with pytest.raises(RecordError, match=re.escape(words)):
        frame_from_records([{**RECORD, field: value}], SCHEMA)


@pytest.mark.parametrize("field", ["corporation", "sector"])
def test_a_lone_surrogate_is_invalid_text(field: str) -> None:
    body = json.dumps([{**RECORD, field: "a\ud800"}]).encode()  # JSON escapes it as \ud800
    with pytest.raises(RecordError, match=f"column '{field}' holds text that is not valid Unicode"):
        frame_from_json(body, SCHEMA, [])


def test_an_over_long_data_path_is_invalid(data_root: Path) -> None:
    with pytest.raises(RecordError, match="data_path has 5,000 characters; at most 1,024") as caught:
        frame_from_json(json.dumps({"data_path": "a/" * 2500}).encode(), SCHEMA, [data_root])
    assert caught.value.kind is RecordErrorKind.INVALID


@pytest.mark.parametrize("body, words", [
    (CSV.replace(b"retail", "détail".encode("latin-1")), "not a readable CSV: not UTF-8 text (byte 0xe9 at offset 71); save it as UTF-8"),
    (CSV.decode().encode("utf-16"), "not UTF-8 text (byte 0xff at offset 0)"),
    (CSV[:-1] + b"\xc3", "not UTF-8 text (byte 0xc3 at offset"),  # cut inside a character
    (b",".join(b"c%d" % i for i in range(5000)) + b"\n1\n", "the CSV header has 5,000 columns"),
    (b"corporation," + b"x" * 3_000_000, "the CSV header line is longer than 1,048,576 bytes"),
])
def test_csv_that_is_not_utf8_or_too_wide_is_invalid(tmp_path: Path, body: bytes, words: str) -> None:
    with pytest.raises(RecordError, match=re.escape(words)) as caught:
        read_csv_bytes(body)
    assert caught.value.kind is RecordErrorKind.INVALID
    path = tmp_path / "upload.csv"
    path.write_bytes(body)
    with open(path, "rb") as handle, pytest.raises(RecordError, match=re.escape(words)):
        read_csv_file(handle)


def test_csv_file_with_a_bom_reads_like_bytes(tmp_path: Path) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CSV)
    with open(path, "rb") as handle:
        from_file = validate_frame(read_csv_file(handle), SCHEMA)
    pd.testing.assert_frame_equal(from_file, validate_frame(read_csv_bytes(CSV), SCHEMA))
    with open(path, "rb") as handle:  # ragged rows: the C parser's explanation, from the file too
        path.write_bytes(CSV + b"a,1,2,x,extra,more\n")
        with pytest.raises(RecordError, match="not a readable CSV"):
            read_csv_file(handle)
