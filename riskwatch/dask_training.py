"""Training data on a Dask cluster: the stratified sample of finaldata a model is fitted on, drawn
partition by partition, and the reference profile of the whole of finaldata.

The model is fitted on the driver, so it sees at most ``compute.dask.training_sample_rows`` rows:
all of finaldata when it has no more, otherwise a sample stratified by the target (each class
keeps its share, rounded by largest remainder). Which rows are drawn depends only on their content
and the seed — each row's key is a seeded hash of its values, and a class keeps the rows with the
smallest keys — so the same finaldata gives the same sample however it is partitioned. How the model
was trained is returned for the registry version (``training`` in its metadata).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from riskwatch.config import Schema
from riskwatch.dask_parts import Part, finaldata_parts, map_parts
from riskwatch.dask_profile import profile_of_parts
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.profile import ReferenceProfile

SAMPLE_SEED = 0


def class_counts(frame: pd.DataFrame, target: str) -> dict[int, int]:
    return {int(k): int(v) for k, v in frame[target].value_counts().items()}


def row_keys(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """A pseudo-random key per row from its values (finaldata holds no duplicate rows)."""
    return pd.util.hash_pandas_object(frame, index=False, hash_key=f"riskwatch{seed:07d}"[:16]).to_numpy()


def smallest_keys(frame: pd.DataFrame, target: str, quotas: Mapping[int, int], seed: int,
                  bounds: Mapping[int, int] | None = None) -> dict[int, np.ndarray]:
    """Per class, the keys of this partition that could be among the class's ``quota`` smallest:
    at most ``quota`` of them, and none above the class's bound when one is given."""
    keys, classes = row_keys(frame, seed), frame[target].to_numpy()
    out = {}
    for label, quota in quotas.items():
        mine = keys[classes == label]
        if bounds is not None:
            mine = mine[mine <= np.uint64(bounds[label])]
        out[label] = np.sort(mine)[:quota]
    return out


def likely_bounds(counts: Mapping[int, int], quotas: Mapping[int, int]) -> dict[int, int]:
    """Per class, a key bound that the class's ``quota``-th smallest key is almost surely under
    (keys are uniform: the share quota/n of the key range, with a margin of many deviations), so
    a partition sends back only its few candidate keys."""
    top = 2 ** 64 - 1
    return {label: int(min(top, top * (quota + 10 * np.sqrt(quota) + 100) / counts[label]))
            for label, quota in quotas.items()}


def rows_within(frame: pd.DataFrame, target: str, thresholds: Mapping[int, int], seed: int) -> pd.DataFrame:
    keys, classes = row_keys(frame, seed), frame[target].to_numpy()
    keep = np.zeros(len(frame), dtype=bool)
    for label, threshold in thresholds.items():
        keep |= (classes == label) & (keys <= threshold)
    return frame[keep]


def quotas_of(counts: Mapping[int, int], rows: int) -> dict[int, int]:
    """Rows per class for a sample of ``rows``: each class's share, largest remainders rounded up."""
    total = sum(counts.values())
    exact = {label: rows * n / total for label, n in counts.items()}
    quotas = {label: int(np.floor(x)) for label, x in exact.items()}
    for label in sorted(exact, key=lambda k: (-(exact[k] - quotas[k]), k))[:rows - sum(quotas.values())]:
        quotas[label] += 1
    return quotas


def identity(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def stratified_sample(client: Any, parts: Sequence[Part], target: str, rows: int,
                      seed: int = SAMPLE_SEED) -> tuple[pd.DataFrame, dict[str, Any] | str]:
    """At most ``rows`` rows of the table in ``parts``, in file order, stratified by ``target``;
    with what was drawn: ``"all rows"`` or ``{"rows", "of", "stratified_by", "seed", "per_class"}``."""
    per_part = map_parts(client, class_counts, [replace(p, columns=(target,)) for p in parts], target)
    counts: dict[int, int] = {}
    for part in per_part:
        for label, n in part.items():
            counts[label] = counts.get(label, 0) + n
    total = sum(counts.values())
    if total <= rows:
        return pd.concat(map_parts(client, identity, parts), ignore_index=True), "all rows"
    quotas = quotas_of(counts, rows)
    candidates = map_parts(client, smallest_keys, parts, target, quotas, seed, likely_bounds(counts, quotas))
    if any(sum(c[label].size for c in candidates) < quota for label, quota in quotas.items()):
        candidates = map_parts(client, smallest_keys, parts, target, quotas, seed)  # the bound was too low
    thresholds = {label: int(np.sort(np.concatenate([c[label] for c in candidates]))[quota - 1])
                  for label, quota in quotas.items() if quota > 0}
    sample = pd.concat(map_parts(client, rows_within, parts, target, thresholds, seed), ignore_index=True)
    return sample, {"rows": int(len(sample)), "of": int(total), "stratified_by": target, "seed": seed,
                    "per_class": {str(k): int(v) for k, v in sorted(quotas.items())}}


def training_data_on_cluster(client: Any, finaldata_path: str, schema: Schema, rows: int, blocksize: int,
                             policy: DriftPolicy) -> tuple[pd.DataFrame, ReferenceProfile, dict[str, Any]]:
    """The frame to fit on (finaldata, or its stratified sample), the reference profile of the
    whole of finaldata built partition by partition, and the registry's ``training`` record."""
    parts = finaldata_parts(finaldata_path, schema, blocksize, schema.columns)
    data, sample = stratified_sample(client, parts, schema.target, rows)
    profile = profile_of_parts(client, parts, schema.numeric_features, schema.categorical_features, policy)
    return data, profile, {"engine": "dask", "sample": sample, "partitions": len(parts)}
