"""Messages over a pair of pipe descriptors, each message ended by a separator: the kernel fork
server's requests and answers (lines, :mod:`riskwatch.kernel_forks`) and Chromium's DevTools
protocol (JSON ended by a NUL byte, :mod:`riskwatch.pdf_printer`)."""

from __future__ import annotations

import os
import select
import time


class MessagePipe:
    """Reads messages from ``read_fd`` and writes them to ``write_fd``, each ended by ``end``."""

    def __init__(self, read_fd: int, write_fd: int, end: bytes):
        self.read_fd, self.write_fd, self.end = read_fd, write_fd, end
        self._buffer = b""

    def send(self, message: bytes) -> None:
        """``message`` and its end, written whole (OSError when nobody reads any more)."""
        data = message + self.end
        while data:
            data = data[os.write(self.write_fd, data):]

    def waiting(self) -> bool:
        """Whether something can be read now, without waiting."""
        return bool(self._buffer) or bool(select.select([self.read_fd], [], [], 0)[0])

    def receive(self, timeout: float | None = None) -> bytes | None:
        """The next message, without its end; None once the writer has closed its end. Raises
        TimeoutError when no whole message came within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.end not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self.read_fd], [], [], left)[0]:
                raise TimeoutError(f"no message within {timeout:g} s")
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
        message, self._buffer = self._buffer.split(self.end, 1)
        return message
