"""One size-rotated log file under ``outputs/logs/``; every line carries time, run id, stage
and level, so a months-long cron history can be grepped by run or by stage."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from logging.handlers import RotatingFileHandler
from pathlib import Path

FORMAT = "%(asctime)s run=%(run_id)s stage=%(stage)s %(levelname)s %(message)s"
LOGGER_NAME = "riskwatch"


class _Context(logging.Filter):
    """Fills run_id/stage with "-" for records logged without them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = getattr(record, "run_id", "-")
        record.stage = getattr(record, "stage", "-")
        return True


class _KeepingHandler(RotatingFileHandler):
    """A line the disk refuses (full, read-only) is kept in the temporary folder — usually another
    file system — and written to the log before the next line that gets through, so the log still
    tells what happened once the disk has recovered. Never a "--- Logging error ---" on the console."""

    def __init__(self, log_path: Path, **kwargs) -> None:
        super().__init__(log_path, delay=True, **kwargs)
        digest = hashlib.sha1(str(log_path).encode()).hexdigest()[:12]
        self.stash = Path(tempfile.gettempdir()) / f"riskwatch-log-{digest}.pending"
        self.stashed = self.stash.exists()  # looked at once, then known: no stat per line

    def emit(self, record: logging.LogRecord) -> None:
        if self.stashed:
            self._write_back_stash()
        super().emit(record)

    def _write_back_stash(self) -> None:
        try:
            kept = self.stash.read_text(encoding="utf-8")
            Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
            with open(self.baseFilename, "a", encoding="utf-8") as handle:
                handle.write(kept)
            self.stash.unlink()
            self.stashed = False
        except OSError:
            pass  # still refused: the lines stay in the stash

    def handleError(self, record: logging.LogRecord) -> None:
        try:
            with open(self.stash, "a", encoding="utf-8") as handle:
                handle.write(self.format(record) + "\n")
            self.stashed = True
        except Exception:
            pass  # nowhere to write: the console line (if any) is all there is


def get_logger(log_path: Path, max_bytes: int = 5_000_000, backups: int = 5) -> logging.Logger:
    """The project's logger writing to ``log_path`` (rotated at ``max_bytes``, ``backups`` kept)."""
    logger = logging.getLogger(f"{LOGGER_NAME}.{log_path}")
    if not logger.handlers:
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # the first line will be kept aside by the handler
        handler = _KeepingHandler(log_path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%dT%H:%M:%S%z"))
        handler.addFilter(_Context())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def log(logger: logging.Logger, message: str, run_id: str = "-", stage: str = "-",
        level: int = logging.INFO) -> None:
    for line in message.splitlines() or [""]:
        logger.log(level, line, extra={"run_id": run_id, "stage": stage})
