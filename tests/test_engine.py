"""riskwatch.engine: the local engine needs no Dask; the Dask engine starts and closes its own
LocalCluster, connects to a running cluster without ever stopping it, and says clearly when the
configured scheduler is not there."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import closed_port
from riskwatch.engine import EngineError, open_engine

DASK = {"engine": "dask", "dask": {"n_workers": 2, "threads_per_worker": 1, "memory_limit": "600MB"}}


def test_the_local_engine_and_the_cron_tick_never_import_dask() -> None:
    code = ("import sys\nfrom riskwatch.engine import open_engine\nimport riskwatch.cron\n"
            "with open_engine({'engine': 'local'}) as engine:\n"
            "    assert engine.name == 'local' and engine.client is None and not engine.distributed\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_missing_keys_take_their_defaults_and_a_bad_engine_is_refused() -> None:
    from riskwatch.ingestion_rules import RuleError

    engine = open_engine({})
    assert engine.name == "local" and engine.training_sample_rows == 200_000 and engine.blocksize == 64_000_000
    engine.close()
    engine.close()  # closing twice is harmless
    with pytest.raises(RuleError, match="compute.engine"):
        open_engine({"engine": "spark"})


@pytest.mark.integration
def test_an_empty_address_starts_a_local_cluster_and_closing_stops_it() -> None:
    with open_engine(DASK) as engine:
        assert engine.name == "dask" and engine.distributed and engine.cluster is not None
        workers = engine.client.scheduler_info()["workers"].values()
        assert len(workers) == 2
        assert {w["nthreads"] for w in workers} == {1} and {w["memory_limit"] for w in workers} == {600_000_000}
        assert engine.client.submit(sum, [1, 2, 3]).result() == 6
        cluster = engine.cluster
    assert engine.closed and engine.client.status == "closed"
    assert cluster.status.name == "closed"


@pytest.mark.integration
def test_an_address_connects_to_a_running_cluster_and_closing_leaves_it_running() -> None:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="600MB", processes=True,
                      dashboard_address=None) as cluster:
        settings = {"engine": "dask", "dask": {"scheduler_address": cluster.scheduler_address}}
        with open_engine(settings) as engine:
            assert engine.cluster is None  # not ours to stop
            assert engine.client.scheduler_info()["address"] == cluster.scheduler_address
            assert engine.client.submit(pow, 2, 10).result() == 1024
        assert engine.client.status == "closed"
        assert cluster.status.name == "running"
        with Client(cluster) as other:  # the cluster still works for everyone else
            assert len(other.scheduler_info()["workers"]) == 2
            assert other.submit(pow, 3, 3).result() == 27


@pytest.mark.integration
def test_a_scheduler_started_with_the_dask_command_line_is_reachable() -> None:
    """The documented way to run a cluster: `dask scheduler` and `dask worker ADDRESS`."""
    dask = str(Path(sys.executable).parent / "dask")
    port = closed_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--memory-limit", "400MB",
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with open_engine({"engine": "dask", "dask": {"scheduler_address": address}}, connect_timeout=30) as engine:
            engine.client.wait_for_workers(1, timeout=30)
            assert engine.client.submit(max, [4, 9, 2]).result() == 9
        assert scheduler.poll() is None and worker.poll() is None  # closing the engine stopped neither
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)


@pytest.mark.integration
def test_an_unreachable_address_is_a_clear_error_within_the_connect_timeout() -> None:
    address = f"tcp://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(EngineError, match="compute.dask.scheduler_address") as raised:
        open_engine({"engine": "dask", "dask": {"scheduler_address": address}}, connect_timeout=2)
    assert time.monotonic() - started < 15
    assert address in str(raised.value) and "dask scheduler" in str(raised.value)
