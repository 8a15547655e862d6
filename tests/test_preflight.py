"""The paths a cycle reads are checked before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_project
from riskwatch.config import ConfigError, load_config
from riskwatch.preflight import check_input_paths


def test_existing_paths_pass_whether_test_data_is_a_folder_or_a_file(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p")
    check_input_paths(load_config(config))
    config = make_project(tmp_path / "q", input_folder_path="data/empty", test_data_path="data/testdata/testdata.csv")
    (tmp_path / "q" / "data" / "empty").mkdir()
    check_input_paths(load_config(config))


def test_a_missing_folder_of_a_mode_names_the_key_and_the_resolved_path(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p", modes={"practice": {}, "production": {"input_folder_path": "data/sourcedta"}})
    check_input_paths(load_config(config, "practice"))
    with pytest.raises(ConfigError) as raised:
        check_input_paths(load_config(config, "production"))
    assert raised.value.key == "input_folder_path"
    assert raised.value.why == f"the folder {tmp_path / 'p' / 'data' / 'sourcedta'} does not exist (mode production)"


def test_an_input_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p", input_folder_path="data/testdata/testdata.csv")
    with pytest.raises(ConfigError, match="testdata.csv is a file, not a folder"):
        check_input_paths(load_config(config))


def test_missing_test_data_is_refused(tmp_path: Path) -> None:
    config = make_project(tmp_path / "p", test_data_path="data/nothing")
    with pytest.raises(ConfigError) as raised:
        check_input_paths(load_config(config))
    assert raised.value.key == "test_data_path" and str(tmp_path / "p" / "data" / "nothing") in raised.value.why
