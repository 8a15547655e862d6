"""Where a stage's heavy work runs: the ``compute`` section made into an open engine.

``open_engine(compute)`` gives the ``local`` engine (this process; nothing to start or close) or the
``dask`` engine: a :class:`distributed.Client` on a ``LocalCluster`` it starts (empty
``compute.dask.scheduler_address``), or on a running cluster at that address. Closing the engine
closes its client, and the LocalCluster only when the engine started it: a cluster the engine
merely connected to belongs to someone else and keeps running.

Dask is imported only on the ``dask`` path, so the local engine (and the cron tick) never pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from riskwatch.compute_rules import compute_settings, size_in_bytes

CONNECT_TIMEOUT = 10.0  # seconds to reach a scheduler before saying it is not there


class EngineError(RuntimeError):
    """The configured engine cannot be opened; the message names the key to look at."""


@dataclass
class Engine:
    """An open compute engine: ``name`` is "local" or "dask"; ``client`` is the Dask client (None
    locally); ``settings`` is the whole ``compute`` section with its defaults."""

    name: str
    settings: Mapping[str, Any]
    client: Any = None
    cluster: Any = None        # the LocalCluster this engine started (None when it only connected)
    closed: bool = field(default=False, init=False)

    @property
    def distributed(self) -> bool:
        return self.client is not None

    @property
    def scheduler_address(self) -> str | None:
        return self.client.scheduler_info().get("address") if self.client is not None and not self.closed \
            else self.settings["dask"]["scheduler_address"] or None

    @property
    def blocksize(self) -> int:
        """Bytes of data per partition (``compute.dask.blocksize``)."""
        return size_in_bytes(self.settings["dask"]["blocksize"])

    @property
    def training_sample_rows(self) -> int:
        return int(self.settings["dask"]["training_sample_rows"])

    def close(self) -> None:
        """Close the client, then the LocalCluster if this engine started it (idempotent)."""
        if self.closed:
            return
        self.closed = True
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "" if self.client is None else f" at {self.scheduler_address}"
        return f"<Engine {self.name}{where}{' (closed)' if self.closed else ''}>"


def open_engine(compute: Mapping[str, Any] | None = None, connect_timeout: float = CONNECT_TIMEOUT) -> Engine:
    """The engine ``compute`` asks for (missing keys take their defaults). Raises
    :class:`EngineError` naming ``compute.dask.scheduler_address`` when that scheduler cannot be reached."""
    settings = compute_settings(dict(compute or {}))
    return ENGINES[settings["engine"]](settings, connect_timeout)


def _open_local(settings: Mapping[str, Any], connect_timeout: float) -> Engine:
    return Engine("local", settings)


def _open_dask(settings: Mapping[str, Any], connect_timeout: float) -> Engine:
    from distributed import Client, LocalCluster

    d = settings["dask"]
    address = d["scheduler_address"]
    if address:
        try:
            client = Client(address, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise EngineError(f"no Dask scheduler answered at {address!r} within {connect_timeout:g} s "
                              f"(compute.dask.scheduler_address): start one with `dask scheduler` and "
                              f"`dask worker {address}`, or leave the key empty to start a LocalCluster "
                              f"({type(exc).__name__}: {exc})") from None
        return Engine("dask", settings, client)
    cluster = LocalCluster(n_workers=d["n_workers"], threads_per_worker=d["threads_per_worker"],
                           memory_limit=d["memory_limit"], processes=True, dashboard_address=None)
    try:
        client = Client(cluster)
    except BaseException:
        cluster.close()
        raise
    return Engine("dask", settings, client, cluster)


# The engines by the name ``compute.engine`` gives (riskwatch.compute_rules.ENGINES describes them).
ENGINES = {"local": _open_local, "dask": _open_dask}
