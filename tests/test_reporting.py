"""riskwatch.reporting: the report's figures and tables."""

from __future__ import annotations

from riskwatch.reporting import drift_table


def test_drift_table_is_readable() -> None:
    drift = {"features": [{"feature": "a", "method": "ks", "statistic": 0.5, "p_value": 0.001,
                           "effect_size": 1.2, "effect_name": "wasserstein/std", "psi": 0.4,
                           "psi_band": "significant change", "drifted": True}]}
    table = drift_table(drift)
    assert table.loc["a", "verdict"] == "DRIFT" and table.loc["a", "PSI"] == "0.4 (high)"
    assert drift_table(None).empty
