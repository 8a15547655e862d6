"""The drift stage's file work (notebook 01b): read the deployed model, the reference profile of its
training data and the new batch, and assess the batch against them
(:func:`riskwatch.assessment.assess_batch`). The check reads the profile, not the training data,
so its cost follows the batch, not the reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from riskwatch.config import Schema
from riskwatch.drift.policy import DriftPolicy
from riskwatch.drift.profile import ReferenceProfile, build_profile
from riskwatch.assessment import assess_batch
from riskwatch.registry import Registry


def check_deployed_model(registry_path: str | Path, deployed_version: int | None, current_path: str | Path,
                         schema: Schema, policy: Mapping[str, Any], score_history: Sequence[float],
                         score_rule: str, min_history: int, retrain_on: str, mode: str | None = None,
                         estimated_drop: float = 0.0, engine: Any = None) -> dict[str, Any]:
    """The assessment of the batch at ``current_path`` for ``deployed_version`` (default: the
    version in production), with the two frames compared, for plotting.

    The reference is the version's stored profile (on the Dask ``engine`` it was built partition
    by partition at training; for an older version without one, it is built here the same way from
    its training data). The batch — one cycle's new rows — is compared on the driver: the
    statistics need its exact values."""
    registry = Registry(Path(registry_path))
    version = deployed_version if deployed_version is not None else registry.production_version()
    if version is None:
        raise RuntimeError("no model is deployed yet: run training, scoring and deployment first")
    reference = reference_of(registry, version, schema, policy, engine)
    current = pd.read_parquet(current_path)
    recorded_f1 = (registry.metrics(version) or {}).get("f1")
    assessment = assess_batch(reference, current, schema, policy, registry.load_model(version), recorded_f1,
                              score_history, score_rule, min_history, retrain_on, version, mode,
                              registry.load_calibrator(version), estimated_drop)
    return {**assessment, "version": version, "reference": reference, "current": current}


def reference_of(registry: Registry, version: int, schema: Schema, policy: Mapping[str, Any],
                 engine: Any = None) -> ReferenceProfile:
    """The version's stored profile; for a version trained before profiles existed, one built
    from its training data (once per check; per partition on the Dask ``engine``)."""
    stored = registry.profile(version)
    if stored is not None:
        return ReferenceProfile.from_dict(stored)
    if engine is not None and engine.distributed:
        from riskwatch.dask_parts import parquet_parts
        from riskwatch.dask_profile import profile_of_parts

        parts = parquet_parts(registry.training_data_path(version), schema, engine.blocksize,
                              [*schema.numeric_features, *schema.categorical_features])
        return profile_of_parts(engine.client, parts, schema.numeric_features, schema.categorical_features,
                                DriftPolicy.from_mapping(policy))
    data = pd.read_parquet(registry.training_data_path(version))
    return build_profile(data, schema.numeric_features, schema.categorical_features, DriftPolicy.from_mapping(policy))
