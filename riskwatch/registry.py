"""Model registry: numbered versions under ``models/registry`` and a production pointer.

A version folder (``v0001``) appears only complete: it is built under a temporary name and
renamed into place. The production pointer (``production.json``) is replaced atomically, so a
crash at any moment leaves production on one complete, loadable version. The server and the
pipeline load only artifacts whose SHA-256 matches the version's metadata.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from riskwatch import layout
from riskwatch.clock import now_iso
from riskwatch.newdata import atomic_write_text, file_sha256

VERSION_DIR = re.compile(r"^v(\d{4,})$")
TRACKED_PACKAGES = ("scikit-learn", "pandas", "numpy", "scipy", "joblib", "riskwatch")


class RegistryError(RuntimeError):
    """A version is missing, incomplete or its artifact does not match its hash."""


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class Registry:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # ---- paths ---------------------------------------------------------------------------
    def path(self, version: int) -> Path:
        return self.root / f"v{version:04d}"

    @property
    def pointer_path(self) -> Path:
        return self.root / layout.PRODUCTION_POINTER

    def versions(self) -> list[int]:
        """Complete versions, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for child in self.root.iterdir():
            match = VERSION_DIR.match(child.name)
            if match and (child / layout.VERSION_METADATA).is_file():
                found.append(int(match.group(1)))
        return sorted(found)

    # ---- writing -------------------------------------------------------------------------
    def register(self, model: Any, training_data: Any, info: dict[str, Any],
                 profile: dict[str, Any] | None = None, calibrator: Any = None) -> int:
        """Store a trained model with its training data, metadata and (when given) the reference
        profile of its training data and its probability calibrator as the next version."""
        import joblib

        self.root.mkdir(parents=True, exist_ok=True)
        self.remove_incomplete()
        version = (self.versions() or [0])[-1] + 1
        staging = self.root / f".v{version:04d}.partial-{os.getpid()}"
        staging.mkdir()
        artifact = staging / layout.VERSION_ARTIFACT
        joblib.dump(model, artifact)
        training_data.to_parquet(staging / layout.VERSION_TRAINING_DATA, index=False)
        if profile is not None:
            atomic_write_text(staging / layout.VERSION_PROFILE, json.dumps(profile) + "\n")
        calibrator_sha256 = None
        if calibrator is not None:
            joblib.dump(calibrator, staging / layout.VERSION_CALIBRATOR)
            calibrator_sha256 = file_sha256(staging / layout.VERSION_CALIBRATOR)
        meta = {
            "version": version,
            "created_at": now_iso(),
            "artifact": layout.VERSION_ARTIFACT,
            "artifact_sha256": file_sha256(artifact),
            "training_rows": int(len(training_data)),
            "calibrator_sha256": calibrator_sha256,
            "packages": package_versions(),
            **info,
        }
        atomic_write_text(staging / layout.VERSION_METADATA, json.dumps(meta, indent=1, default=str) + "\n")
        atomic_write_text(staging / layout.VERSION_STATUS, json.dumps(
            {"status": "candidate", "reason": "trained, not yet scored", "at": meta["created_at"]}) + "\n")
        _fsync_dir(staging)
        os.rename(staging, self.path(version))  # the version appears complete or not at all
        _fsync_dir(self.root)
        return version

    def remove_incomplete(self) -> list[str]:
        """Delete staging folders left by a killed training run."""
        removed = []
        if self.root.is_dir():
            for child in self.root.iterdir():
                if child.name.startswith(".v") and ".partial-" in child.name:
                    shutil.rmtree(child, ignore_errors=True)
                    removed.append(child.name)
        return removed

    def write_metrics(self, version: int, metrics: dict[str, Any]) -> None:
        atomic_write_text(self.path(version) / layout.VERSION_METRICS, json.dumps(metrics, indent=1) + "\n")

    def set_status(self, version: int, status: str, reason: str, **extra: Any) -> None:
        """Mark a version ``candidate``, ``accepted``, ``rejected`` or ``abandoned`` (its run ended
        before deciding on it), with the reason in words."""
        if status not in ("candidate", "accepted", "rejected", "abandoned"):
            raise ValueError(f"unknown status {status!r}")
        atomic_write_text(self.path(version) / layout.VERSION_STATUS,
                          json.dumps({"status": status, "reason": reason, "at": now_iso(), **extra}) + "\n")

    def set_production(self, version: int, run_id: str, action: str = "deploy") -> dict[str, Any]:
        """Point production at ``version`` (write-then-rename); returns the new pointer."""
        self.check(version)
        previous = self.production()
        pointer = {
            "version": version,
            "since": now_iso(),
            "run_id": run_id,
            "action": action,
            "previous_version": previous["version"] if previous else None,
        }
        atomic_write_text(self.pointer_path, json.dumps(pointer, indent=1) + "\n")
        return pointer

    # ---- reading -------------------------------------------------------------------------
    def production(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.pointer_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def production_version(self) -> int | None:
        pointer = self.production()
        return int(pointer["version"]) if pointer else None

    def metadata(self, version: int) -> dict[str, Any]:
        try:
            return json.loads((self.path(version) / layout.VERSION_METADATA).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RegistryError(f"model version {version} is not in the registry ({self.root})") from None

    def metrics(self, version: int) -> dict[str, Any] | None:
        try:
            return json.loads((self.path(version) / layout.VERSION_METRICS).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def status(self, version: int) -> dict[str, Any]:
        try:
            return json.loads((self.path(version) / layout.VERSION_STATUS).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"status": "unknown", "reason": "no status recorded"}

    def describe(self, version: int) -> dict[str, Any]:
        """Everything known about a version, for status pages and reports."""
        return {**self.metadata(version), "metrics": self.metrics(version), "status": self.status(version),
                "in_production": self.production_version() == version}

    def check(self, version: int) -> Path:
        """Path of the version's artifact after verifying its SHA-256; RegistryError otherwise."""
        meta = self.metadata(version)
        artifact = self.path(version) / meta["artifact"]
        if not artifact.is_file():
            raise RegistryError(f"model version {version} has no artifact")
        if file_sha256(artifact) != meta["artifact_sha256"]:
            raise RegistryError(f"model version {version}: artifact hash does not match its metadata; "
                                "refusing to load it")
        return artifact

    def load_model(self, version: int) -> Any:
        """Unpickle a version's model — only after its hash checks out."""
        import joblib

        return joblib.load(self.check(version))

    def load_calibrator(self, version: int) -> Any:
        """The version's probability calibrator (None when it has none) — unpickled only after its
        hash checks out, like the model."""
        import joblib

        expected = self.metadata(version).get("calibrator_sha256")
        path = self.path(version) / layout.VERSION_CALIBRATOR
        if expected is None:
            return None
        if not path.is_file() or file_sha256(path) != expected:
            raise RegistryError(f"model version {version}: calibrator missing or its hash does not match; "
                                "refusing to load it")
        return joblib.load(path)

    def training_data_path(self, version: int) -> Path:
        return self.path(version) / layout.VERSION_TRAINING_DATA

    def profile(self, version: int) -> dict[str, Any] | None:
        """The stored reference profile of the version's training data (None for versions made
        before profiles existed)."""
        try:
            return json.loads((self.path(version) / layout.VERSION_PROFILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
