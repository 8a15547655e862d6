"""The risk stage's file work (notebook 04b): score every client of the cycle's batch with the model
in production, and write the risk list into the run folder and, as the latest list, beside the
deployed model (where ``GET /risk``, ``status`` and the dashboard read it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from riskwatch import layout
from riskwatch.config import Schema
from riskwatch.estimation import estimate_performance
from riskwatch.newdata import atomic_write
from riskwatch.registry import Registry
from riskwatch.risk import band_counts, risk_list


def write_risk_list(registry_path: str | Path, batch_path: str | Path, risk_path: str | Path,
                    prod_deployment_path: str | Path, schema: Schema, risk: Mapping[str, Any],
                    engine: Any = None) -> dict[str, Any]:
    """The list of every client in the batch, highest risk first; returns a summary with the
    version that scored it, the count per band, the top clients and the model's performance on
    these clients estimated without labels (:mod:`riskwatch.estimation`). On the Dask ``engine``
    the batch is scored partition by partition with the model broadcast once
    (:func:`riskwatch.dask_scoring.risk_list_of_parts`); ``clients`` is then None (the batch is
    not read on the driver)."""
    registry = Registry(Path(registry_path))
    version = registry.production_version()
    if version is None:
        raise RuntimeError("no model is deployed yet: run training, scoring and deployment first")
    model = registry.load_model(version)
    if engine is not None and engine.distributed:
        from riskwatch.dask_parts import parquet_parts
        from riskwatch.dask_scoring import risk_list_of_parts

        clients = None
        columns = [schema.id_column, *schema.features]
        table = risk_list_of_parts(engine.client, parquet_parts(batch_path, schema, engine.blocksize, columns),
                                   model, schema, version, risk)
    else:
        clients = pd.read_parquet(batch_path)
        table = risk_list(model, clients, schema, version, risk)
    for path in (Path(risk_path), Path(prod_deployment_path) / layout.LATEST_RISK):
        atomic_write(path, lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))
    top = table.head(int(risk["top"]))
    estimate = estimate_performance(table["probability"].to_numpy(), table["predicted"].to_numpy(),
                                    registry.load_calibrator(version))
    return {"model_version": version, "estimate": estimate, "n_scored": len(table), "band_counts": band_counts(table, risk["bands"]),
            "top": [{"id": str(i), "probability": float(p), "risk_band": b}
                    for i, p, b in zip(top[schema.id_column], top["probability"], top["risk_band"])],
            "table": table, "model": model, "clients": clients}
