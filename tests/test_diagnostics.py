"""Diagnostics: statistics, missing values, dependency check online (a local index) and offline."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from conftest import closed_port
from riskwatch.diagnostics import OFFLINE, declared_dependencies, dependency_check, missing_values, \
    summary_statistics


def test_summary_statistics_match_pandas() -> None:
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.normal(5, 2, 500), "b": rng.integers(0, 9, 500)})
    stats = summary_statistics(data, ["a", "b"])
    assert stats["a"]["mean"] == pytest.approx(data["a"].mean())
    assert stats["a"]["median"] == pytest.approx(data["a"].median())
    assert stats["b"]["q3"] == pytest.approx(data["b"].quantile(0.75))
    assert stats["b"]["max"] == data["b"].max() and stats["a"]["count"] == 500


def test_missing_values_counts_and_percentages() -> None:
    data = pd.DataFrame({"a": [1, None, 3, None], "b": ["x", "y", None, "z"], "c": [1, 2, 3, 4]})
    missing = missing_values(data)
    assert missing["a"] == {"count": 2, "percent": 50.0}
    assert missing["b"] == {"count": 1, "percent": 25.0}
    assert missing["c"]["count"] == 0


def test_dependency_check_offline_is_quick_and_says_so() -> None:
    start = time.monotonic()
    rows = dependency_check(f"http://127.0.0.1:{closed_port()}/simple", timeout=1.0)
    assert time.monotonic() - start < 10  # bounded, not a hang (generous: this is no benchmark)
    names = {name for name, _ in declared_dependencies()}
    assert {r["package"] for r in rows} == names and {"papermill", "scrapbook", "six"} <= names
    assert all(r["latest"] is None and r["note"] == OFFLINE for r in rows)
    scrapbook = next(r for r in rows if r["package"] == "scrapbook")
    assert scrapbook["installed"] == "0.5.0" and scrapbook["required"] == "==0.5.0"


class _Index(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        name = self.path.strip("/").split("/")[-1]
        body = json.dumps({"name": name, "versions": ["0.1", "99.0.0", "100.0rc1"], "files": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_dependency_check_reads_latest_final_release_from_an_index() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        rows = dependency_check(f"http://127.0.0.1:{server.server_address[1]}/simple", timeout=2.0)
    finally:
        server.shutdown()
    assert all(r["latest"] == "99.0.0" for r in rows)  # the release candidate is ignored
    assert all(r["note"] == "newer version available" for r in rows)
