"""Where the heavy work runs, as settings: the ``compute`` section — its defaults and rules.

``compute.engine`` is ``local`` (one machine: ingestion streams through DuckDB in bounded memory)
or ``dask`` (ingestion, reference profiles and scoring run partition by partition on a Dask
cluster; training fits on a stratified sample that fits the driver). With ``dask``, an empty
``compute.dask.scheduler_address`` starts a ``LocalCluster`` sized by the other ``compute.dask``
keys; an address (``tcp://host:8786``) connects to a running cluster instead.

Standard library only: :mod:`riskwatch.config` validates with these rules before anything heavy
is imported (a :class:`~riskwatch.ingestion_rules.RuleError` becomes a ``ConfigError`` naming the key).
"""

from __future__ import annotations

import re
from typing import Any

from riskwatch.ingestion_rules import RuleError

ENGINES = {
    "local": "this machine: DuckDB streams ingestion with bounded memory, the other stages use pandas",
    "dask": "a Dask cluster: a LocalCluster, or the one at compute.dask.scheduler_address",
}
DEFAULT_DASK: dict[str, Any] = {
    "scheduler_address": "",        # empty: start a LocalCluster with the settings below
    "n_workers": 2,
    "threads_per_worker": 1,
    "memory_limit": "1GB",          # per worker, as Dask spells it ("2GB", "512MiB") or "auto"
    "training_sample_rows": 200_000,  # stratified sample the model is fitted on (driver memory)
    "blocksize": "64MB",            # CSV bytes per partition
}
DEFAULT_COMPUTE: dict[str, Any] = {
    "engine": "local",
    "memory_limit": "512MB",   # DuckDB's memory for local ingestion; beyond it, it spills to disk
    "threads": 0,              # DuckDB threads for local ingestion (0: one per core)
    "dask": DEFAULT_DASK,
}
SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*([kKmMgGtT]i?[bB]|[bB]|[kKmMgGtT][bB]?)?\s*$")


def compute_settings(raw: Any) -> dict[str, Any]:
    """The ``compute`` section merged with its defaults; :class:`RuleError` naming the key otherwise."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RuleError("compute", "must be an object")
    _known(raw, DEFAULT_COMPUTE, "compute")
    dask = raw.get("dask", {})
    if not isinstance(dask, dict):
        raise RuleError("compute.dask", "must be an object")
    _known(dask, DEFAULT_DASK, "compute.dask")
    settings = {**DEFAULT_COMPUTE, **raw, "dask": {**DEFAULT_DASK, **dask}}
    if settings["engine"] not in ENGINES:
        raise RuleError("compute.engine", f"must be one of {', '.join(map(repr, ENGINES))}, "
                                          f"got {settings['engine']!r}")
    _size(settings["memory_limit"], "compute.memory_limit", allow_auto=False)
    _count(settings["threads"], "compute.threads", minimum=0)
    d = settings["dask"]
    address = d["scheduler_address"]
    if not isinstance(address, str) or (address and "://" not in address and ":" not in address):
        raise RuleError("compute.dask.scheduler_address",
                        f"must be empty (start a LocalCluster) or an address like 'tcp://host:8786', got {address!r}")
    _count(d["n_workers"], "compute.dask.n_workers", minimum=1)
    _count(d["threads_per_worker"], "compute.dask.threads_per_worker", minimum=1)
    _count(d["training_sample_rows"], "compute.dask.training_sample_rows", minimum=100)
    _size(d["memory_limit"], "compute.dask.memory_limit", allow_auto=True)
    _size(d["blocksize"], "compute.dask.blocksize", allow_auto=False)
    return settings


def _known(raw: dict, defaults: dict, prefix: str) -> None:
    for key in raw:
        if key not in defaults:
            raise RuleError(f"{prefix}.{key}", f"is not a known setting (known: {', '.join(defaults)})")


def _count(value: Any, key: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RuleError(key, f"must be a whole number ≥ {minimum}, got {value!r}")


def _size(value: Any, key: str, allow_auto: bool) -> None:
    if allow_auto and value == "auto":
        return
    if isinstance(value, bool) or not (isinstance(value, int) and value > 0 or isinstance(value, str)
                                       and SIZE.match(value)):
        raise RuleError(key, "must be a size such as \"512MB\" or \"2GiB\" (or bytes as a number)"
                             + (", or \"auto\"" if allow_auto else "") + f", got {value!r}")


def size_in_bytes(value: Any) -> int:
    """``"512MB"`` → 512,000,000; ``"1GiB"`` → 1,073,741,824; a number is bytes."""
    if isinstance(value, int):
        return value
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?)[bB]?\s*$", value)
    number, unit, binary = float(match.group(1)), match.group(2).upper(), match.group(3)
    power = "KMGT".index(unit) + 1 if unit else 0
    return int(number * (1024 if binary else 1000) ** power)
