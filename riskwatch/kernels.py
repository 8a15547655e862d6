"""Kernels started before they are needed: while one stage runs, the next stage's kernel starts in
the background and imports the heavy libraries, so a stage pays only for its own work.

Each kernel serves one notebook and is shut down after it: a stage never meets another notebook's
state, and a stage after a failure gets a fresh kernel like any other. The warm-up runs silently
(no execution count, no history, no output), so an executed notebook is exactly what an analyst
gets from a new kernel. If a warm kernel cannot be had, papermill starts one as before.

With ``fork``, kernels are forked from one process that imports once (:mod:`riskwatch.kernel_forks`)
instead of each importing for itself. Kernels handed over answer papermill's readiness check in
milliseconds (:func:`ready_client_class`).
"""

from __future__ import annotations

import asyncio
import functools
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

# Every stage glues its scraps: scrapbook's import is part of every stage's start-up.
SCRAPBOOK = "import riskwatch.scraps\nriskwatch.scraps._import_scrapbook()"


def imports_of(notebook: Path) -> str:
    """Code importing what ``notebook``'s cells import (each import on its own, failures ignored),
    then scrapbook: what a kernel meant for that notebook imports ahead."""
    import ast
    import json

    modules: list[str] = []
    for cell in json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            modules += [n for n in names if n not in modules]
    lines = [f"try:\n    import {m}\nexcept Exception:\n    pass" for m in modules]
    return "\n".join(lines + [SCRAPBOOK])


class KernelPool:
    """``ahead`` spare kernels at a time, started in background threads.

    ``preloads`` is what the coming notebooks import, in the order they are expected to run (see
    :func:`imports_of`): each new kernel imports the next of them (scrapbook alone once they run
    out). A skipped stage only means a kernel imported a little more or less than needed.
    ``take()`` hands over a started, warmed kernel manager (or None when warming failed: the caller
    lets papermill start its own) and starts warming the next; ``release(km)`` shuts a used one
    down in the background; ``close()`` stops the spares and waits for every shutdown (and the
    fork server, with ``fork``).
    """

    def __init__(self, kernel_name: str, cwd: Path, start_timeout: float, extra_arguments: Sequence[str] = (),
                 preloads: Sequence[str] = (), ahead: int = 2, fork: bool = False):
        self.kernel_name, self.cwd, self.start_timeout = kernel_name, Path(cwd), float(start_timeout)
        self.extra_arguments, self.ahead = list(extra_arguments), ahead
        self.preloads = list(preloads)
        self._server = None
        if fork:  # kernels forked from one process that imports once (riskwatch.kernel_forks)
            from riskwatch.kernel_forks import ForkServer

            try:
                self._server = ForkServer(self.cwd, self.start_timeout, self.preloads)
            except OSError:
                self._server = None
        # Forked kernels start in a moment, one after the other and in the order asked for (the
        # first stage's never waits behind the imports of the second's); others start at once.
        self._starter = ThreadPoolExecutor(1 if self._server is not None else ahead,
                                           thread_name_prefix="riskwatch-kernel-start")
        self._stopper = ThreadPoolExecutor(1, thread_name_prefix="riskwatch-kernel-stop")
        self._stopper.submit(__import__, "papermill")  # the runner needs it for the first stage: meanwhile
        self._spares: list[Future] = []

    def warm(self, wanted: int | None = None) -> None:
        """Keep ``ahead`` kernels (``wanted``, if fewer) on their way."""
        limit = self.ahead if wanted is None else min(self.ahead, wanted)
        while len(self._spares) < limit:
            preload = self.preloads.pop(0) if self.preloads else SCRAPBOOK
            self._spares.append(self._starter.submit(self._started, preload))

    def take(self, later: int | None = None) -> Any | None:
        """A warmed kernel manager for the next notebook, or None if warming failed. ``later``: how
        many more kernels may still be asked for (no spare is started beyond them)."""
        if not self._spares:
            self.warm(1)
        future = self._spares.pop(0)
        try:
            km = future.result(timeout=self.start_timeout + 30)
        except Exception:  # noqa: BLE001 — papermill will start a kernel the usual way and report any failure
            km = None
        self.warm(later)
        return km

    def release(self, km: Any | None) -> None:
        if km is not None:
            self._stopper.submit(_run, _shutdown(km))

    def close(self) -> None:
        spares, self._spares = self._spares, []
        self._starter.shutdown(wait=True, cancel_futures=True)  # started spares finish starting, then stop
        for spare in spares:
            if not spare.cancelled() and spare.exception() is None:
                self.release(spare.result())
        self._stopper.shutdown(wait=True)
        if self._server is not None:
            self._server.close()

    def _started(self, preload: str) -> Any:
        return _run(self._start(preload))

    async def _start(self, preload: str) -> Any:
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name=self.kernel_name)
        km.client_factory = ready_client_class()
        if self._server is not None:
            import uuid

            from riskwatch.kernel_forks import ForkProvisioner

            km.kernel_id = str(uuid.uuid4())
            km.provisioner = ForkProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
            km.provisioner.server, km.provisioner.preload = self._server, preload
        # The kernel's own stderr stays out of the runner's: a kernel that cannot start (a full disk)
        # must not print a traceback into cron's mail; papermill then starts one and says why.
        await km.start_kernel(cwd=str(self.cwd), extra_arguments=self.extra_arguments, stderr=subprocess.DEVNULL)
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=self.start_timeout)
            msg_id = kc.execute(preload, silent=True, store_history=False)
            while True:
                reply = await kc.get_shell_msg(timeout=self.start_timeout)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        except BaseException:
            kc.stop_channels()
            await _shutdown(km)
            raise
        kc.stop_channels()
        return km


@functools.cache
def ready_client_class() -> type:
    """jupyter_client's asynchronous client with a quicker readiness check (for papermill too, as
    the client class of the kernels handed to it).

    jupyter_client's own check waits 200 ms for an IOPub message after the kernel's first reply
    (which a just-connected subscriber nearly always misses, so it asks again) and then 200 ms
    more to flush IOPub: 0.2–0.4 s per stage of a kernel that was ready in milliseconds. Here the
    kernel is asked again every 10 ms until IOPub carries a message, and the flush waits 10 ms.
    What arrives later is what any client ignores: replies and statuses of other requests."""
    import time
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyClient(AsyncKernelClient):  # type: ignore[misc]
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=IOPUB_WAIT)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(reply)
                        break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
            while True:
                try:
                    await self.iopub_channel.get_msg(timeout=IOPUB_WAIT)
                except Empty:
                    break

    return ReadyClient


IOPUB_WAIT = 0.01  # seconds: the kernel is local


async def _shutdown(km: Any) -> None:
    try:
        await km.shutdown_kernel(now=True)
    except Exception:  # noqa: BLE001 — a kernel that died on its own needs no shutdown
        pass


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
