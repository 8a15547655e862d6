"""The drift statistics by name: one function plus one :class:`Statistic` entry each.

Like Evidently's ``register_stattest``: an entry says which feature kinds the statistic applies to,
which :class:`~riskwatch.drift.policy.DriftPolicy` threshold it is compared with, and whether it
yields a p-value (drifted when ``p < threshold``) or a distance (drifted when ``statistic >=
threshold``). The entry names its function as ``"module:function"`` and imports it on first use,
so this module, and the policy that validates method names against it, stay standard-library only.

A statistic function takes one argument and returns a :class:`riskwatch.drift.statistics.Outcome`:
for ``numeric`` features a :class:`riskwatch.drift.statistics.Samples` (sorted finite values of both
sides), for ``categorical`` ones a :class:`riskwatch.drift.statistics.Counts` (category counts
aligned over the union of both sides).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable

KINDS = ("numeric", "categorical")
FAMILIES = ("tests", "distances")
YIELDS = ("p_value", "distance")


@dataclass(frozen=True)
class Statistic:
    """One registered drift statistic.

    ``frequency_fallback`` (numeric statistics only) names the categorical statistic used instead
    when both sides of a numeric column together hold fewer than ``ks_min_distinct`` distinct
    values: on a handful of repeated values a KS test or a Wasserstein distance is dominated by
    ties, so the value frequencies are compared instead.
    """

    name: str
    label: str                 # how describe() names it, e.g. "normalised Wasserstein"
    kinds: tuple[str, ...]     # "numeric" and/or "categorical"
    threshold_key: str         # the DriftPolicy field it is compared with
    yields: str                # "p_value" or "distance"
    family: str                # "tests" or "distances"
    function: str              # "module:function", imported on first use
    frequency_fallback: str | None = None

    def threshold(self, policy: Any) -> float:
        """This statistic's threshold in ``policy`` (a DriftPolicy, which imports this module)."""
        return getattr(policy, self.threshold_key)

    def drifted(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        if self.yields == "p_value":
            if p_value is None:
                raise ValueError(f"drift statistic {self.name!r} yields a p-value but returned none")
            return p_value < threshold
        return statistic >= threshold

    def compute(self, data: Any) -> Any:
        """Run the statistic on ``Samples`` or ``Counts``; returns its ``Outcome``."""
        return _resolve(self.function)(data)


@cache
def _resolve(path: str) -> Callable[[Any], Any]:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


_ENTRIES: dict[str, Statistic] = {}

# What "auto" picks: the distances at every size. A distance counts as drift only beyond the
# sampling-noise bound for the batch at hand (riskwatch.drift.noise), so small batches do not
# raise false alarms and large ones are not flagged for differences too small to matter.
AUTO = {"numeric": "wasserstein_norm", "categorical": "jensenshannon"}


def register(entry: Statistic) -> Statistic:
    """Add ``entry``; its name must be new and its fallback already registered."""
    def refuse(why: str) -> None:
        raise ValueError(f"cannot register drift statistic {entry.name!r}: {why}")

    if entry.name in _ENTRIES or entry.name == "auto":
        refuse("the name is taken")
    if not entry.kinds or not set(entry.kinds) <= set(KINDS):
        refuse(f"kinds must be some of {KINDS}, got {entry.kinds!r}")
    if entry.yields not in YIELDS:
        refuse(f"yields must be one of {YIELDS}, got {entry.yields!r}")
    if entry.family not in FAMILIES:
        refuse(f"family must be one of {FAMILIES}, got {entry.family!r}")
    module, colon, attribute = entry.function.partition(":")
    if not (module and colon and attribute):
        refuse(f"function must read 'module:function', got {entry.function!r}")
    if entry.frequency_fallback is not None:
        fallback = _ENTRIES.get(entry.frequency_fallback)
        if "numeric" not in entry.kinds or fallback is None or "categorical" not in fallback.kinds:
            refuse("frequency_fallback must name a registered categorical statistic, "
                   "and only numeric statistics have one")
    _ENTRIES[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a statistic added with :func:`register` (the ones ``auto`` picks stay)."""
    if name in _BUILT_IN:
        raise ValueError(f"drift statistic {name!r} is built in and cannot be removed")
    _ENTRIES.pop(name)


def get(name: str) -> Statistic:
    """The entry called ``name``; KeyError naming the known ones otherwise."""
    try:
        return _ENTRIES[name]
    except KeyError:
        raise KeyError(f"unknown drift statistic {name!r} (known: {', '.join(_ENTRIES)})") from None


def names(kind: str) -> tuple[str, ...]:
    """The statistics that apply to ``kind`` ("numeric" or "categorical"), in registration order."""
    return tuple(name for name, entry in _ENTRIES.items() if kind in entry.kinds)


def label(name: str) -> str:
    """The display label of ``name``, or the name itself if it is not registered."""
    entry = _ENTRIES.get(name)
    return entry.label if entry else name


def choose(kind: str, n_reference: int, policy: Any) -> Statistic:
    """The statistic for ``kind`` features under ``policy`` (a DriftPolicy): its ``<kind>_method``,
    or for "auto" the distance of that kind (``n_reference`` no longer matters; kept for callers)."""
    method = getattr(policy, f"{kind}_method")
    return get(AUTO[kind] if method == "auto" else method)


_STATISTICS = "riskwatch.drift.statistics"
register(Statistic("chi2", "chi2", ("categorical",), "p_value_threshold", "p_value", "tests",
                   f"{_STATISTICS}:chi2"))
register(Statistic("jensenshannon", "Jensen-Shannon distance", ("categorical",), "jensenshannon_threshold",
                   "distance", "distances", f"{_STATISTICS}:jensenshannon"))
register(Statistic("ks", "KS", ("numeric",), "p_value_threshold", "p_value", "tests",
                   f"{_STATISTICS}:ks", frequency_fallback="chi2"))
register(Statistic("wasserstein_norm", "normalised Wasserstein", ("numeric",), "wasserstein_threshold",
                   "distance", "distances", f"{_STATISTICS}:wasserstein_norm",
                   frequency_fallback="jensenshannon"))
_BUILT_IN = frozenset(_ENTRIES)  # the statistics above; unregister() keeps them
