"""riskwatch.reconcile: after a crash the ledger and statuses follow the production pointer; and
kill points of a real cycle (SIGKILL exactly between two writes) leave nothing inconsistent."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_project, run_runner
from riskwatch.config import load_config
from riskwatch.deployment import deploy_version
from riskwatch.events import Abandoned, Deployed, RolledBack
from riskwatch.ledger import Ledger
from riskwatch.reconcile import inconsistencies, reconcile
from riskwatch.registry import Registry
from unit_helpers import three_versions


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    """v1 deployed and recorded; v2 scored; v3 trained and never scored."""
    registry = three_versions(tmp_path / "registry")
    registry.set_status(1, "accepted", "passed")
    deploy_version(registry, 1, tmp_path / "prod", "run-1")
    return registry


RECORDED_V1 = [{"action": "deploy", "version": 1, "run_id": "run-1"}]


def test_a_deployment_the_ledger_lacks_is_recorded_once_and_candidates_are_abandoned(registry: Registry,
                                                                                     tmp_path: Path) -> None:
    events = reconcile(registry, RECORDED_V1)
    assert events == [Abandoned(2, events[0].reason), Abandoned(3, events[1].reason)]
    assert "before it was decided on" in events[0].reason and "before it was scored" in events[1].reason

    deploy_version(registry, 2, tmp_path / "prod", "run-2")  # killed here: the ledger never heard of it
    (deployed, *abandoned) = reconcile(registry, RECORDED_V1)
    assert isinstance(deployed, Deployed) and deployed.version == 2 and deployed.previous_version == 1
    assert deployed.run_id == "run-2" and deployed.metrics == {"f1": 0.70}
    assert "interrupted before recording it" in deployed.reason
    assert [e.version for e in abandoned] == [3]  # v2 is production, not a stale candidate
    assert not [e for e in reconcile(registry, [{"action": "deploy", "version": 2}, *RECORDED_V1])
                if not isinstance(e, Abandoned)]


def test_an_unrecorded_rollback_is_recorded_as_a_rollback(registry: Registry, tmp_path: Path) -> None:
    deploy_version(registry, 2, tmp_path / "prod", "run-2")
    deploy_version(registry, 1, tmp_path / "prod", "rollback", action="rollback")
    history = [{"action": "deploy", "version": 2}, *RECORDED_V1]
    (rolled, *_) = reconcile(registry, history)
    assert isinstance(rolled, RolledBack) and rolled.version == 1 and rolled.previous_version == 2


def test_inconsistencies_are_said_in_words(registry: Registry, tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    assert inconsistencies(registry, prod, RECORDED_V1) == ["v2 is still a candidate", "v3 is still a candidate"]
    registry.set_status(2, "rejected", "lower")
    registry.set_status(3, "abandoned", "killed")
    assert inconsistencies(registry, prod, RECORDED_V1) == []
    deploy_version(registry, 2, prod, "run-2")
    assert "production is v2 but the ledger last put v1 into production" in inconsistencies(registry, prod,
                                                                                           RECORDED_V1)


def _ledger_rows(cfg) -> list[dict]:
    return Ledger(cfg.ledger_path).deployments(100) if cfg.ledger_path.exists() else []


@pytest.mark.integration
@pytest.mark.parametrize("point", ["after:deployment", "after:scoring", "before:deployment", "after:training"])
def test_a_kill_between_two_writes_is_reconciled_by_the_next_run(tmp_path: Path, point: str) -> None:
    """The first cycle is killed at ``point`` (SIGKILL, no cleanup); the next run leaves registry,
    production folder and ledger in step, records a lost deployment once, abandons nothing it
    should keep, and its own cycle completes."""
    config = make_project(tmp_path / "project")
    cfg = load_config(config)
    killed = run_runner(config, "run", env={"RISKWATCH_KILL_AT": point})
    assert killed.returncode == -9, killed.stdout + killed.stderr
    recovered = run_runner(config, "run")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    registry = Registry(cfg.registry_path)
    rows = _ledger_rows(cfg)
    assert inconsistencies(registry, cfg.prod_deployment_path, rows) == []
    deploys = [r for r in rows if r["action"] == "deploy"]
    assert len(deploys) == 1 and deploys[0]["version"] == registry.production_version()
    if point == "after:deployment":  # production had switched to v1 before the kill
        assert "recovered: v1 went into production in run" in recovered.stdout
        assert registry.production_version() == 1 and registry.versions() == [1]
    else:  # nothing had switched: the redo trained afresh, the dead run's version is abandoned
        assert registry.production_version() == 2 and registry.status(1)["status"] == "abandoned"
        assert "recovered: v1 abandoned" in recovered.stdout
    assert not cfg.pending_cycle_path.exists()
