"""Drift results as data: per-feature evidence, the dataset verdict, their JSON and sentences."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from riskwatch.drift import registry

TOO_FEW = "too few non-missing values"


def json_value(value: Any) -> Any:
    """Plain Python for JSON: numpy scalars unwrapped, NaN and infinities become None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (tuple, list)):
        return [json_value(v) for v in value]
    return value


def fmt(x: float | None, digits: int = 4) -> str:
    """A number for a sentence: ``digits`` significant digits, "n/a" when missing or not finite."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.{digits}g}"


@dataclass(frozen=True)
class FeatureDrift:
    """Drift verdict and evidence for one feature.

    ``n_reference``/``n_current`` count the non-missing values used; ``note`` says why a feature was
    not tested or was not allowed to count as drifted, or how a degenerate case was handled.
    """

    feature: str
    kind: str
    method: str
    statistic: float
    p_value: float | None
    effect_size: float
    effect_name: str
    threshold: float
    drifted: bool
    psi: float
    psi_band: str
    reference_mean: float | None
    current_mean: float | None
    n_reference: int = 0
    n_current: int = 0
    note: str | None = None
    noise_bound: float | None = None   # what sampling noise alone reaches at these sizes (distances)

    @property
    def tested(self) -> bool:
        """False when the feature could not be compared at all (e.g. all values missing on one side)."""
        return self.method != "none"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: plain Python types, None instead of NaN."""
        return {f.name: json_value(getattr(self, f.name)) for f in fields(self)}

    def describe(self) -> str:
        """One plain-English sentence with the verdict and its evidence."""
        if not self.tested:
            return f"{self.feature} not tested, counted as not drifted: {self.note}"
        name = registry.label(self.method)
        if self.p_value is not None:
            sign = "<" if self.p_value < self.threshold else ">="
            test = f"{name} p={fmt(self.p_value, 2)} {sign} {fmt(self.threshold)}"
            evidence = [f"effect: {self.effect_name} {fmt(self.effect_size, 3)}"]
        else:
            if self.noise_bound is None:
                sign = ">=" if self.statistic >= self.threshold else "<"
                test = f"{name} {fmt(self.statistic, 3)} {sign} {fmt(self.threshold)}"
            else:
                bound = self.noise_bound
                practical = self.statistic >= self.threshold - bound / 2
                beyond = self.statistic > bound
                test = (f"{name} {fmt(self.statistic, 3)}, {'above' if beyond else 'within'} the noise bound "
                        f"{fmt(bound, 3)} for {self.n_current} new rows and {'of' if practical else 'below'} "
                        f"practical size (threshold {fmt(self.threshold)}, less half the bound)")
            evidence = []
        if self.reference_mean is not None and self.current_mean is not None:
            evidence.append(f"mean {fmt(self.reference_mean)} -> {fmt(self.current_mean)}")
        if math.isfinite(self.psi):
            evidence.append(f"PSI {fmt(self.psi, 3)}, {self.psi_band}")
        if self.drifted:
            verdict = "drifted"
        elif self.note and self.note.startswith(TOO_FEW):
            verdict = "not counted as drifted"
        else:
            verdict = "did not drift"
        sentence = f"{self.feature} {verdict}: {test} ({'; '.join(evidence)})"
        return f"{sentence}; {self.note}" if self.note else sentence


@dataclass(frozen=True)
class DataDriftReport:
    """Per-feature results and the dataset verdict; ``drifted`` is None when refused for too few rows.

    ``method_family`` is "tests" or "distances" (the family of the statistics used), or "mixed"
    when the policy picked a test for one kind of feature and a distance for the other.
    """

    features: tuple[FeatureDrift, ...]
    n_reference: int
    n_current: int
    method_family: str
    share_drifted: float | None
    drifted: bool | None
    verdict: str

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features if f.drifted)

    def feature(self, name: str) -> FeatureDrift:
        """The result for feature ``name`` (KeyError if it was not compared)."""
        for f in self.features:
            if f.feature == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict, features included with their one-line descriptions."""
        return {
            "n_reference": int(self.n_reference),
            "n_current": int(self.n_current),
            "method_family": self.method_family,
            "share_drifted": json_value(self.share_drifted),
            "drifted": json_value(self.drifted),
            "verdict": self.verdict,
            "features": [{**f.to_dict(), "description": f.describe()} for f in self.features],
        }
