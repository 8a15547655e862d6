"""The registered drift statistics, one function each (entries in :mod:`riskwatch.drift.registry`).

A numeric statistic takes :class:`Samples`, a categorical one :class:`Counts`; each returns an
:class:`Outcome`. Only numpy and scipy do the arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from riskwatch.drift.report import fmt
from riskwatch.drift.sorted_arrays import wasserstein_sorted

# scipy is imported where a statistic is computed, not here: a Dask worker that only summarizes
# parts never loads it (~60 MB). A stage's kernel has it anyway, through scikit-learn.


@dataclass(frozen=True)
class Outcome:
    """What a statistic found. ``effect_size`` None: for numeric features the normalised
    Wasserstein distance is the effect; for categorical ones the statistic itself is."""

    statistic: float
    p_value: float | None = None
    effect_size: float | None = None
    effect_name: str = ""


@dataclass(frozen=True)
class ScaledDistance:
    value: float
    name: str           # how it was scaled, e.g. "wasserstein/std"
    note: str | None    # set when the reference is constant and the usual scale does not exist
    scale: float = 1.0  # what the distance was divided by


@dataclass
class Samples:
    """The sorted finite values of one numeric feature in the reference and the current data."""

    reference: np.ndarray
    current: np.ndarray
    spread: float | None = None   # the reference's population std when known exactly (profiles)

    @cached_property
    def normalised_wasserstein(self) -> ScaledDistance:
        """Wasserstein distance over the reference's population std (as the common drift tools
        normalise), computed once: it is both a statistic and every numeric feature's effect size."""
        ref = self.reference
        w = wasserstein_sorted(ref, self.current)
        ref_mean = float(ref.mean())
        note = None
        if ref[0] != ref[-1]:
            # Comparing the sorted ends is an exact constancy check; np.std of a constant column
            # can come out as 1e-17 instead of 0.
            scale, name = (self.spread or float(ref.std())), "wasserstein/std"
        elif ref_mean != 0:
            # Constant reference: there is no spread to scale by, so scale by its magnitude and
            # the effect reads as a relative shift ("current is 30% of the value away").
            scale, name = abs(ref_mean), "wasserstein/|mean|"
            note = f"reference is constant ({fmt(ref_mean)}), distance scaled by its absolute value"
        else:
            scale, name = 1.0, "wasserstein"
            note = "reference is constant at 0, distance not scaled"
        return ScaledDistance(w / scale, name, note, scale)


@dataclass(frozen=True)
class Counts:
    """Counts of each category (or value) in the reference and the current data, aligned over
    their union; every category occurs on at least one side."""

    reference: np.ndarray
    current: np.ndarray


def ks(samples: Samples) -> Outcome:
    """Two-sample Kolmogorov-Smirnov test."""
    from scipy import stats

    res = stats.ks_2samp(samples.reference, samples.current)
    return Outcome(float(res.statistic), float(res.pvalue))


def wasserstein_norm(samples: Samples) -> Outcome:
    """Wasserstein distance over the reference's spread (see :attr:`Samples.normalised_wasserstein`)."""
    return Outcome(samples.normalised_wasserstein.value)


def chi2(counts: Counts) -> Outcome:
    """Chi-squared test of homogeneity, with Cramér's V as the effect size."""
    ref_counts, cur_counts = counts.reference, counts.current
    if ref_counts.size < 2:
        # One category on both sides: the frequencies cannot differ.
        return Outcome(0.0, 1.0, 0.0, "cramers_v")
    table = np.vstack((ref_counts, cur_counts))
    from scipy import stats

    res = stats.chi2_contingency(table)
    statistic = float(res.statistic)
    # Cramér's V is defined on the uncorrected chi2; scipy applies Yates' correction
    # to 2x2 tables, so recompute without it there.
    uncorrected = statistic if res.dof != 1 else float(stats.chi2_contingency(table, correction=False).statistic)
    effect = math.sqrt(uncorrected / int(table.sum()))  # min(rows, cols) - 1 == 1 for 2 rows
    return Outcome(statistic, float(res.pvalue), effect, "cramers_v")


def jensenshannon(counts: Counts) -> Outcome:
    """Jensen-Shannon distance (base 2, so within [0, 1]) of the two frequency distributions."""
    from scipy.spatial import distance

    statistic = float(distance.jensenshannon(counts.reference, counts.current, base=2))
    return Outcome(statistic, None, statistic, "js_distance")
