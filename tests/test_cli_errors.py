"""Every command against broken setups ends in a sentence and a documented exit code, never a
traceback; unplanned errors keep their traceback in the log."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from conftest import REPO, closed_port, make_project, run_runner
from riskwatch.cli_errors import EXIT_UNEXPECTED, report_unexpected
from riskwatch.environment import EXIT_ENVIRONMENT, environment_failure
from riskwatch.config import load_config
from riskwatch.inprocess import train_and_deploy_in_process

TESTDATA = REPO / "data" / "testdata" / "testdata.csv"
DOCUMENTED = {0, 1, 2, 3, 4, 5, 6}


def test_environment_failures_are_recognised_through_their_chain() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/outputs/x")
    assert environment_failure(full)
    try:
        try:
            raise full
        except OSError as inner:
            raise RuntimeError("while writing run.json") from inner
    except RuntimeError as outer:
        assert environment_failure(outer)
        line, code = report_unexpected("run", outer, None)
    assert code == EXIT_ENVIRONMENT and "the disk is full at /outputs/x" in line
    assert not environment_failure(FileNotFoundError(errno.ENOENT, "missing"))


def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_the_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "riskwatch.log"
    try:
        {}["missing"]
    except KeyError as exc:
        line, code = report_unexpected("status", exc, log)
    assert code == EXIT_UNEXPECTED and "\n" not in line
    assert line.startswith("riskwatch status: unexpected KeyError") and str(log) in line
    assert "Traceback" in log.read_text() and "KeyError: 'missing'" in log.read_text()
    (tmp_path / "blocked").write_text("a file where a folder should be")
    try:
        raise ValueError("boom")
    except ValueError as exc:
        line, _ = report_unexpected("history", exc, tmp_path / "blocked" / "riskwatch.log")
    fallback = Path(line.split("traceback in ")[1].split(";")[0])
    assert "ValueError: boom" in fallback.read_text()
    fallback.unlink()


def _missing_config(root: Path) -> Path:
    return root / "no-such-config.json"


def _not_json(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text("{ not json")
    return root / "config.json"


def _wrong_key(root: Path) -> Path:
    config = make_project(root)
    data = json.loads(config.read_text())
    data["schema"]["target"] = 3
    config.write_text(json.dumps(data))
    return config


def _nothing_deployed(root: Path) -> Path:
    return make_project(root)


def _damaged_ledger(root: Path) -> Path:
    config = make_project(root)
    train_and_deploy_in_process(load_config(config))
    ledger = load_config(config).ledger_path
    data = ledger.read_bytes()
    ledger.write_bytes(data[: len(data) // 2])
    for extra in ledger.parent.glob("ledger.sqlite-*"):
        extra.unlink()
    return config


def _tampered_model(root: Path) -> Path:
    from riskwatch import layout
    from riskwatch.registry import Registry

    config = make_project(root)
    version = train_and_deploy_in_process(load_config(config))
    from unit_helpers import flip_a_byte

    flip_a_byte(Registry(load_config(config).registry_path).path(version) / layout.VERSION_ARTIFACT)
    return config


SETUPS = {"missing config": _missing_config, "config not JSON": _not_json, "wrong key": _wrong_key,
          "nothing deployed": _nothing_deployed, "damaged ledger": _damaged_ledger,
          "tampered model": _tampered_model}
COMMANDS = [("run", "--dry-run"), ("status",), ("history",), ("score", str(TESTDATA)), ("rollback",),
            ("rollback", "9"), ("cron", "show"), ("apicalls", "--url", "http://127.0.0.1:{port}")]


@pytest.fixture(scope="module")
def setups(tmp_path_factory) -> dict[str, Path]:
    return {name: make(tmp_path_factory.mktemp(name.replace(" ", "-")) / "project") for name, make in SETUPS.items()}


@pytest.mark.integration
@pytest.mark.parametrize("setup", SETUPS)
def test_every_command_against_a_broken_setup_ends_in_a_sentence(setups, setup: str) -> None:
    config = setups[setup]
    for command in COMMANDS:
        args = [a.format(port=closed_port()) for a in command]
        result = run_runner(config, *args, timeout=120)
        said = result.stdout + result.stderr
        assert "Traceback" not in said, (setup, args, said)
        assert result.returncode in DOCUMENTED, (setup, args, result.returncode, said)
        if result.returncode:
            last = result.stderr.strip().splitlines()[-1]
            assert last.startswith("riskwatch"), (setup, args, said)
