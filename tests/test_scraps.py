"""Glue in a real kernel, read back with scrapbook."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from riskwatch.scraps import to_plain, read_scraps


@pytest.mark.integration
def test_values_round_trip_through_a_kernel(tmp_path: Path) -> None:
    source = tmp_path / "glue.ipynb"
    code = ("import numpy as np\nfrom riskwatch.scraps import glue_many\n"
            "glue_many(text='a \"quoted\" string', number=np.float64(0.5), count=np.int64(3), flag=True,\n"
            "          nothing=None, items=['x', 'y'], nested={'f1': np.float32(0.25), 'v': [1, 2]})")
    nbformat.write(new_notebook(cells=[new_code_cell(code)], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), source)
    papermill.execute_notebook(str(source), str(tmp_path / "out.ipynb"), kernel_name="python3",
                               progress_bar=False)
    scraps = read_scraps(tmp_path / "out.ipynb")
    assert scraps == {"text": 'a "quoted" string', "number": 0.5, "count": 3, "flag": True,
                      "items": ["x", "y"], "nested": {"f1": 0.25, "v": [1, 2]}}
    assert "nothing" not in scraps  # None is not glued; readers use .get()


def test_to_plain_makes_numpy_values_json_safe() -> None:
    import numpy as np

    assert to_plain({"a": np.arange(3), "b": np.bool_(True), "p": Path("/x")}) == {
        "a": [0, 1, 2], "b": True, "p": "/x"}
