"""Kernels forked from one process that has already imported what the stages import.

Starting a Python kernel and importing pandas, scikit-learn and matplotlib costs about a second of
CPU, and a cycle starts seven kernels on a two-core machine. A *fork server* pays for the imports
once: ``python -m riskwatch.kernel_forks`` imports what it is asked to, and for each kernel forks
a child that becomes ``ipykernel_launcher`` with the kernel's own connection file, working
folder and environment, in a session of its own. The child runs no notebook code of anyone
else's (the server never runs any), so each stage still gets a fresh kernel of its own.

The runner asks through :class:`ForkServer` (one per cycle); :class:`ForkProvisioner` is the
jupyter_client provisioner that uses it and falls back to starting a kernel the usual way when the
server is gone or the kernel spec is not this Python's ``ipykernel_launcher``. A forked kernel is
the server's child, not the runner's: the server ignores SIGCHLD so exited kernels are reaped at
once, and the runner sees a kernel's end as its pid disappearing. Kernels notice their server's end
(and the server its runner's, through its closed pipe) and stop.

The server starts no thread of its own and runs no notebook code; the threads its imports start
(OpenBLAS's, pyarrow's jemalloc) belong to libraries that prepare themselves for a fork.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from jupyter_client.provisioning import LocalProvisioner

from riskwatch.pipes import MessagePipe

LAUNCHER = ["-m", "ipykernel_launcher"]
# What ipykernel itself sets before any notebook code runs (IPKernelApp.init_gui_pylab): set here
# before matplotlib is imported, so a forked kernel draws inline like a new one.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class ForkServer:
    """The fork server of one cycle: ``fork(request)`` returns a new kernel's pid."""

    def __init__(self, cwd: Path, timeout: float = 60, ahead: Sequence[str] = ()):
        """``ahead``: what the coming kernels import, imported while no kernel is asked for."""
        self.process = subprocess.Popen([sys.executable, "-m", __name__], cwd=str(cwd), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        assert self.process.stdin is not None and self.process.stdout is not None
        self._pipe = MessagePipe(self.process.stdout.fileno(), self.process.stdin.fileno(), b"\n")
        self.timeout = timeout  # seconds an answer may take (imports included); then the server is stopped
        self._lock = threading.Lock()
        if ahead:
            self._pipe.send(json.dumps({"ahead": list(ahead)}).encode())

    def fork(self, argv: list[str], cwd: str, env: dict[str, str], preload: str) -> int:
        """Ask for a kernel run as ``ipykernel_launcher argv`` after ``preload`` ran in the server.
        A server stuck longer than ``timeout`` (in an import) is stopped: it must not hold the cycle."""
        with self._lock:
            self._pipe.send(json.dumps({"argv": argv, "cwd": cwd, "env": env, "preload": preload}).encode())
            try:
                reply = (self._pipe.receive(self.timeout) or b"").decode()
            except TimeoutError:
                self.process.kill()
                reply = ""
        if not reply.isdigit():
            raise RuntimeError(f"the kernel fork server did not fork: {reply or 'it has stopped'}")
        return int(reply)

    def close(self) -> None:
        """Stop the server (its kernels notice and stop too, if any is left)."""
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class ForkedKernel:
    """The part of ``subprocess.Popen`` jupyter_client's provisioner uses, for a kernel that is the
    fork server's child. Its exit status is not the runner's to know: an ended kernel reports 0."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not _alive(self.pid):
            self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        return 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie the server has not reaped yet has ended too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class ForkProvisioner(LocalProvisioner):  # type: ignore[misc]
    """LocalProvisioner that forks kernels from ``server`` when the command is this Python's
    ``ipykernel_launcher``; otherwise, or when forking fails, it starts the kernel as usual."""

    server: ForkServer | None = None
    preload: str = ""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        if self.server is not None and _is_this_python_kernel(cmd):
            cwd = str(kwargs.get("cwd") or os.getcwd())
            try:
                pid = self.server.fork(cmd[3:], cwd, dict(kwargs.get("env") or os.environ), self.preload)
            except (OSError, RuntimeError):
                pass
            else:
                self.process = ForkedKernel(pid)
                self.pid = self.pgid = pid
                self.cwd = cwd
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)


def _is_this_python_kernel(cmd: list[str]) -> bool:
    import shutil

    found = shutil.which(cmd[0]) if cmd else None
    return (found is not None and cmd[1:3] == LAUNCHER
            and os.path.abspath(found) == os.path.abspath(sys.executable))


# ---- the server's side ------------------------------------------------------------------------

def serve() -> None:
    """Read one request per line on stdin, answer each with the forked kernel's pid on stdout."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # ended kernels are reaped by the system at once
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]  # as ipykernel_launcher does: the kernel adds its folder back itself
    import ipykernel.kernelapp  # noqa: F401 — every kernel needs it: once, here

    pipe = MessagePipe(0, 1, b"\n")
    for request in _requests(pipe):
        try:
            _preload(request.get("preload") or "")
            pid = os.fork()
        except Exception as exc:  # noqa: BLE001 — the runner then starts the kernel the usual way
            pipe.send(f"{type(exc).__name__}: {exc}".replace("\n", " ").encode())
            continue
        if pid == 0:
            _become_kernel(request)  # never returns
        pipe.send(str(pid).encode())


def _requests(pipe: MessagePipe) -> Iterator[dict[str, Any]]:
    """The fork requests, one JSON object per line. A line ``{"ahead": [preload, ...]}`` lists
    what the coming kernels import: the server imports it while nobody is waiting for a kernel, so
    a request finds its imports done."""
    ahead: list[str] = []
    while True:
        while ahead and not pipe.waiting():
            _preload(ahead.pop(0))
        line = pipe.receive()
        if line is None:
            return
        message = json.loads(line)
        if "ahead" in message:
            ahead = list(message["ahead"])
        else:
            yield message


def _preload(code: str) -> None:
    exec(compile(code, "<preload>", "exec"), {})  # noqa: S102 — imports, each guarded (kernels.imports_of)


def _become_kernel(request: dict[str, Any]) -> None:
    """In the forked child: become ``python -m ipykernel_launcher <argv>`` in the kernel's folder
    and environment; never return into the server's loop."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the kernel's own subprocesses are waited for
        os.setsid()  # a process group of its own, as jupyter_client gives a kernel it starts
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # The kernel stops when the server does. ipykernel read $JPY_PARENT_PID when the server
        # imported it, so the kernel is told on its command line.
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        sys.argv = [_launcher_path(), *request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        if "numpy" in sys.modules:  # numpy's global random state would otherwise be the server's
            sys.modules["numpy"].random.seed()
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001
        code = 1
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _launcher_path() -> str:
    import importlib.util

    spec = importlib.util.find_spec(LAUNCHER[1])
    return str(spec.origin) if spec is not None and spec.origin else LAUNCHER[1]


if __name__ == "__main__":
    serve()
    os._exit(0)  # nothing to flush or finalize: skip tearing down thousands of modules
