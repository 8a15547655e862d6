"""Kill points for the fault-injection suite: ``RISKWATCH_KILL_AT=after:deployment`` makes the
runner SIGKILL itself at that point of the cycle, the way a power cut or the OOM killer would, so
tests and ``bench/chaos.py`` can stop a run exactly between two writes. Unset (always, outside
those), it costs one environment lookup."""

from __future__ import annotations

import os
import signal

VARIABLE = "RISKWATCH_KILL_AT"


def kill_point(name: str) -> None:
    """Die at once, without cleanup, when ``RISKWATCH_KILL_AT`` names this point."""
    if os.environ.get(VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
