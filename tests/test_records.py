"""Client records to score: every form turns into the same typed frame, or a RecordError of the right kind."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.config import Schema
from riskwatch.records import (RecordError, RecordErrorKind, frame_from_json, frame_from_records,
                               read_csv_bytes, read_data_file, validate_frame)

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
                                        ("x" * 5000 + ".csv", RecordErrorKind.NO_SUCH_FILE)])
def test_refusals_name_the_allowed_folders(data_root: Path, name: str, kind: RecordErrorKind) -> None:
    with pytest.raises(RecordError) as caught:
        read_data_file(name, [data_root], data_root.parent)
    assert caught.value.kind is kind and "(data)" in str(caught.value)
