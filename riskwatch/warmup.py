"""Imports a kernel can do before it knows what it will show: the Voila dashboard's pre-heated
kernel runs :func:`model_modules` before it waits for a page, so reading the deployed model when
the page is asked for does not pay for scikit-learn's import."""

from __future__ import annotations

import importlib
from pathlib import Path

# What a fitted pipeline's pickle refers to besides its estimator.
PIPELINE_MODULES = ("joblib", "sklearn.pipeline", "sklearn.compose", "sklearn.preprocessing", "sklearn.impute",
                    "sklearn.calibration", "sklearn.isotonic")


def model_modules(config_path: str | Path) -> list[str]:
    """Import the modules the configured model's pickle needs; returns the ones imported. Never raises:
    a warm-up that fails only means the page imports them itself."""
    modules = list(PIPELINE_MODULES)
    try:
        from riskwatch.config import load_config

        modules.append(load_config(config_path).model.estimator.rsplit(".", 1)[0])
    except Exception:  # noqa: BLE001 — a broken config is reported by the page itself
        pass
    done = []
    for name in modules:
        try:
            importlib.import_module(name)
            done.append(name)
        except Exception:  # noqa: BLE001
            continue
    return done
