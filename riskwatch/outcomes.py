"""The labels stage's file work (notebook 01c): outcomes that arrive for clients scored in earlier
cycles (a file of ids and targets) are matched to the risk lists that scored them, and the realised
performance of the model that scored them is measured — to set beside the estimate made then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from riskwatch import layout
from riskwatch.config import Schema
from riskwatch.metrics import metrics_from_predictions


def realised_performance(labels_path: str | Path, runs_path: str | Path, run_id: str,
                         schema: Schema) -> tuple[list[dict[str, Any]], int]:
    """Per earlier run whose risk list scored some of these clients (its latest scoring of each
    client counts): that run, the model version and the realised metrics; and how many outcomes
    matched no earlier scoring. No labels file (an analyst's run before any arrived): nothing to
    measure."""
    if not Path(labels_path).is_file():
        return [], 0
    remaining = pd.read_parquet(labels_path).drop_duplicates(schema.id_column, keep="last")
    runs = Path(runs_path).iterdir() if Path(runs_path).is_dir() else ()
    earlier = sorted((run for run in runs
                      if run.name < run_id and (run / layout.RISK_SCORES).is_file()), reverse=True)
    results = []
    for run in earlier:
        if remaining.empty:
            break
        scored = pd.read_csv(run / layout.RISK_SCORES, dtype={schema.id_column: "string"}).drop_duplicates(
            schema.id_column)
        matched = remaining.merge(scored, on=schema.id_column)
        if matched.empty:
            continue
        metrics = metrics_from_predictions(matched[schema.target].to_numpy(), matched["predicted"].to_numpy(),
                                           matched["probability"].to_numpy())
        results.append({"scored_in_run": run.name, "model_version": int(matched["model_version"].iloc[0]),
                        **metrics})
        remaining = remaining[~remaining[schema.id_column].isin(matched[schema.id_column])]
    return results, len(remaining)
