"""riskwatch.config: loading, mode overrides, path resolution and ConfigError messages."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from riskwatch.config import (
    DEFAULT_DECISION,
    DEFAULT_DRIFT,
    DEFAULT_RUNTIME,
    PATH_KEYS,
    Config,
    ConfigError,
    load_config,
)
from riskwatch.drift.policy import DriftPolicy, DriftPolicyError
from unit_helpers import REPO

REPO_CONFIG = REPO / "config.json"


def repo_raw() -> dict:
    return json.loads(REPO_CONFIG.read_text())


def write(folder: Path, raw: dict | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw, indent=1))
    return path


# ---- the repository's own config ----------------------------------------------------------

def test_repo_config_practice_mode() -> None:
    cfg = load_config(REPO_CONFIG)
    raw = repo_raw()
    assert isinstance(cfg, Config)
    assert cfg.mode == raw["mode"] == "practice"
    assert cfg.source == REPO_CONFIG.resolve()
    assert cfg.root == REPO
    assert cfg.input_folder_path == REPO / "data" / "practicedata"
    for key in PATH_KEYS:
        assert getattr(cfg, key) == (REPO / raw[key]).resolve(), key
    assert cfg.schema.target == raw["schema"]["target"]
    assert cfg.schema.columns == (raw["schema"]["id_column"], *raw["schema"]["numeric_features"],
                                  raw["schema"]["target"])
    assert cfg.model.estimator == raw["model"]["estimator"]
    assert dict(cfg.model.params) == raw["model"]["params"]


def test_repo_config_production_mode_overrides_only_its_paths() -> None:
    practice = load_config(REPO_CONFIG)
    production = load_config(REPO_CONFIG, "production")
    overrides = repo_raw()["modes"]["production"]
    assert production.mode == "production"
    assert production.input_folder_path == REPO / "data" / "sourcedata"
    assert production.output_model_path == REPO / "models" / "models"
    for key in PATH_KEYS:
        if key not in overrides:
            assert getattr(production, key) == getattr(practice, key), key
    assert production.schema == practice.schema
    assert production.model == practice.model


def test_drift_section_is_accepted_by_the_drift_policy() -> None:
    """The config's drift keys and the drift module's policy fields must agree."""
    policy = DriftPolicy.from_mapping(load_config(REPO_CONFIG).drift)
    assert policy.p_value_threshold == repo_raw()["drift"]["p_value_threshold"]
    assert policy.psi_bands == tuple(repo_raw()["drift"]["psi_bands"])


def test_config_is_frozen() -> None:
    cfg = load_config(REPO_CONFIG)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.mode = "production"  # type: ignore[misc]


# ---- path resolution ---------------------------------------------------------------------

def test_paths_resolve_relative_to_the_config_folder_not_the_cwd(tmp_path: Path, monkeypatch) -> None:
    raw = repo_raw()
    raw.update(input_folder_path="in/raw", output_folder_path="./out", test_data_path="../shared/test",
               output_model_path="m", prod_deployment_path="prod")
    for key in ("quarantine_folder_path", "registry_path", "outputs_path"):
        raw.pop(key)  # defaults apply, also relative to the config folder
    raw["modes"] = {"practice": {}, "production": {"input_folder_path": "in/source"}}
    folder = tmp_path / "project" / "conf"
    path = write(folder, raw)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    cfg = load_config(path)
    assert cfg.root == folder
    assert cfg.input_folder_path == folder / "in" / "raw"
    assert cfg.output_folder_path == folder / "out"
    assert cfg.test_data_path == tmp_path / "project" / "shared" / "test"
    assert cfg.quarantine_folder_path == folder / "data" / "quarantine"
    assert cfg.registry_path == folder / "models" / "registry"
    assert cfg.outputs_path == folder / "outputs"
    assert cfg.record_path == folder / "out" / "ingestedfiles.json"
    assert cfg.finaldata_path == folder / "out" / "finaldata.csv"
    assert cfg.ledger_path == folder / "outputs" / "ledger.sqlite"
    assert cfg.runs_path == folder / "outputs" / "runs"
    assert load_config(path, "production").input_folder_path == folder / "in" / "source"
    # a relative config path is taken from the cwd, the paths inside it are not
    monkeypatch.chdir(tmp_path / "project")
    assert load_config("conf/config.json").input_folder_path == folder / "in" / "raw"


def test_absolute_paths_stay_absolute(tmp_path: Path) -> None:
    raw = repo_raw()
    raw["test_data_path"] = str(tmp_path / "abs" / "test")
    cfg = load_config(write(tmp_path / "c", raw))
    assert cfg.test_data_path == tmp_path / "abs" / "test"


def test_sections_left_out_get_defaults(tmp_path: Path) -> None:
    raw = repo_raw()
    for section in ("drift", "decision", "runtime", "model"):
        raw.pop(section)
    raw["schema"].pop("categorical_features")
    cfg = load_config(write(tmp_path, raw))
    assert dict(cfg.drift) == DEFAULT_DRIFT
    assert dict(cfg.decision) == DEFAULT_DECISION
    assert dict(cfg.runtime) == DEFAULT_RUNTIME
    assert cfg.schema.categorical_features == ()
    assert cfg.model.estimator == "sklearn.linear_model.LogisticRegression"
    assert cfg.model.scale_numeric is False


def test_partial_sections_merge_with_defaults(tmp_path: Path) -> None:
    raw = repo_raw()
    raw["decision"] = {"retrain_on": "both"}
    raw["runtime"] = {"execution_timeout": 30.5}
    cfg = load_config(write(tmp_path, raw))
    assert cfg.decision == {**DEFAULT_DECISION, "retrain_on": "both"}
    assert cfg.runtime == {**DEFAULT_RUNTIME, "execution_timeout": 30.5}


def test_mode_named_by_the_mode_key_needs_no_modes_entry(tmp_path: Path) -> None:
    raw = repo_raw()
    raw["mode"] = "staging"
    cfg = load_config(write(tmp_path, raw))
    assert cfg.mode == "staging"
    assert cfg.input_folder_path == (tmp_path / raw["input_folder_path"]).resolve()


def test_optional_sections_merge_with_defaults(tmp_path: Path) -> None:
    raw = repo_raw()
    raw["api"] = {"port": 8123}
    raw["alerts"] = {"webhook_url": "http://127.0.0.1:9/hook"}
    cfg = load_config(write(tmp_path, raw))
    assert cfg.api["port"] == 8123 and cfg.api["host"] == "127.0.0.1"
    assert cfg.alerts["webhook_url"] == "http://127.0.0.1:9/hook" and "deploy" in cfg.alerts["events"]
    assert cfg.logging["backups"] >= 1 and cfg.report["pdf"] is True


def test_unknown_setting_in_an_optional_section_is_named(tmp_path: Path) -> None:
    raw = repo_raw()
    raw["api"] = {"prot": 8000}
    with pytest.raises(ConfigError, match=r"api\.prot"):
        load_config(write(tmp_path, raw))


# ---- every mistake names its key -----------------------------------------------------------

def _del(*keys):
    def change(raw):
        target = raw
        for k in keys[:-1]:
            target = target[k]
        del target[keys[-1]]
    return change


def _set(value, *keys):
    def change(raw):
        target = raw
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return change


BAD = {
    "missing input_folder_path": (_del("input_folder_path"), "input_folder_path"),
    "missing schema.target": (_del("schema", "target"), "schema.target"),
    "unknown top-level key": (_set("data/x", "input_folder_pth"), "input_folder_pth"),
    "wrong type execution_timeout": (_set("x", "runtime", "execution_timeout"), "runtime.execution_timeout"),
    "bool for a number": (_set(True, "runtime", "execution_timeout"), "runtime.execution_timeout"),
    "non-positive timeout": (_set(0, "runtime", "execution_timeout"), "runtime.execution_timeout"),
    "unknown runtime key": (_set(1, "runtime", "timeout"), "runtime.timeout"),
    "bad retrain_on": (_set("sometimes", "decision", "retrain_on"), "decision.retrain_on"),
    "bad score_rule": (_set("vibes", "decision", "score_rule"), "decision.score_rule"),
    "min_history below 2": (_set(1, "decision", "min_history"), "decision.min_history"),
    "min_history not whole": (_set(4.5, "decision", "min_history"), "decision.min_history"),
    "drift_share out of range": (_set(1.5, "drift", "drift_share"), "drift.drift_share"),
    "psi_bands not two": (_set([0.1], "drift", "psi_bands"), "drift.psi_bands"),
    "empty path": (_set(" ", "output_folder_path"), "output_folder_path"),
    "path not a string": (_set(3, "test_data_path"), "test_data_path"),
    "schema not an object": (_set([], "schema"), "schema"),
    "unknown schema key": (_set("x", "schema", "label"), "schema.label"),
    "target not a string": (_set(1, "schema", "target"), "schema.target"),
    "features not names": (_set([1, 2], "schema", "numeric_features"), "schema.numeric_features"),
    "no features": (_set([], "schema", "numeric_features"), "schema.numeric_features"),
    "duplicate column": (_set("exited", "schema", "id_column"), "schema"),
    "non-sklearn estimator": (_set("xgboost.XGBClassifier", "model", "estimator"), "model.estimator"),
    "unknown model key": (_set(1, "model", "seed"), "model.seed"),
    "model params not object": (_set([1], "model", "params"), "model.params"),
    "scale_numeric not bool": (_set("yes", "model", "scale_numeric"), "model.scale_numeric"),
    "mode override of a non-path key": (
        lambda raw: raw.update(mode="production", modes={"production": {"schema": {}}}),
        "modes.production.schema"),
    "modes not objects": (_set({"practice": "x"}, "modes"), "modes"),
    "unknown bad_rows choice": (_set("drop", "ingestion", "bad_rows"), "ingestion.bad_rows"),
    "unknown ingestion key": (_set(1, "ingestion", "max_bad"), "ingestion.max_bad"),
    "ingestion not an object": (_set([], "ingestion"), "ingestion"),
    "empty positive_label": (_set(" ", "schema", "positive_label"), "schema.positive_label"),
    "positive_label not text": (_set(1, "schema", "positive_label"), "schema.positive_label"),
}


@pytest.mark.parametrize("change,key", BAD.values(), ids=list(BAD))
def test_mistakes_raise_config_error_naming_the_key(tmp_path: Path, change, key: str) -> None:
    raw = copy.deepcopy(repo_raw())
    change(raw)
    path = write(tmp_path, raw)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == key
    assert f"'{key}'" in str(caught.value)
    assert str(path.resolve()) in str(caught.value)


def test_missing_path_in_chosen_mode_names_the_override(tmp_path: Path) -> None:
    raw = repo_raw()
    raw["modes"]["production"]["input_folder_path"] = ""
    path = write(tmp_path, raw)
    load_config(path)  # practice mode is unaffected
    with pytest.raises(ConfigError) as caught:
        load_config(path, "production")
    assert caught.value.key == "modes.production.input_folder_path"


def test_unknown_mode(tmp_path: Path) -> None:
    path = write(tmp_path, repo_raw())
    with pytest.raises(ConfigError) as caught:
        load_config(path, "staging")
    assert caught.value.key == "mode"
    assert "'mode'" in str(caught.value) and "staging" in str(caught.value)
    assert "practice" in str(caught.value) and "production" in str(caught.value)


def test_invalid_json(tmp_path: Path) -> None:
    path = write(tmp_path, '{"mode": "practice",,}')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "(file)"
    assert "not valid JSON" in str(caught.value)
    assert str(path) in str(caught.value)


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JSON object"):
        load_config(write(tmp_path, "[1, 2]"))


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "config.json"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert caught.value.key == "(file)"
    assert "not found" in str(caught.value) and str(missing) in str(caught.value)


def test_config_error_is_a_value_error() -> None:
    error = ConfigError("a.b", "is wrong")
    assert isinstance(error, ValueError)
    assert str(error) == "config key 'a.b': is wrong"


# ---- the drift section follows the drift policy's rules --------------------------------------

@pytest.mark.parametrize("key,value", [
    ("p_value_threshold", 5),
    ("min_rows", 2.5),
    ("min_rows", True),
    ("psi_bands", [0.25, 0.1]),
    ("psi_bands", [0, 0.1]),
    ("psi_bands", [0.1]),
    ("jensenshannon_threshold", 1.5),
    ("small_sample_max_rows", -1),
    ("numeric_method", "nope"),
    ("numeric_method", "chi2"),
    ("categorical_method", "ks"),
    ("wasserstein_treshold", 0.2),
])
def test_drift_values_the_drift_policy_refuses_are_config_errors(tmp_path: Path, key: str, value) -> None:
    """One set of rules: load_config refuses exactly what DriftPolicy refuses, with its words."""
    raw = repo_raw()
    raw["drift"][key] = value
    with pytest.raises(DriftPolicyError) as refused:
        DriftPolicy.from_mapping(raw["drift"])
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, raw))
    assert refused.value.key == key
    assert caught.value.key == f"drift.{key}"
    assert caught.value.why == refused.value.why


def test_unknown_drift_method_names_the_key_and_the_choices(tmp_path: Path) -> None:
    raw = repo_raw()
    raw["drift"]["numeric_method"] = "kolmogorov"
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, raw))
    assert caught.value.key == "drift.numeric_method"
    assert "auto, ks, wasserstein_norm" in caught.value.why and "'kolmogorov'" in caught.value.why


def test_drift_section_is_a_plain_dict_with_the_policy_defaults(tmp_path: Path) -> None:
    raw = repo_raw()
    raw["drift"] = {"numeric_method": "ks", "psi_bands": [0.2, 0.3]}
    cfg = load_config(write(tmp_path, raw))
    assert cfg.drift == {**DriftPolicy.defaults(), "numeric_method": "ks", "psi_bands": [0.2, 0.3]}
    assert DEFAULT_DRIFT == DriftPolicy.defaults() and DEFAULT_DRIFT["psi_bands"] == [0.1, 0.25]
    assert json.loads(json.dumps(cfg.drift)) == cfg.drift  # goes to notebooks as a parameter


def test_configured_numeric_method_overrides_auto_for_a_large_reference(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    stats = pytest.importorskip("scipy.stats")
    from riskwatch.drift.data import data_drift

    raw = repo_raw()
    raw["drift"]["numeric_method"] = "ks"
    policy = DriftPolicy.from_mapping(load_config(write(tmp_path, raw)).drift)
    rng = np.random.default_rng(0)
    ref, cur = pd.DataFrame({"x": rng.normal(0, 1, 5000)}), pd.DataFrame({"x": rng.normal(0, 1, 5000)})
    report = data_drift(ref, cur, ["x"], [], policy)
    assert report.method_family == "tests" and report.feature("x").method == "ks"
    assert report.feature("x").p_value == pytest.approx(stats.ks_2samp(ref["x"], cur["x"]).pvalue)
    assert data_drift(ref, cur, ["x"], []).feature("x").method == "wasserstein_norm"  # auto


def test_ingestion_and_positive_label_defaults_and_values(tmp_path: Path) -> None:
    cfg = load_config(REPO_CONFIG)
    assert cfg.ingestion["bad_rows"] == "quarantine" and cfg.schema.positive_label is None
    raw = copy.deepcopy(repo_raw())
    raw["ingestion"] = {"bad_rows": "refuse_file"}
    raw["schema"]["positive_label"] = " Churned "
    cfg = load_config(write(tmp_path, raw))
    assert cfg.ingestion["bad_rows"] == "refuse_file" and cfg.schema.positive_label == "Churned"
