"""Imports a kernel can do before it knows what it will show: the Voila dashboard's pre-heated
kernel runs :func:`model_modules` before it waits for a page, so reading the deployed model and
drawing the first chart when a page is asked for do not pay for scikit-learn's and matplotlib's
imports."""

from __future__ import annotations

import importlib
from pathlib import Path

# The pipeline a fitted model's pickle refers to (riskwatch.model imports it), and the charts.
MODULES = ("riskwatch.model", "joblib", "matplotlib.pyplot", "seaborn")


def model_modules(config_path: str | Path) -> list[str]:
    """Import what the page and the configured model need; returns the modules imported. Never
    raises: a warm-up that fails only means the page imports them itself."""
    done = []
    for name in MODULES:
        try:
            importlib.import_module(name)
            done.append(name)
        except Exception:  # noqa: BLE001
            continue
    try:  # the estimator's own module, found as training finds it
        from riskwatch.config import load_config
        from riskwatch.model import make_estimator

        done.append(type(make_estimator(load_config(config_path).model.estimator, {})).__module__)
    except Exception:  # noqa: BLE001 — a broken config is reported by the page itself
        pass
    return done
