"""Webhook alerts: a JSON message when drift is detected, a model is deployed or rejected, or a
run fails. Delivery never fails a cycle: an undelivered alert is logged, kept in
``outputs/alerts_pending.jsonl`` and retried on the next run."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

from riskwatch.clock import now_iso

EVENTS = ("drift", "deploy", "reject", "failure")


def _post(url: str, message: dict[str, Any], timeout: float) -> None:
    request = urllib.request.Request(url, data=json.dumps(message).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "riskwatch-alerts"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status >= 300:
            raise urllib.error.HTTPError(url, response.status, "unexpected status", response.headers, None)


class Alerts:
    """Sends to ``webhook_url`` (no-op when empty); ``note`` receives lines for the log."""

    def __init__(self, settings: dict[str, Any], pending_path: Path, note: Callable[[str], None]):
        self.url = settings.get("webhook_url") or ""
        self.timeout = float(settings.get("timeout", 5.0))
        self.events = set(settings.get("events") or EVENTS)
        self.pending_path = pending_path
        self.note = note

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def send(self, event: str, run_id: str | None, text: str, **details: Any) -> bool:
        if not self.enabled or event not in self.events:
            return False
        message = {"source": "riskwatch", "event": event, "run_id": run_id, "text": text,
                   "at": now_iso(), **details}
        return self._deliver(message)

    def _deliver(self, message: dict[str, Any]) -> bool:
        try:
            _post(self.url, message, self.timeout)
        except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            self.note(f"alert '{message['event']}' not delivered ({exc}); will retry on the next run")
            self.pending_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.pending_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(message) + "\n")
            return False
        self.note(f"alert '{message['event']}' delivered")
        return True

    def retry_pending(self) -> int:
        """Resend alerts a previous run could not deliver; returns how many went through."""
        if not self.enabled or not self.pending_path.exists():
            return 0
        pending = [json.loads(line) for line in self.pending_path.read_text().splitlines() if line.strip()]
        self.pending_path.unlink()
        return sum(self._deliver(message) for message in pending)
