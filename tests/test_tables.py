"""riskwatch.tables: reading and validating tables by the schema."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskwatch.config import Schema
from riskwatch.tables import ValidationError, load_table, read_table
from unit_helpers import COLUMNS, GOOD1, GOOD3, SCHEMA, as_rows, rows_set, write_rows


def test_read_table_returns_schema_columns_with_types(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("extra, exited, corporation ,lastmonth_activity,lastyear_activity,number_of_employees\n"
                    "x, 1, 0012,5,60,\n"
                    "y, 0, abcd,7.5,80,3\n")
    frame = read_table(path, SCHEMA)
    assert list(frame.columns) == COLUMNS
    assert frame["corporation"].tolist() == ["0012", "abcd"]  # ids stay text
    assert frame["exited"].dtype == "int64" and frame["exited"].tolist() == [1, 0]
    assert frame["lastmonth_activity"].tolist() == [5.0, 7.5]
    assert pd.isna(frame.loc[0, "number_of_employees"])  # missing values are left to the imputer


@pytest.mark.parametrize("content,message", [
    ("corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n", "header but no rows"),
    ("corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\nab,1,2,3,2\n",
     "'exited' must be 0 or 1"),
    ("corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\nab,1,2,3,\n",
     "'exited' must be 0 or 1"),
    ("corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n,1,2,3,0\n",
     "without 'corporation'"),
    ("corporation,exited\nab,1\n", "missing column(s): lastmonth_activity, lastyear_activity, "
                                   "number_of_employees"),
    ("", "the file is empty"),
])
def test_read_table_refuses_with_a_reason(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content)
    with pytest.raises(ValidationError) as caught:
        read_table(path, SCHEMA)
    assert message in str(caught.value)


def test_read_table_casts_categorical_columns_to_text(tmp_path: Path) -> None:
    schema = Schema("corporation", ("lastmonth_activity",), ("region",), "exited")
    path = write_rows(tmp_path / "t.csv", [["ab", 1, 7, 0], ["cd", 2, "north", 1]],
                      header=["corporation", "lastmonth_activity", "region", "exited"])
    frame = read_table(path, schema)
    assert frame["region"].tolist() == ["7", "north"]


def test_read_table_refuses_infinite_numbers(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "t.csv", [["ab", "inf", 100, 3, 0], ["cd", 20, 200, 4, 1]])
    with pytest.raises(ValidationError, match="lastmonth_activity"):
        read_table(path, SCHEMA)


def test_load_table_reads_folder_csv_and_parquet(tmp_path: Path) -> None:
    folder = tmp_path / "test"
    write_rows(folder / "a.csv", GOOD1)
    write_rows(folder / "b.csv", GOOD3)
    (folder / "notes.txt").write_text("ignored")
    from_folder = load_table(folder, SCHEMA)
    assert len(from_folder) == len(GOOD1) + len(GOOD3)
    assert as_rows(from_folder) == rows_set(GOOD1 + GOOD3)
    assert as_rows(load_table(folder / "a.csv", SCHEMA)) == rows_set(GOOD1)
    parquet = tmp_path / "x.parquet"
    from_folder.to_parquet(parquet, index=False)
    pd.testing.assert_frame_equal(load_table(parquet, SCHEMA), from_folder)


def test_load_table_refuses_a_folder_without_csv(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="no CSV files"):
        load_table(tmp_path / "empty", SCHEMA)


def test_a_client_called_null_is_not_a_missing_id(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n"
                    "null,1,2,3,0\nNA,4,5,NA,1\n")
    schema = Schema("corporation", ("lastmonth_activity", "lastyear_activity", "number_of_employees"), (), "exited")
    frame = read_table(path, schema)
    assert frame["corporation"].tolist() == ["null", "NA"]
    assert frame["number_of_employees"].isna().tolist() == [False, True]  # NA still means missing in features
