"""The drift policy: thresholds and method choice, validated by one set of rules.

``riskwatch.config`` validates the config's ``drift`` section by building this policy, so a value
the statistics cannot use never reaches a notebook. Standard library only: the cron tick loads it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from numbers import Integral, Real
from typing import Any, Mapping

from riskwatch.drift import registry

SCORE_RULES = ("raw", "parametric", "nonparametric")  # for score drift (decision.score_rule)


class DriftPolicyError(ValueError):
    """A drift policy value is wrong; ``key`` names the setting and ``why`` says what is wrong."""

    def __init__(self, key: str, why: str, message: str | None = None):
        self.key = key
        self.why = why
        super().__init__(message or f"drift policy {key} {why}")


@dataclass(frozen=True)
class DriftPolicy:
    """Thresholds for data drift; defaults follow the common drift tools.

    ``numeric_method`` and ``categorical_method`` name a statistic of
    :mod:`riskwatch.drift.registry` for that kind of feature, or "auto": the distances (normalised
    Wasserstein, Jensen-Shannon) at every size. A distance counts as drift only when it reaches
    its threshold (the practical size of a change) **and** exceeds what sampling noise alone
    produces at this reference and batch size: a high quantile of the distance between samples of
    those sizes drawn from the reference itself (``noise_replicates`` draws). The quantile is set so
    that, with no change at all, the dataset verdict (``drift_share`` of the features) is wrong in
    at most ``false_alarm_rate`` of the checks (:func:`feature_quantile`).
    ``small_sample_max_rows`` is kept so older configs load; "auto" no longer switches on it.
    """

    small_sample_max_rows: int = 1000
    p_value_threshold: float = 0.05
    ks_min_distinct: int = 6
    wasserstein_threshold: float = 0.1
    jensenshannon_threshold: float = 0.1
    psi_bins: int = 10
    psi_bands: tuple[float, float] = (0.1, 0.25)
    drift_share: float = 0.5
    min_rows: int = 10
    numeric_method: str = "auto"
    categorical_method: str = "auto"
    false_alarm_rate: float = 0.01
    noise_replicates: int = 400

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_type(f.name, f.default, getattr(self, f.name))
        # JSON gives lists; a frozen dataclass must stay hashable, so store a tuple.
        object.__setattr__(self, "psi_bands", tuple(float(b) for b in self.psi_bands))
        bands = self.psi_bands
        checks = [
            ("small_sample_max_rows", self.small_sample_max_rows >= 0, "must be >= 0"),
            ("p_value_threshold", 0 < self.p_value_threshold < 1, "must be in (0, 1)"),
            ("ks_min_distinct", self.ks_min_distinct >= 2, "must be >= 2"),
            ("wasserstein_threshold", self.wasserstein_threshold > 0, "must be > 0"),
            ("jensenshannon_threshold", 0 < self.jensenshannon_threshold <= 1, "must be in (0, 1]"),
            ("psi_bins", self.psi_bins >= 2, "must be >= 2"),
            ("psi_bands", 0 < bands[0] < bands[1], "must be two increasing positive numbers, e.g. [0.1, 0.25]"),
            ("drift_share", 0 < self.drift_share <= 1, "must be in (0, 1]"),
            ("min_rows", self.min_rows >= 1, "must be >= 1"),
            ("false_alarm_rate", 0 < self.false_alarm_rate <= 0.2, "must be in (0, 0.2]"),
            ("noise_replicates", self.noise_replicates >= 50, "must be >= 50"),
        ]
        for name, ok, why in checks:
            if not ok:
                raise DriftPolicyError(name, f"{why}, got {getattr(self, name)!r}")
        for kind in registry.KINDS:
            self._check_method(kind)

    def _check_method(self, kind: str) -> None:
        key = f"{kind}_method"
        method = getattr(self, key)
        if method == "auto":
            return
        known = ", ".join(("auto",) + registry.names(kind))
        try:
            entry = registry.get(method)
        except KeyError:
            raise DriftPolicyError(key, f"must be one of {known}, got {method!r}") from None
        if kind not in entry.kinds:
            raise DriftPolicyError(key, f"{method!r} applies to {' and '.join(entry.kinds)} features "
                                        f"only; use one of {known}")
        settings = {f.name for f in fields(self)}
        fallback = [registry.get(entry.frequency_fallback)] if entry.frequency_fallback else []
        for used in (entry, *fallback):
            if used.threshold_key not in settings:
                raise DriftPolicyError(key, f"{method!r} needs threshold {used.threshold_key!r}, "
                                            f"which is not a drift setting")

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> DriftPolicy:
        """Build from a config section; missing keys keep their defaults, wrong ones raise
        :class:`DriftPolicyError` naming the key."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(str(k) for k in m if k not in known)
        if unknown:
            raise DriftPolicyError(unknown[0], f"is not a known setting (known: {', '.join(known)})",
                                   f"unknown drift policy key(s): {', '.join(unknown)} "
                                   f"(known: {', '.join(known)})")
        return cls(**dict(m))  # __post_init__ turns a psi_bands list into a tuple

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The default settings as a config section would spell them (``psi_bands`` a list)."""
        return {f.name: list(f.default) if isinstance(f.default, tuple) else f.default for f in fields(cls)}


def _check_type(name: str, default: Any, value: Any) -> None:
    """``value`` must have the type of ``default``; bool is an int subclass, but ``min_rows: true``
    in a config is a mistake."""
    if isinstance(default, tuple):
        ok = isinstance(value, (tuple, list)) and len(value) == len(default) and all(
            isinstance(v, Real) and not isinstance(v, bool) for v in value)
        wanted = f"{len(default)} numbers"
    elif isinstance(default, str):
        ok, wanted = isinstance(value, str), "a string"
    else:
        integer = isinstance(default, int)
        ok = isinstance(value, Integral if integer else Real) and not isinstance(value, bool)
        wanted = "an integer" if integer else "a number"
    if not ok:
        raise DriftPolicyError(name, f"must be {wanted}, got {value!r}")


MIN_FEATURE_QUANTILE = 0.9   # a single feature is called drifted at most 10 % of the time by noise


def feature_quantile(n_features: int, drift_share: float, false_alarm_rate: float) -> float:
    """The per-feature noise quantile that keeps the dataset's false-alarm rate within
    ``false_alarm_rate``: with independent features each past its bound with probability p, the
    dataset drifts when at least ``ceil(drift_share * n)`` of ``n`` do (a binomial tail)."""
    n = max(n_features, 1)
    needed = max(1, math.ceil(drift_share * n - 1e-9))

    def tail(p: float) -> float:
        return sum(math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(needed, n + 1))

    low, high = 0.0, 1 - MIN_FEATURE_QUANTILE
    if tail(high) <= false_alarm_rate:
        return MIN_FEATURE_QUANTILE
    for _ in range(50):  # bisection: tail() grows with p
        mid = (low + high) / 2
        low, high = (mid, high) if tail(mid) <= false_alarm_rate else (low, mid)
    return 1 - low
