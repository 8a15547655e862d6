"""Scoring on a Dask cluster: the model broadcast once to every worker, each partition scored where
it is read, and only small results sent back — summed confusion counts for metrics
(:func:`riskwatch.metrics.partition_counts`), or the risk list's few columns per client."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import pandas as pd

from riskwatch.config import Schema
from riskwatch.dask_parts import Part, broadcast, map_parts, map_reduce_parts
from riskwatch.metrics import add_counts, metrics_from_counts, partition_counts, predicted_and_probability
from riskwatch.risk import highest_first, scored_clients


def counts_of_partition(frame: pd.DataFrame, model: Any, schema: Schema) -> dict[str, Any]:
    """One labelled partition scored by ``model``: its share of the metrics."""
    predicted, probability = predicted_and_probability(model, frame, schema)
    return partition_counts(frame[schema.target].to_numpy(), predicted, probability)


def risk_rows_of_partition(frame: pd.DataFrame, model: Any, schema: Schema, version: int,
                           risk: Mapping[str, Any]) -> pd.DataFrame:
    """One partition's rows of the risk list, in its order."""
    return scored_clients(model, frame, schema, version, risk)


def score_parts(client: Any, parts: Sequence[Part], model: Any, schema: Schema) -> dict[str, Any]:
    """:func:`riskwatch.metrics.score_model` over labelled ``parts``: the same metrics, from
    counts summed over the partitions."""
    shared = broadcast(client, model)
    try:
        needed = (*schema.features, schema.target)  # not the ids: the largest column, and not needed for counts
        narrow = [replace(p, columns=needed) for p in parts]
        return metrics_from_counts(map_reduce_parts(client, counts_of_partition, narrow, add_counts, shared, schema))
    finally:
        client.cancel([shared])


def risk_list_of_parts(client: Any, parts: Sequence[Part], model: Any, schema: Schema, version: int,
                       risk: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`riskwatch.risk.risk_list` over ``parts``: each partition scored on a worker, the
    scored rows (id, probability, class, band, version) concatenated in file order and sorted
    highest risk first on the driver, ties in file order — the same table."""
    shared = broadcast(client, model)
    try:
        scored = map_parts(client, risk_rows_of_partition, parts, shared, schema, version, dict(risk))
    finally:
        client.cancel([shared])
    return highest_first(pd.concat(scored, ignore_index=True))
