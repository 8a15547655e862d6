"""The Dask engine gives what the local engine gives: partition by partition on a real LocalCluster
(2 worker processes, 1 thread each, a memory limit) — profiles, metrics, risk lists, the training
sample — and a whole cycle run once with each engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import last_run, make_project, run_runner
from riskwatch.config import Schema
from riskwatch.dask_parts import Part, parquet_parts, table_parts
from riskwatch.dask_profile import (SKETCH_LEVELS, column_values, edges_of, merge_column_values, profile_of_parts,
                                    quantiles_of_counts)
from riskwatch.dask_scoring import risk_list_of_parts, score_parts
from riskwatch.dask_training import stratified_sample
from riskwatch.drift.data import data_drift
from riskwatch.drift.profile import build_profile
from riskwatch.drift.sorted_arrays import runs_sorted
from riskwatch.metrics import score_model
from riskwatch.registry import Registry
from riskwatch.risk import risk_list
from unit_helpers import SCHEMA, clients, fit, region_frame

integration = pytest.mark.integration  # a real LocalCluster, or real runner processes
RISK = {"bands": ["low", "medium", "high"], "cutoffs": [0.3, 0.6], "top": 10}
REGION = Schema("corporation", ("lastmonth_activity",), ("region",), "exited")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="600MB", processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as dask_client:
        yield dask_client


def as_parquet(frame: pd.DataFrame, path: Path, rows_per_group: int, schema: Schema = SCHEMA) -> list[Part]:
    """``frame`` written with small row groups; one part per row group."""
    frame.to_parquet(path, index=False, row_group_size=rows_per_group)
    parts = parquet_parts(path, schema, blocksize=1)
    assert len(parts) == -(-len(frame) // rows_per_group)
    return parts


def test_metrics_from_summed_partition_counts_are_the_metrics_of_the_whole() -> None:
    import riskwatch.metrics as metrics

    rng = np.random.default_rng(4)
    for trial in range(40):
        n = int(rng.integers(5, 3000))
        y = rng.integers(0, 2, n)
        p = np.clip(rng.random(n) * 0.5 + y * 0.3 * rng.random(n), 0, 1)
        if trial % 5 == 0:
            p = np.round(p, 2)  # ties across classes
        predicted = (p > rng.random()).astype(int)
        whole = metrics.metrics_from_predictions(y, predicted, p)
        pieces = [metrics.partition_counts(y[i], predicted[i], p[i]) for i in np.array_split(np.arange(n), 4)]
        summed = pieces[0]
        for piece in pieces[1:]:
            summed = metrics.add_counts(summed, piece)
        assert metrics.metrics_from_counts(summed) == whole  # pairs gathered: scikit-learn's AUC itself
        histogram_only = {**summed, "pairs": None}  # as beyond EXACT_AUC_ROWS rows
        assert {k: v for k, v in metrics.metrics_from_counts(histogram_only).items() if k != "roc_auc"} == \
            {k: v for k, v in whole.items() if k != "roc_auc"}
        if whole["roc_auc"] is not None:
            assert metrics.metrics_from_counts(histogram_only)["roc_auc"] == pytest.approx(whole["roc_auc"], abs=1e-4)
    single = metrics.partition_counts(np.ones(5), np.ones(5), np.full(5, 0.7))
    assert metrics.metrics_from_counts(single)["roc_auc"] is None
    assert metrics.metrics_from_counts({**single, "pairs": None})["roc_auc"] is None


def test_quantiles_from_value_counts_are_numpys_quantiles() -> None:
    rng = np.random.default_rng(5)
    for values in (rng.integers(0, 5000, 20_000).astype(float), np.round(rng.normal(0, 1, 7777), 2),
                   np.array([3.0]), rng.normal(0, 1, 2)):
        values = np.sort(values)
        levels = np.linspace(0, 1, 1001)
        points, counts = runs_sorted(values)
        assert np.array_equal(quantiles_of_counts(points, counts, levels), np.quantile(values, levels))


def test_columns_with_too_many_values_to_count_get_edges_from_the_parts_sketches() -> None:
    from riskwatch.drift.profile import numeric_edges

    whole = pd.DataFrame({"x": np.random.default_rng(6).lognormal(0, 1, 40_000)})
    pieces = [column_values(whole.iloc[i:i + 10_000], ["x"]) for i in range(0, 40_000, 10_000)]
    merged = pieces[0]
    for piece in pieces[1:]:
        merged = merge_column_values(merged, piece)
    # the merged entry keeps one sketch of a fixed size over all rows, however many parts went in
    assert len(merged["x"]["sketches"]) == 1 and merged["x"]["sketches"][0][1] == 40_000
    assert merged["x"]["sketches"][0][0].size == SKETCH_LEVELS
    values = np.sort(whole["x"].to_numpy())
    assert np.array_equal(edges_of(merged["x"]), numeric_edges(values))  # counted exactly: the same edges
    sketched = edges_of({**merged["x"], "exact": None})  # as when a column has too many distinct values
    levels = np.searchsorted(values, sketched) / values.size
    assert sketched.size == 1001 and np.abs(levels - np.linspace(0, 1, 1001)).max() < 0.002


@integration
def test_a_profile_built_per_partition_is_the_profile_built_in_one_piece(client, tmp_path: Path) -> None:
    whole = region_frame(6000, seed=8)
    whole["lastmonth_activity"] = np.round(whole["lastmonth_activity"], 2)  # > 1000 distinct: quantile bins
    whole.loc[::23, "lastmonth_activity"] = np.nan
    parts = as_parquet(whole, tmp_path / "whole.parquet", 1000, REGION)
    one_piece = build_profile(whole, ["lastmonth_activity"], ["region"])
    by_parts = profile_of_parts(client, parts, ["lastmonth_activity"], ["region"])
    a, b = one_piece.numeric["lastmonth_activity"], by_parts.numeric["lastmonth_activity"]
    assert a.kind == b.kind == "bins"
    assert np.array_equal(a.points, b.points) and np.array_equal(a.counts, b.counts)
    assert (a.n, a.missing) == (b.n, b.missing) and by_parts.n_rows == one_piece.n_rows == 6000
    assert b.mean == pytest.approx(a.mean, rel=1e-12) and b.m2 == pytest.approx(a.m2, rel=1e-9)
    assert by_parts.categorical == one_piece.categorical
    assert by_parts.noise_settings == one_piece.noise_settings and by_parts.noise.keys() == one_piece.noise.keys()
    for name, table in one_piece.noise.items():
        assert by_parts.noise[name]["statistic"] == table["statistic"]
        assert by_parts.noise[name]["bounds"] == pytest.approx(table["bounds"], rel=1e-6)
    current = region_frame(800, seed=9)
    current["lastmonth_activity"] += 4
    assert data_drift(by_parts, current, ["lastmonth_activity"], ["region"]).verdict == \
        data_drift(one_piece, current, ["lastmonth_activity"], ["region"]).verdict


@integration
def test_few_distinct_values_are_counted_exactly_across_partitions(client, tmp_path: Path) -> None:
    whole = clients(3000, seed=3)
    parts = as_parquet(whole, tmp_path / "c.parquet", 700)
    features = list(SCHEMA.numeric_features)
    one_piece, by_parts = build_profile(whole, features, []), profile_of_parts(client, parts, features, [])
    for name in features:
        a, b = one_piece.numeric[name], by_parts.numeric[name]
        assert a.kind == b.kind and np.array_equal(a.points, b.points) and np.array_equal(a.counts, b.counts)


@integration
def test_metrics_scored_per_partition_are_the_local_metrics(client, tmp_path: Path) -> None:
    model, test = fit(clients(800, seed=31)), clients(2500, seed=32)
    parts = as_parquet(test, tmp_path / "test.parquet", 600)
    assert score_parts(client, parts, model, SCHEMA) == score_model(model, test, SCHEMA)


@integration
def test_test_data_folder_is_scored_one_file_per_partition(client, tmp_path: Path) -> None:
    model, folder = fit(clients(800, seed=41)), tmp_path / "testdata"
    folder.mkdir()
    frames = [clients(n, seed=42 + n) for n in (300, 500, 200)]
    for i, frame in enumerate(frames):
        frame.to_csv(folder / f"t{i}.csv", index=False)
    parts = table_parts(folder, SCHEMA, blocksize=1 << 20)
    assert len(parts) == 3
    from riskwatch.tables import load_table

    assert score_parts(client, parts, model, SCHEMA) == score_model(model, load_table(folder, SCHEMA), SCHEMA)


@integration
def test_a_risk_list_scored_per_partition_is_the_local_list(client, tmp_path: Path) -> None:
    model, batch = fit(clients(800, seed=51)), clients(3000, seed=52).drop(columns="exited")
    batch = pd.concat([batch, batch.iloc[:40].assign(corporation=lambda f: f["corporation"] + "x")],
                      ignore_index=True)  # equal probabilities in different partitions: ties keep file order
    parts = as_parquet(batch, tmp_path / "batch.parquet", 500)
    local = risk_list(model, batch, SCHEMA, 7, RISK)
    pd.testing.assert_frame_equal(risk_list_of_parts(client, parts, model, SCHEMA, 7, RISK), local)


@integration
def test_the_training_sample_is_stratified_and_all_rows_when_small(client, tmp_path: Path) -> None:
    whole = clients(5000, seed=61)
    parts = as_parquet(whole, tmp_path / "f.parquet", 900)
    everything, how = stratified_sample(client, parts, "exited", 5000)
    assert how == "all rows"
    pd.testing.assert_frame_equal(everything, whole)
    sample, how = stratified_sample(client, parts, "exited", 1000)
    assert len(sample) == 1000 and how["rows"] == 1000 and how["of"] == 5000 and how["stratified_by"] == "exited"
    share = whole["exited"].mean()
    assert sample["exited"].sum() == round(1000 * share) and how["per_class"]["1"] == round(1000 * share)
    assert sample.merge(whole, how="left", indicator=True)["_merge"].eq("both").all()  # real rows, no copies
    assert not sample.duplicated().any()
    regrouped = as_parquet(whole, tmp_path / "g.parquet", 2300)  # another partitioning, the same sample
    again, _ = stratified_sample(client, regrouped, "exited", 1000)
    pd.testing.assert_frame_equal(again, sample)


# ---- the whole cycle, once per engine --------------------------------------------------------

DASK = {"engine": "dask", "dask": {"n_workers": 2, "threads_per_worker": 1, "memory_limit": "600MB"}}


def cycle(root: Path, compute: dict) -> dict:
    """A practice cycle (train, deploy, risk list), then a production cycle (drift, retrain)."""
    config = make_project(root, compute=compute)
    results = {}
    for mode in ("practice", "production"):
        run = run_runner(config, "--mode", mode, "run", timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        record = last_run(root)
        run_dir = root / "outputs" / "runs" / record["run_id"]
        results[mode] = {"record": record, "risk": (run_dir / "risk_scores.csv").read_bytes()}
    registry = Registry(root / "models" / "registry")
    results["versions"] = {v: {"metrics": registry.metrics(v), "meta": registry.metadata(v),
                               "training_rows": len(pd.read_parquet(registry.training_data_path(v)))}
                           for v in registry.versions()}
    results["finaldata"] = (root / "data" / "ingesteddata" / "finaldata.csv").read_bytes()
    return results


@integration
def test_the_same_cycle_with_the_local_and_the_dask_engine(tmp_path: Path) -> None:
    local, dask = cycle(tmp_path / "local", {"engine": "local"}), cycle(tmp_path / "dask", DASK)
    assert dask["finaldata"] == local["finaldata"]
    for mode in ("practice", "production"):
        a, b = local[mode]["record"], dask[mode]["record"]
        assert b["outcome"] == a["outcome"]
        assert {**b["risk"], "path": None} == {**a["risk"], "path": None}  # counts, top clients, estimate
        assert dask[mode]["risk"] == local[mode]["risk"]  # the same rows, probabilities and bands, byte for byte
    drift_a, drift_b = local["production"]["record"]["drift"], dask["production"]["record"]["drift"]
    assert drift_b["data"]["drifted"] == drift_a["data"]["drifted"] is True
    assert drift_b["data"]["verdict"] == drift_a["data"]["verdict"]
    assert dask["production"]["record"]["decisions"]["retrain"]["value"] == \
        local["production"]["record"]["decisions"]["retrain"]["value"]
    assert dask["versions"].keys() == local["versions"].keys() == {1, 2}
    for version, a in local["versions"].items():
        b = dask["versions"][version]
        assert b["metrics"]["f1"] == a["metrics"]["f1"]
        assert b["metrics"]["confusion_matrix"] == a["metrics"]["confusion_matrix"]
        assert b["metrics"]["roc_auc"] == pytest.approx(a["metrics"]["roc_auc"], abs=1e-12)
        assert b["training_rows"] == a["training_rows"] == b["meta"]["training_rows"]
        assert a["meta"]["training"] == {"engine": "local", "sample": "all rows"}
        assert b["meta"]["training"]["engine"] == "dask" and b["meta"]["training"]["sample"] == "all rows"
    json.dumps(dask["versions"], default=str)  # the metadata stays plain JSON


# ---- ingestion: the same per-file staging on the workers, the merge as a shuffle ---------------

@integration
@pytest.mark.parametrize("bucket_rows", [1_000_000, 3])
def test_ingestion_on_the_cluster_writes_what_pandas_and_duckdb_write(client, tmp_path: Path, bucket_rows) -> None:
    from test_duck_ingest import FILES, SCHEMA as INGEST_SCHEMA, reference, write

    from riskwatch import dask_ingest
    from riskwatch.duck_ingest import Session
    from riskwatch.duck_merge import merge as duck_merge
    from riskwatch.tables import LABELLED, UNLABELLED, ValidationError

    folder = write(tmp_path / "in", FILES)
    expected_csv, bad, expected = reference(folder, INGEST_SCHEMA)
    paths = sorted(folder.glob("*.csv"))
    staged = dask_ingest.stage_files(client, paths, INGEST_SCHEMA, tmp_path / "parts")
    assert not [s for s in staged if isinstance(s, ValidationError)]
    assert {p.name for p, s in zip(paths, staged) if s.bad is not None} == set(bad)  # the same rows set aside
    labelled = [s.source() for s in staged if not isinstance(s, ValidationError) and s.kind == LABELLED and s.rows]
    columns, dtypes = dask_ingest.merge(client, labelled, INGEST_SCHEMA, tmp_path / "final.parquet",
                                        tmp_path / "final.csv", bucket_rows=bucket_rows)
    assert (tmp_path / "final.csv").read_bytes() == expected_csv
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "final.parquet"), expected, check_dtype=False)
    with Session(tmp_path / "spill") as session:  # the local engine's merge of the same parts
        assert duck_merge(session, labelled, INGEST_SCHEMA, tmp_path / "duck.parquet",
                          tmp_path / "duck.csv") == (columns, dtypes)
        batch = [s.source() for s in staged if not isinstance(s, ValidationError) and s.kind in (LABELLED, UNLABELLED)]
        assert duck_merge(session, batch, INGEST_SCHEMA, tmp_path / "duck_batch.parquet") == \
            dask_ingest.merge(client, batch, INGEST_SCHEMA, tmp_path / "batch.parquet", bucket_rows=bucket_rows)
    assert (tmp_path / "duck.csv").read_bytes() == expected_csv
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "final.parquet"), pd.read_parquet(tmp_path / "duck.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "batch.parquet"),
                                  pd.read_parquet(tmp_path / "duck_batch.parquet"))
    assert pd.read_parquet(tmp_path / "batch.parquet")["exited"].isna().sum() == 1  # the unlabelled client
    assert not list(tmp_path.glob(".*shuffle*"))


@integration
def test_a_drop_of_repeated_files_is_merged_in_file_order(client, tmp_path: Path) -> None:
    from riskwatch import dask_ingest

    frames = [clients(3000, seed=70 + i) for i in range(4)]
    frames.append(pd.concat([frames[2].iloc[::3], frames[0].iloc[::2], clients(500, seed=80)]))  # repeats
    for i, frame in enumerate(frames):
        frame.to_csv(tmp_path / f"f{i}.csv", index=False)
    paths = sorted(tmp_path.glob("f*.csv"))
    staged = dask_ingest.stage_files(client, paths, SCHEMA, tmp_path / "parts")
    dask_ingest.merge(client, [s.source() for s in staged], SCHEMA, tmp_path / "final.parquet",
                      tmp_path / "final.csv", bucket_rows=2000)
    from riskwatch.tables import read_table

    expected = pd.concat([read_table(p, SCHEMA) for p in paths], ignore_index=True).drop_duplicates(ignore_index=True)
    assert (tmp_path / "final.csv").read_bytes() == expected.to_csv(index=False, lineterminator="\n").encode()
    assert len(pd.read_parquet(tmp_path / "final.parquet")) == len(expected) == 12_500
