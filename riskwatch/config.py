"""Load and validate ``config.json`` once into a frozen :class:`Config`.

Every mistake becomes a :class:`ConfigError` that names the key, so nobody has to read a
traceback from deep inside a notebook to learn that a path is misspelt. Standard library
only (the drift policy it validates with is too): the cron tick loads the config before it knows
whether there is anything to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from riskwatch import layout
from riskwatch.decisions import RETRAIN_RULES
from riskwatch.drift.policy import SCORE_RULES, DriftPolicy, DriftPolicyError
from riskwatch.compute_rules import compute_settings
from riskwatch.ingestion_rules import DEFAULT_INGESTION, RuleError, ingestion_settings, positive_label
from riskwatch.server_policy import DEFAULT_API, DEFAULT_DASHBOARD, ServerSettingError, check_sections

BASELINE_PATH_KEYS = ("input_folder_path", "output_folder_path", "test_data_path", "output_model_path",
                      "prod_deployment_path")
EXTRA_PATH_KEYS = ("quarantine_folder_path", "registry_path", "outputs_path")
PATH_KEYS = BASELINE_PATH_KEYS + EXTRA_PATH_KEYS

# Defaults a user gets by leaving a section out. The drift policy owns its defaults and its rules.
DEFAULT_DRIFT: dict[str, Any] = DriftPolicy.defaults()
DEFAULT_DECISION: dict[str, Any] = {
    "retrain_on": "either",        # data drift or score drift
    "score_rule": "parametric",    # raw | parametric | nonparametric
    "min_history": 5,              # scores of the deployed version, in this mode, before a history rule decides
    "min_improvement": 0.0,        # champion/challenger gate on test-data F1
    "estimated_drop": 0.1,         # retrain when the F1 estimated without labels falls this far below the test F1 (0: off)
}
DEFAULT_RUNTIME: dict[str, Any] = {"kernel_name": "python3", "execution_timeout": 600, "start_timeout": 60,
                                   "warm_kernels": True, "fork_kernels": True, "side_by_side": True}
DEFAULT_REPORT: dict[str, Any] = {
    "chromium": "",              # path or command; empty: $RISKWATCH_CHROMIUM, then the usual names
    "index_url": "",             # package index for the dependency check; empty: pip's own
    "dependency_timeout": 3.0,   # seconds per lookup; offline never fails the stage
    "pdf": True,
}
DEFAULT_ALERTS: dict[str, Any] = {"webhook_url": "", "timeout": 5.0,  # an empty webhook_url: no alerts
                                  "events": ["drift", "deploy", "reject", "failure"]}
DEFAULT_LOGGING: dict[str, Any] = {"max_bytes": 5_000_000, "backups": 5}
DEFAULT_RISK: dict[str, Any] = {
    "bands": ["low", "medium", "high"],  # risk bands, lowest first
    "cutoffs": [0.3, 0.6],               # attrition probability where each next band starts
    "top": 10,                           # clients named in the report and the dashboard
}
ALLOWED_ESTIMATOR_PREFIX = "sklearn."

TOP_LEVEL_KEYS = set(PATH_KEYS) | {
    "mode", "modes", "schema", "model", "drift", "decision", "runtime", "report", "api", "alerts", "logging",
    "risk", "description", "dashboard", "ingestion", "compute",
}


class ConfigError(ValueError):
    """A configuration key is missing or wrong; ``key`` names it."""

    def __init__(self, key: str, why: str, source: Path | None = None):
        self.key = key
        self.why = why
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"config key '{key}'{where}: {why}")


@dataclass(frozen=True)
class Schema:
    id_column: str
    numeric_features: tuple[str, ...]
    categorical_features: tuple[str, ...]
    target: str
    positive_label: str | None = None   # the target value that means 1, when targets are text

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric_features + self.categorical_features

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.id_column, *self.features, self.target)

    def as_params(self) -> dict[str, Any]:
        """The schema as plain papermill parameters."""
        return {
            "id_column": self.id_column,
            "numeric_features": list(self.numeric_features),
            "categorical_features": list(self.categorical_features),
            "target": self.target,
            "positive_label": self.positive_label,
        }


@dataclass(frozen=True)
class ModelSpec:
    estimator: str
    params: Mapping[str, Any]
    scale_numeric: bool = False


@dataclass(frozen=True)
class Config:
    source: Path
    root: Path
    mode: str
    input_folder_path: Path
    output_folder_path: Path
    test_data_path: Path
    output_model_path: Path
    prod_deployment_path: Path
    quarantine_folder_path: Path
    registry_path: Path
    outputs_path: Path
    schema: Schema
    model: ModelSpec
    drift: Mapping[str, Any]
    decision: Mapping[str, Any]
    runtime: Mapping[str, Any]
    report: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_REPORT))
    api: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_API))
    dashboard: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_DASHBOARD))
    alerts: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_ALERTS))
    logging: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_LOGGING))
    risk: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_RISK))
    ingestion: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_INGESTION))
    compute: Mapping[str, Any] = field(default_factory=lambda: compute_settings(None))

    @property
    def log_path(self) -> Path:
        return self.outputs_path / layout.LOG

    @property
    def runs_path(self) -> Path:
        return self.outputs_path / layout.RUNS

    @property
    def ledger_path(self) -> Path:
        return self.outputs_path / layout.LEDGER

    @property
    def lock_path(self) -> Path:
        return self.outputs_path / layout.LOCK

    @property
    def pending_cycle_path(self) -> Path:
        return self.outputs_path / layout.PENDING_CYCLE

    @property
    def pending_alerts_path(self) -> Path:
        return self.outputs_path / layout.PENDING_ALERTS

    @property
    def kernel_cache_path(self) -> Path:
        return self.outputs_path / layout.KERNEL_CACHE

    @property
    def record_path(self) -> Path:
        """The ingested-files record (JSON, with content hashes)."""
        return self.output_folder_path / layout.INGESTED_RECORD

    @property
    def finaldata_path(self) -> Path:
        return self.output_folder_path / layout.FINALDATA

    @property
    def notebooks_path(self) -> Path:
        return Path(__file__).resolve().parent.parent / "notebooks"


def _require(mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], prefix: str, source: Path) -> Any:
    name = f"{prefix}{key}"
    if key not in mapping:
        raise ConfigError(name, "is missing", source)
    value = mapping[key]
    # bool is an int in Python; a number field given true/false is a mistake worth naming.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ConfigError(name, f"must be {_kind_name(kind)}, got {value!r}", source)
    if not isinstance(value, kind):
        raise ConfigError(name, f"must be {_kind_name(kind)}, got {value!r}", source)
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "an object"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _merge_section(defaults: Mapping[str, Any], given: Any, section: str, source: Path) -> dict[str, Any]:
    if given is None:
        return dict(defaults)
    if not isinstance(given, dict):
        raise ConfigError(section, "must be an object", source)
    merged = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            raise ConfigError(f"{section}.{key}", f"is not a known setting (known: {', '.join(defaults)})", source)
        default = defaults[key]
        if isinstance(default, bool) != isinstance(value, bool) or (
            isinstance(default, (int, float)) and not isinstance(value, (int, float))
        ) or (isinstance(default, str) and not isinstance(value, str)) or (
            isinstance(default, list) and not isinstance(value, list)
        ):
            raise ConfigError(f"{section}.{key}", f"must be like {default!r}, got {value!r}", source)
        merged[key] = value
    return merged


def _str_list(mapping: Mapping[str, Any], key: str, source: Path, allow_empty: bool = True) -> tuple[str, ...]:
    value = _require(mapping, key, list, "schema.", source)
    if not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"schema.{key}", "must be a list of column names", source)
    if not allow_empty and not value:
        raise ConfigError(f"schema.{key}", "must name at least one column", source)
    return tuple(value)


def _parse_schema(raw: Any, source: Path) -> Schema:
    if not isinstance(raw, dict):
        raise ConfigError("schema", "is missing or not an object", source)
    unknown = set(raw) - {"id_column", "numeric_features", "categorical_features", "target", "positive_label"}
    if unknown:
        raise ConfigError(f"schema.{sorted(unknown)[0]}", "is not a known schema setting", source)
    id_column = _require(raw, "id_column", str, "schema.", source)
    target = _require(raw, "target", str, "schema.", source)
    numeric = _str_list(raw, "numeric_features", source)
    categorical = _str_list(raw, "categorical_features", source) if "categorical_features" in raw else ()
    if not numeric and not categorical:
        raise ConfigError("schema.numeric_features", "no feature columns configured", source)
    columns = [id_column, *numeric, *categorical, target]
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise ConfigError("schema", f"column {dupes[0]!r} is used twice", source)
    return Schema(id_column, numeric, categorical, target,
                  _by_rule(positive_label, raw.get("positive_label"), source))


def _by_rule(check: Any, raw: Any, source: Path) -> Any:
    """``check(raw)``, a RuleError of :mod:`riskwatch.ingestion_rules` becoming a ConfigError."""
    try:
        return check(raw)
    except RuleError as exc:
        raise ConfigError(exc.key, exc.why, source) from None


def _parse_model(raw: Any, source: Path) -> ModelSpec:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("model", "must be an object", source)
    unknown = set(raw) - {"estimator", "params", "scale_numeric"}
    if unknown:
        raise ConfigError(f"model.{sorted(unknown)[0]}", "is not a known model setting", source)
    estimator = raw.get("estimator", "sklearn.linear_model.LogisticRegression")
    if not isinstance(estimator, str) or not estimator.startswith(ALLOWED_ESTIMATOR_PREFIX) or "." not in estimator[8:]:
        raise ConfigError("model.estimator", f"must be a scikit-learn class path like "
                          f"'sklearn.linear_model.LogisticRegression', got {estimator!r}", source)
    params = raw.get("params", {"C": 1.0, "solver": "liblinear", "random_state": 0})
    if not isinstance(params, dict):
        raise ConfigError("model.params", "must be an object of estimator parameters", source)
    scale = raw.get("scale_numeric", False)
    if not isinstance(scale, bool):
        raise ConfigError("model.scale_numeric", "must be true or false", source)
    return ModelSpec(estimator, dict(params), scale)


def _alerts(raw: Any, source: Path) -> dict[str, Any]:
    alerts = _merge_section(DEFAULT_ALERTS, raw, "alerts", source)
    unknown = [e for e in alerts["events"] if e not in DEFAULT_ALERTS["events"]]
    if unknown:
        raise ConfigError("alerts.events", f"unknown event {unknown[0]!r} "
                          f"(known: {', '.join(DEFAULT_ALERTS['events'])})", source)
    url = alerts["webhook_url"]
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError("alerts.webhook_url", f"must be an http(s) URL, got {url!r}", source)
    return alerts


def _drift(raw: Any, source: Path) -> dict[str, Any]:
    """The drift section merged with its defaults, validated by the drift policy's own rules, so a
    value the statistics cannot use never reaches a notebook."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("drift", "must be an object", source)
    try:
        DriftPolicy.from_mapping(raw)
    except DriftPolicyError as exc:
        raise ConfigError(f"drift.{exc.key}", exc.why, source) from None
    return {**DEFAULT_DRIFT, **raw}


def _risk(raw: Any, source: Path) -> dict[str, Any]:
    risk = _merge_section(DEFAULT_RISK, raw, "risk", source)
    bands, cutoffs = risk["bands"], risk["cutoffs"]
    if len(bands) < 2 or not all(isinstance(b, str) and b for b in bands) or len(set(bands)) != len(bands):
        raise ConfigError("risk.bands", f"must name two or more distinct bands, lowest first, got {bands!r}", source)
    numbers = all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cutoffs)
    if len(cutoffs) != len(bands) - 1 or not numbers or list(cutoffs) != sorted(set(cutoffs)) \
            or not all(0 < c < 1 for c in cutoffs):
        raise ConfigError("risk.cutoffs", f"must be {len(bands) - 1} increasing probabilities in (0, 1), one where "
                          f"each band after the first starts, got {cutoffs!r}", source)
    if isinstance(risk["top"], bool) or not isinstance(risk["top"], int) or risk["top"] < 1:
        raise ConfigError("risk.top", f"must be a whole number >= 1, got {risk['top']!r}", source)
    return risk


def load_config(path: str | Path = "config.json", mode: str | None = None) -> Config:
    """Read, validate and resolve the config at ``path`` for ``mode`` (default: its ``mode`` key).

    Paths are resolved relative to the config file's folder, so the project works from any cwd.
    """
    source = Path(path).expanduser().resolve()
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("(file)", "config file not found", source) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError("(file)", f"is not valid JSON: {exc}", source) from None
    if not isinstance(raw, dict):
        raise ConfigError("(file)", "must hold a JSON object", source)
    unknown = sorted(set(raw) - TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(unknown[0], "is not a known setting (typo?)", source)

    modes = raw.get("modes", {})
    if not isinstance(modes, dict) or not all(isinstance(v, dict) for v in modes.values()):
        raise ConfigError("modes", "must map mode names to objects of path overrides", source)
    chosen = mode or raw.get("mode") or "practice"
    if not isinstance(chosen, str):
        raise ConfigError("mode", "must be a string", source)
    if chosen not in modes and chosen != raw.get("mode", "practice"):
        known = ", ".join(sorted({*modes, raw.get("mode", "practice")}))
        raise ConfigError("mode", f"unknown mode {chosen!r} (known: {known})", source)
    overrides = modes.get(chosen, {})
    for key in overrides:
        if key not in PATH_KEYS:
            raise ConfigError(f"modes.{chosen}.{key}", "only path keys can be overridden per mode", source)
    merged = {**raw, **overrides}

    root = source.parent
    paths: dict[str, Path] = {}
    defaults = {"quarantine_folder_path": "data/quarantine", "registry_path": "models/registry",
                "outputs_path": "outputs"}
    for key in PATH_KEYS:
        if key not in merged and key in defaults:
            merged[key] = defaults[key]
        value = merged.get(key)
        name = f"modes.{chosen}.{key}" if key in overrides else key
        if value is None:
            raise ConfigError(name, "is missing", source)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(name, f"must be a non-empty path string, got {value!r}", source)
        paths[key] = (root / value).resolve()

    runtime = _merge_section(DEFAULT_RUNTIME, raw.get("runtime"), "runtime", source)
    if runtime["execution_timeout"] <= 0:
        raise ConfigError("runtime.execution_timeout", "must be a positive number of seconds", source)
    decision = _merge_section(DEFAULT_DECISION, raw.get("decision"), "decision", source)
    if decision["retrain_on"] not in RETRAIN_RULES:
        raise ConfigError("decision.retrain_on", f"must be one of {', '.join(RETRAIN_RULES)}", source)
    if decision["score_rule"] not in SCORE_RULES:
        raise ConfigError("decision.score_rule", f"must be one of {', '.join(SCORE_RULES)}", source)
    if isinstance(decision["min_history"], bool) or not isinstance(decision["min_history"], int) \
            or decision["min_history"] < 2:
        raise ConfigError("decision.min_history", "must be a whole number >= 2 (a spread needs two scores)", source)
    if not 0 <= decision["estimated_drop"] < 1:
        raise ConfigError("decision.estimated_drop", "must be in [0, 1): an F1 drop, 0 to turn the rule off", source)
    drift = _drift(raw.get("drift"), source)
    api = _merge_section(DEFAULT_API, raw.get("api"), "api", source)
    dashboard = _merge_section(DEFAULT_DASHBOARD, raw.get("dashboard"), "dashboard", source)
    try:
        check_sections(api, dashboard)  # the server policy owns these rules, as the drift policy owns its own
    except ServerSettingError as exc:
        raise ConfigError(exc.key, exc.why, source) from None

    return Config(
        source=source, root=root, mode=chosen,
        schema=_parse_schema(raw.get("schema"), source),
        model=_parse_model(raw.get("model"), source),
        drift=drift,
        decision=decision,
        runtime=runtime,
        report=_merge_section(DEFAULT_REPORT, raw.get("report"), "report", source),
        api=api, dashboard=dashboard,
        alerts=_alerts(raw.get("alerts"), source),
        logging=_merge_section(DEFAULT_LOGGING, raw.get("logging"), "logging", source),
        risk=_risk(raw.get("risk"), source),
        ingestion=_by_rule(ingestion_settings, raw.get("ingestion"), source),
        compute=_by_rule(compute_settings, raw.get("compute"), source),
        **paths,
    )
