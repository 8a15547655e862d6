"""riskwatch.integrity: a deployed model that fails its hash check is said in words with the way
forward, and a run meeting one stops cleanly, logs it, alerts once and lets a rollback fix it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import closed_port, make_project, run_runner
from riskwatch import layout
from riskwatch.config import load_config
from riskwatch.deployment import deploy_version
from riskwatch.inprocess import train_and_deploy_in_process
from riskwatch.integrity import integrity_advice, production_problem, verified_versions
from riskwatch.registry import Registry
from unit_helpers import flip_a_byte, three_versions


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    registry = three_versions(tmp_path / "registry")  # v3 is never scored
    deploy_version(registry, 2, tmp_path / "prod", "run-2")
    return registry


def test_a_flipped_byte_is_a_problem_with_the_verified_versions_to_go_to(registry: Registry) -> None:
    assert production_problem(registry) is None
    flip_a_byte(registry.path(2) / layout.VERSION_ARTIFACT)
    problem = production_problem(registry)
    assert "artifact hash does not match" in problem
    assert verified_versions(registry, exclude=2) == [1]  # v3 verifies but was never scored
    advice = integrity_advice(registry, problem)
    assert "v2 failed its integrity check" in advice and "`runner.py rollback 1`" in advice
    flip_a_byte(registry.path(1) / layout.VERSION_ARTIFACT)
    assert "no other scored version verifies" in integrity_advice(registry, problem)


def test_nothing_deployed_is_no_problem(tmp_path: Path) -> None:
    assert production_problem(Registry(tmp_path / "empty")) is None


@pytest.mark.integration
def test_a_run_meeting_a_tampered_model_stops_alerts_once_and_rollback_fixes_it(tmp_path: Path) -> None:
    config = make_project(tmp_path / "project", alerts={"webhook_url": f"http://127.0.0.1:{closed_port()}/hook"})
    cfg = load_config(config)
    train_and_deploy_in_process(cfg)                                   # v1, test F1 0.25
    train_and_deploy_in_process(load_config(config, "production"))     # v2, test F1 0.63
    flip_a_byte(Registry(cfg.registry_path).path(2) / layout.VERSION_ARTIFACT)

    for _ in range(2):
        refused = run_runner(config, "run")
        assert refused.returncode == 7 and "Traceback" not in refused.stdout + refused.stderr
        assert "the deployed model v2 failed its integrity check" in refused.stdout
        assert "`runner.py rollback 1`" in refused.stdout
    pending = [json.loads(line) for line in cfg.pending_alerts_path.read_text().splitlines()]
    assert [a["event"] for a in pending].count("failure") == 1       # alerted once, not on every run
    assert "failed its integrity check" in cfg.log_path.read_text()

    back = run_runner(config, "rollback", "1", "--yes")
    assert back.returncode == 0, back.stderr
    again = run_runner(config, "run")
    assert again.returncode == 0 and "nothing new" in again.stdout
