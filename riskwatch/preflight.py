"""Checks a cycle makes before any work: the paths it reads must exist.

A missing input folder would otherwise look like "nothing new" and exit 0 for ever under cron.
"""

from __future__ import annotations

from riskwatch.config import Config, ConfigError


def check_input_paths(cfg: Config) -> None:
    """Raise ``ConfigError`` naming the key and the resolved path when the input folder is not a
    folder or the test data (a CSV or a folder of CSVs) does not exist. An empty folder is fine."""
    folder = cfg.input_folder_path
    if not folder.is_dir():
        why = f"{folder} is a file, not a folder" if folder.exists() else f"the folder {folder} does not exist"
        raise ConfigError("input_folder_path", f"{why} (mode {cfg.mode})", cfg.source)
    if not cfg.test_data_path.exists():
        raise ConfigError("test_data_path", f"{cfg.test_data_path} does not exist (a CSV file or a folder of CSVs)",
                          cfg.source)
