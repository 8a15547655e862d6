"""A Chromium started ahead of time that prints HTML files to PDF.

``chromium --print-to-pdf`` spends most of its 0.7 s starting the browser. A cycle knows the report
is coming: :class:`WarmPrinter` starts a headless Chromium when the reporting stage starts and
drives it over the DevTools protocol on a pipe (``--remote-debugging-pipe``: no port, no network),
so printing costs only loading and printing the page. The PDF is what ``--print-to-pdf`` makes:
the page's CSS size (A4), no header or footer, tagged. Anything going wrong raises
:class:`PrintFailed`; the caller then prints the usual way.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from riskwatch.newdata import atomic_write
from riskwatch.pipes import MessagePipe

# Puts the pipe ends where Chromium expects them (3: commands in, 4: answers out), then becomes it.
LAUNCH = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
          "os.execv(sys.argv[3], sys.argv[3:])")
PRINT = {"preferCSSPageSize": True, "displayHeaderFooter": False, "generateTaggedPDF": True}
PAGE_GONE = ("Inspector.detached", "Target.detachedFromTarget", "Target.targetCrashed")


class PrintFailed(RuntimeError):
    """The warm Chromium could not print (it ended, or did not answer in time)."""


class WarmPrinter:
    """A headless Chromium, started now, that ``print_pdf`` uses later; ``close()`` ends it."""

    def __init__(self, chromium: str, flags: tuple[str, ...]):
        self._profile = tempfile.mkdtemp(prefix="riskwatch-chromium-")
        commands_in, self._commands = os.pipe()
        self._answers, answers_out = os.pipe()
        # Ends of at least 10 that the child does not keep: dup2 then puts them at 3 and 4.
        commands_in, answers_out = (_moved_up(fd) for fd in (commands_in, answers_out))
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-S", "-c", LAUNCH, str(commands_in), str(answers_out), chromium, *flags,
                 f"--user-data-dir={self._profile}", "--remote-debugging-pipe", "about:blank"],
                pass_fds=(commands_in, answers_out), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)  # its helpers in its process group
        finally:
            os.close(commands_in)
            os.close(answers_out)
        self._pipe = MessagePipe(self._answers, self._commands, b"\0")
        self._next_id, self._kept = 0, []

    def print_pdf(self, html_path: Path, pdf_path: Path, timeout: float = 120) -> Path:
        """Load ``html_path`` in a new tab and print it to ``pdf_path`` (written whole or not at all)."""
        deadline = time.monotonic() + timeout
        target = self._call("Target.createTarget", {"url": "about:blank"}, deadline)["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True}, deadline)["sessionId"]
        self._call("Page.enable", {}, deadline, session)
        self._call("Page.navigate", {"url": Path(html_path).resolve().as_uri()}, deadline, session)
        self._receive(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session,
                      deadline)
        data = base64.b64decode(self._call("Page.printToPDF", PRINT, deadline, session)["data"])
        if not data.startswith(b"%PDF"):
            raise PrintFailed("Chromium's answer was not a PDF")
        atomic_write(pdf_path, lambda tmp: tmp.write_bytes(data))
        return pdf_path

    def close(self) -> None:
        """End the browser and every process it started (nothing of it is kept), then remove its
        profile: no helper is left to write into it."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        for fd in (self._commands, self._answers):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    # ---- the protocol: JSON messages ended by a NUL byte ------------------------------------------
    def _call(self, method: str, params: dict[str, Any], deadline: float, session: str | None = None) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        try:
            self._pipe.send(json.dumps(message).encode())
        except OSError as exc:
            raise PrintFailed(f"Chromium stopped listening ({exc})") from None
        sent = self._next_id
        answer = self._receive(lambda m: m.get("id") == sent, deadline)
        if "error" in answer:
            raise PrintFailed(f"Chromium refused {method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    def _receive(self, wanted: Callable[[dict[str, Any]], bool], deadline: float) -> dict[str, Any]:
        """The first message ``wanted``; the others are kept for later (the page can have loaded
        before Chromium answers the navigation)."""
        for message in self._kept:
            if wanted(message):
                self._kept.remove(message)
                return message
        while True:
            try:
                raw = self._pipe.receive(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise PrintFailed("Chromium did not answer in time") from None
            if raw is None:
                raise PrintFailed(f"Chromium ended (exit {self.process.poll()})")
            message = json.loads(raw)
            if wanted(message):
                return message
            if message.get("method") in PAGE_GONE:
                raise PrintFailed(f"Chromium's page ended ({message['method']}: "
                                  f"{message.get('params', {}).get('reason', '')})")
            self._kept.append(message)


def _moved_up(fd: int) -> int:
    """``fd`` as a descriptor numbered 10 or more (so 3 and 4 are free for dup2), closed on exec
    except where passed on."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved
