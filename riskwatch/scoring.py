"""The scoring stage's file work (notebook 03): score the new version and the champion on the
test data, apply the gate, and write the scores where the baseline and the registry keep them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from riskwatch import layout
from riskwatch.config import Schema
from riskwatch.decisions import gate
from riskwatch.metrics import score_model
from riskwatch.newdata import atomic_write_text
from riskwatch.registry import Registry
from riskwatch.tables import load_table


def evaluate_challenger(registry_path: str, model_version: int | None, champion_version: int | None,
                        test_data_path: str, output_model_path: str, schema: Schema,
                        min_improvement: float = 0.0, engine: Any = None) -> dict[str, Any]:
    """Score the new version (and the champion, on the same data) and apply the gate.

    Writes the baseline's ``latestscore.txt`` and a ``scores.json`` with every metric into
    ``output_model_path``, and the metrics into the registry version. On the Dask ``engine`` the
    test data is scored partition by partition (one per CSV file) with each model broadcast once,
    and the metrics come from summed confusion counts (:mod:`riskwatch.dask_scoring`).
    """
    registry = Registry(Path(registry_path))
    if model_version is None:
        versions = registry.versions()
        if not versions:
            raise ValueError(f"no model in the registry at {registry_path}; run training first")
        model_version = versions[-1]
    score = test_scorer(test_data_path, schema, engine)
    metrics = score(registry.load_model(model_version))
    registry.write_metrics(model_version, {**metrics, "test_data": str(test_data_path)})
    champion_metrics = None
    if champion_version is not None and champion_version != model_version:
        champion_metrics = score(registry.load_model(champion_version))
    verdict = gate(metrics["f1"], champion_metrics["f1"] if champion_metrics else None, min_improvement,
                   challenger=model_version, champion=champion_version)
    out = Path(output_model_path)
    atomic_write_text(out / layout.LATEST_SCORE, layout.latest_score_text(metrics["f1"]))
    atomic_write_text(out / layout.SCORES, json.dumps(
        {"version": model_version, **metrics, "champion_version": champion_version,
         "champion": champion_metrics, "promote": verdict.value, "gate_reason": verdict.reason},
        indent=1) + "\n")
    return {"version": model_version, "metrics": metrics, "champion_metrics": champion_metrics,
            "promote": verdict.value, "gate_reason": verdict.reason}


def test_scorer(test_data_path: str, schema: Schema, engine: Any = None) -> Callable[[Any], dict[str, Any]]:
    """model → its metrics on the test data: read once here, or per partition on the Dask engine."""
    if engine is not None and engine.distributed:
        from riskwatch.dask_parts import table_parts
        from riskwatch.dask_scoring import score_parts

        parts = table_parts(test_data_path, schema, engine.blocksize)
        return lambda model: score_parts(engine.client, parts, model, schema)
    test = load_table(test_data_path, schema)
    return lambda model: score_model(model, test, schema)
