"""Is the deployed model the one that was deployed? Every reader of production asks here.

A registry artifact is only ever unpickled after its SHA-256 matches the version's metadata; this
module turns a mismatch into one plain sentence with the way forward (the scored versions that
do verify, for ``rollback``), for ``run``, ``status`` and the API's ``/health``.
"""

from __future__ import annotations

from riskwatch.registry import Registry, RegistryError


def production_problem(registry: Registry) -> str | None:
    """None when nothing is deployed or the deployed version verifies; else why it does not."""
    version = registry.production_version()
    if version is None:
        return None
    try:
        registry.check(version)
    except RegistryError as exc:
        return str(exc)
    return None


def verified_versions(registry: Registry, exclude: int | None = None) -> list[int]:
    """Scored versions whose artifact verifies, newest first: where a rollback can go."""
    found = []
    for version in reversed(registry.versions()):
        if version == exclude or (registry.metrics(version) or {}).get("f1") is None:
            continue
        try:
            registry.check(version)
        except RegistryError:
            continue
        found.append(version)
    return found


def integrity_advice(registry: Registry, problem: str) -> str:
    """The problem and what to do about it, in one sentence."""
    version = registry.production_version()
    options = verified_versions(registry, exclude=version)
    if options:
        listed = ", ".join(f"v{v} (test F1 {registry.metrics(v)['f1']:.4f})" for v in options)
        fix = f"roll back to a verified version: `runner.py rollback {options[0]}` (verified: {listed})"
    else:
        fix = "no other scored version verifies: restore the registry from a backup, or delete production.json " \
              "and run a cycle to train afresh"
    return f"the deployed model v{version} failed its integrity check ({problem}); nothing was run. To go on, {fix}"
