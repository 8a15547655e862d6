"""riskwatch.model: the pipeline, the estimator factory, refusing data, categorical columns and the
baseline's published scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from riskwatch.config import Schema
from riskwatch.metrics import score_model
from riskwatch.model import TrainingError, build_pipeline, make_estimator, train_model
from riskwatch.tables import load_table, read_table
from unit_helpers import ESTIMATOR, PARAMS, SCHEMA, UDACITY, clients, region_frame

CAT_SCHEMA = Schema("corporation", ("lastmonth_activity",), ("region",), "exited")


def udacity_training(part: str) -> pd.DataFrame:
    folder = UDACITY / part
    if not folder.is_dir() or not (UDACITY / "testdata").is_dir():
        pytest.skip(f"the baseline's canonical data is not at {UDACITY}")
    files = sorted(folder.glob("*.csv"))
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True).drop_duplicates(ignore_index=True)


def test_build_pipeline_is_a_sklearn_pipeline() -> None:
    pipeline = build_pipeline(SCHEMA, ESTIMATOR, PARAMS)
    assert isinstance(pipeline, Pipeline)
    assert [name for name, _ in pipeline.steps] == ["preprocess", "model"]
    model = pipeline.named_steps["model"]
    assert isinstance(model, LogisticRegression)
    assert {k: model.get_params()[k] for k in PARAMS} == PARAMS
    numeric = pipeline.named_steps["preprocess"].transformers[0]
    assert numeric[0] == "numeric" and numeric[2] == list(SCHEMA.numeric_features)
    assert not any(isinstance(step, StandardScaler) for _, step in numeric[1].steps)


def test_scale_numeric_adds_a_scaler() -> None:
    pipeline = build_pipeline(SCHEMA, ESTIMATOR, PARAMS, scale_numeric=True)
    numeric_steps = pipeline.named_steps["preprocess"].transformers[0][1].steps
    assert [name for name, _ in numeric_steps] == ["impute", "scale"]
    assert isinstance(numeric_steps[1][1], StandardScaler)


def test_unscaled_pipeline_equals_logistic_regression_on_raw_features() -> None:
    """The baseline fits raw values; without missing values the preprocessing is the identity."""
    data = clients(400, seed=3)
    test = clients(200, seed=4)
    features = list(SCHEMA.features)
    pipeline = train_model(data, SCHEMA, ESTIMATOR, PARAMS)
    bare = LogisticRegression(**PARAMS).fit(data[features], data[SCHEMA.target])
    np.testing.assert_allclose(pipeline.predict_proba(test[features]), bare.predict_proba(test[features]))
    np.testing.assert_array_equal(pipeline.predict(test[features]), bare.predict(test[features]))


def test_missing_numeric_values_are_imputed_with_the_median() -> None:
    data = clients(200, seed=5)
    pipeline = train_model(data, SCHEMA, ESTIMATOR, PARAMS)
    row = data[list(SCHEMA.features)].head(1).astype(float)
    gap = row.copy()
    gap.loc[:, "number_of_employees"] = np.nan
    filled = row.copy()
    filled.loc[:, "number_of_employees"] = data["number_of_employees"].median()
    np.testing.assert_allclose(pipeline.predict_proba(gap), pipeline.predict_proba(filled))


@pytest.mark.parametrize("part,published", [("practicedata", 0.5714), ("sourcedata", 0.3333)])
def test_udacity_baseline_f1(part: str, published: float) -> None:
    data = udacity_training(part)
    model = train_model(data, SCHEMA, ESTIMATOR, PARAMS)
    test = load_table(UDACITY / "testdata", SCHEMA)
    assert round(score_model(model, test, SCHEMA)["f1"], 4) == published


@pytest.mark.parametrize("path", ["xgboost.XGBClassifier", "os.system", "sklearnx.linear_model.Foo"])
def test_non_sklearn_estimators_are_refused(path: str) -> None:
    with pytest.raises(TrainingError, match="only scikit-learn"):
        make_estimator(path, {})
    with pytest.raises(TrainingError):
        build_pipeline(SCHEMA, path, {})


def test_unknown_sklearn_class_and_bad_params_are_training_errors() -> None:
    with pytest.raises(TrainingError, match="no estimator"):
        make_estimator("sklearn.linear_model.NoSuchModel", {})
    with pytest.raises(TrainingError, match="no estimator"):
        make_estimator("sklearn.no_such_module.Model", {})
    with pytest.raises(TrainingError, match="bad parameters for LogisticRegression"):
        make_estimator(ESTIMATOR, {"not_a_param": 1})


def test_make_estimator_applies_params() -> None:
    model = make_estimator("sklearn.tree.DecisionTreeClassifier", {"max_depth": 2, "random_state": 1})
    assert model.get_params()["max_depth"] == 2 and model.get_params()["random_state"] == 1


def test_other_sklearn_classifiers_train() -> None:
    data = clients(300, seed=6)
    model = train_model(data, SCHEMA, "sklearn.tree.DecisionTreeClassifier", {"max_depth": 3, "random_state": 0})
    assert model.named_steps["model"].get_depth() <= 3
    assert set(model.predict(data[list(SCHEMA.features)])) <= {0, 1}


def test_single_class_data_is_refused() -> None:
    data = clients(100, seed=7)
    data["exited"] = 0
    with pytest.raises(TrainingError, match="single class"):
        train_model(data, SCHEMA, ESTIMATOR, PARAMS)


def test_empty_data_is_refused() -> None:
    with pytest.raises(TrainingError, match="no rows"):
        train_model(clients(10, seed=8).iloc[0:0], SCHEMA, ESTIMATOR, PARAMS)


def test_categorical_column_is_one_hot_encoded() -> None:
    data = region_frame(300, seed=9)
    model = train_model(data, CAT_SCHEMA, ESTIMATOR, PARAMS)
    preprocess = model.named_steps["preprocess"]
    names = list(preprocess.get_feature_names_out())
    assert names == ["lastmonth_activity", "region_east", "region_north", "region_south"]
    encoded = preprocess.transform(data[list(CAT_SCHEMA.features)].head(5))
    for row, region in zip(encoded, data["region"].head(5)):
        assert list(row[1:]) == [float(region == r) for r in ("east", "north", "south")]
    # the category carries the signal: north is predicted riskier than south
    probe = pd.DataFrame({"lastmonth_activity": [100.0, 100.0], "region": ["north", "south"]})
    north, south = model.predict_proba(probe)[:, 1]
    assert north > south


def test_unseen_category_at_predict_time_does_not_crash() -> None:
    data = region_frame(300, seed=10)
    model = train_model(data, CAT_SCHEMA, ESTIMATOR, PARAMS)
    probe = pd.DataFrame({"lastmonth_activity": [100.0], "region": ["atlantis"]})
    encoded = model.named_steps["preprocess"].transform(probe)
    assert list(encoded[0][1:]) == [0.0, 0.0, 0.0]  # all-zero one-hot
    probability = model.predict_proba(probe)[0, 1]
    assert 0.0 < probability < 1.0
    assert model.predict(probe)[0] in (0, 1)


def test_missing_category_from_read_table_is_imputed(tmp_path: Path) -> None:
    data = region_frame(60, seed=11)
    data.loc[3, "region"] = None
    data.to_csv(tmp_path / "d.csv", index=False)
    frame = read_table(tmp_path / "d.csv", CAT_SCHEMA)
    model = train_model(frame, CAT_SCHEMA, ESTIMATOR, PARAMS)
    assert model.predict(frame[list(CAT_SCHEMA.features)]).shape == (60,)
