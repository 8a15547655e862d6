"""One size-rotated log file under ``outputs/logs/``; every line carries time, run id, stage
and level, so a months-long cron history can be grepped by run or by stage."""

from __future__ import annotations

import logging
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


def get_logger(log_path: Path, max_bytes: int = 5_000_000, backups: int = 5) -> logging.Logger:
    """The project's logger writing to ``log_path`` (rotated at ``max_bytes``, ``backups`` kept)."""
    logger = logging.getLogger(f"{LOGGER_NAME}.{log_path}")
    if not logger.handlers:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(log_path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
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
