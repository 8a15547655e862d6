"""After a crash, the ledger and the registry's statuses are brought in step with production.

The registry's production pointer is the record of truth for what is deployed: it is switched in
one atomic rename, by the deployment stage or a rollback, *before* the runner writes the ledger row
and sends the alert. A run killed between the two leaves production on a version the ledger never
deployed; at the start of the next run :func:`reconcile` returns the events that record it (once:
afterwards the ledger agrees), and marks versions that a dead run left as candidates abandoned.
:func:`inconsistencies` is the check the fault-injection suite runs after every kill.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from riskwatch import layout
from riskwatch.events import Abandoned, Deployed, RolledBack
from riskwatch.newdata import file_sha256
from riskwatch.registry import Registry, RegistryError

PUT_IN_PRODUCTION = ("deploy", "rollback")


def last_put_in_production(deployments: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest ledger row that put a version into production (rows newest first)."""
    return next((d for d in deployments if d["action"] in PUT_IN_PRODUCTION), None)


def reconcile(registry: Registry, deployments: Sequence[dict[str, Any]]) -> list[Any]:
    """Events that make the ledger (``deployments``, newest first) and the statuses agree with the
    production pointer: a deployment or rollback the ledger lacks, and abandoned candidates."""
    events: list[Any] = []
    pointer = registry.production()
    production = int(pointer["version"]) if pointer else None
    if pointer is not None:
        recorded = last_put_in_production(deployments)
        if recorded is None or recorded["version"] != production:
            run = pointer.get("run_id")
            reason = (f"v{production} went into production in run {run} at {pointer.get('since')}, which was "
                      f"interrupted before recording it; recorded on recovery")
            metrics = registry.metrics(production) or {}
            if pointer.get("action") == "rollback":
                events.append(RolledBack(production, pointer.get("previous_version"), metrics.get("f1"), reason))
            else:
                events.append(Deployed(production, pointer.get("previous_version"), metrics, reason,
                                       run_id=run or "recovery"))
    for version in registry.versions():
        if version != production and registry.status(version).get("status") == "candidate":
            step = "decided on" if registry.metrics(version) else "scored"
            events.append(Abandoned(version, f"the run that trained it ended before it was {step}; "
                                             "the next cycle with drift trains afresh"))
    return events


def inconsistencies(registry: Registry, prod_folder: Path, deployments: Sequence[dict[str, Any]]) -> list[str]:
    """What disagrees between the production pointer, the production folder and the ledger, in
    words (empty when all three agree); candidates left behind count too."""
    problems = []
    production = registry.production_version()
    recorded = last_put_in_production(deployments)
    if production is None:
        if recorded is not None:
            problems.append(f"the ledger deployed v{recorded['version']} but nothing is in production")
        return problems
    try:
        artifact = registry.check(production)
    except RegistryError as exc:
        return [f"production v{production} does not verify: {exc}"]
    deployed = prod_folder / layout.TRAINED_MODEL
    if not deployed.is_file() or file_sha256(deployed) != file_sha256(artifact):
        problems.append(f"the production folder does not hold v{production}'s model")
    if recorded is None or recorded["version"] != production:
        problems.append(f"production is v{production} but the ledger last put "
                        f"{'nothing' if recorded is None else 'v' + str(recorded['version'])} into production")
    if registry.status(production).get("status") != "accepted":
        problems.append(f"production v{production} is not marked accepted")
    problems += [f"v{v} is still a candidate" for v in registry.versions()
                 if v != production and registry.status(v).get("status") == "candidate"]
    return problems
