"""The log file: one line per event with time, run id, stage and level; rotated by size."""

from __future__ import annotations

import re
from pathlib import Path

from riskwatch.logs import get_logger, log

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} run=\S+ stage=\S+ (INFO|WARNING|ERROR) .*$")


def test_lines_carry_time_run_stage_and_level(tmp_path: Path) -> None:
    logger = get_logger(tmp_path / "logs" / "riskwatch.log")
    log(logger, "ingested 2 files", run_id="r1", stage="ingestion")
    log(logger, "two\nlines", level=40)
    lines = (tmp_path / "logs" / "riskwatch.log").read_text().splitlines()
    assert len(lines) == 3 and all(LINE.match(line) for line in lines)
    assert "run=r1 stage=ingestion INFO ingested 2 files" in lines[0]
    assert "run=- stage=- ERROR lines" in lines[2]


def test_rotation_by_size_keeps_the_configured_backups(tmp_path: Path) -> None:
    path = tmp_path / "rot" / "riskwatch.log"
    logger = get_logger(path, max_bytes=2000, backups=2)
    for i in range(200):
        log(logger, f"line {i:04d} " + "x" * 40, run_id="r")
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["riskwatch.log", "riskwatch.log.1", "riskwatch.log.2"]
    assert all(p.stat().st_size <= 2000 for p in path.parent.iterdir())
    assert "line 0199" in path.read_text()  # the newest lines are in the live file
