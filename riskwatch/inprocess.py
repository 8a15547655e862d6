"""A deployed model in seconds, for benchmarks and tests: ingest, train, score and deploy with the
stage notebooks' own functions in this process, without the drift check or the gate. Cycles go
through :func:`riskwatch.pipeline.run_cycle`; this is not one."""

from __future__ import annotations

from riskwatch.config import Config
from riskwatch.deployment import deploy_to_production
from riskwatch.events import Deployed
from riskwatch.ingestion import ingest
from riskwatch.recorder import Recorder
from riskwatch.scoring import evaluate_challenger
from riskwatch.training import train_and_register


def train_and_deploy_in_process(cfg: Config, run_id: str = "in-process") -> int:
    """Returns the deployed version; the deployment is recorded like a cycle's."""
    ingest(cfg.input_folder_path, cfg.output_folder_path, cfg.quarantine_folder_path, cfg.schema, run_id)
    version, _, _ = train_and_register(str(cfg.finaldata_path), str(cfg.record_path), str(cfg.registry_path),
                                       str(cfg.output_model_path), cfg.schema, cfg.model.estimator,
                                       cfg.model.params, cfg.model.scale_numeric, run_id)
    scored = evaluate_challenger(str(cfg.registry_path), version, None, str(cfg.test_data_path),
                                 str(cfg.output_model_path), cfg.schema)
    pointer = deploy_to_production(cfg.registry_path, version, cfg.prod_deployment_path, run_id)
    Recorder(cfg, echo=lambda line: None).record(
        Deployed(version, pointer["previous_version"], scored["metrics"], scored["gate_reason"]))
    return version
