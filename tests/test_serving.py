"""The API's fast scorer gives the pipeline's own probabilities, or falls back to it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from riskwatch.config import Schema
from riskwatch.tables import load_table
from riskwatch.serving import compile_scorer
from riskwatch.model import train_model

SCHEMA = Schema("corporation", ("lastmonth_activity", "lastyear_activity", "number_of_employees"), (), "exited")
PARAMS = {"C": 1.0, "solver": "liblinear", "random_state": 0}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    train = load_table(REPO / "data" / "practicedata", SCHEMA)
    test = load_table(REPO / "data" / "testdata", SCHEMA)
    test.loc[test.index[:50], "lastmonth_activity"] = np.nan  # imputed at scoring time
    return train, test


@pytest.mark.parametrize("scale", [False, True])
def test_numpy_path_matches_predict_proba(data, scale: bool) -> None:
    train, test = data
    model = train_model(train, SCHEMA, "sklearn.linear_model.LogisticRegression", PARAMS, scale)
    scorer, path = compile_scorer(model, SCHEMA)
    assert path == "numpy"
    expected = model.predict_proba(test[list(SCHEMA.features)])[:, 1]
    np.testing.assert_allclose(scorer(test), expected, rtol=0, atol=1e-12)
    assert ((scorer(test) > 0.5).astype(int) == model.predict(test[list(SCHEMA.features)])).all()


def test_other_models_fall_back_to_the_pipeline(data) -> None:
    train, test = data
    model = train_model(train, SCHEMA, "sklearn.ensemble.RandomForestClassifier",
                        {"n_estimators": 10, "random_state": 0}, False)
    scorer, path = compile_scorer(model, SCHEMA)
    assert path == "sklearn"
    np.testing.assert_array_equal(scorer(test), model.predict_proba(test[list(SCHEMA.features)])[:, 1])
