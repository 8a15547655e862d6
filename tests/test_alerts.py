"""Webhook alerts against a real HTTP server on 127.0.0.1; a failing webhook never fails a cycle."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import closed_port, run_runner, write_config
from riskwatch.alerts import Alerts


class Receiver:
    """A webhook endpoint collecting the JSON bodies it receives."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    hook = Receiver()
    yield hook
    hook.close()


def test_delivered_and_filtered_by_event(receiver: Receiver, tmp_path: Path) -> None:
    notes = []
    alerts = Alerts({"webhook_url": receiver.url, "events": ["deploy"]}, tmp_path / "pending.jsonl", notes.append)
    assert alerts.send("deploy", "r1", "v2 deployed", version=2)
    assert not alerts.send("drift", "r1", "drift")  # not subscribed
    assert receiver.received == [{**receiver.received[0], "event": "deploy", "run_id": "r1",
                                  "text": "v2 deployed", "version": 2, "source": "riskwatch"}]
    assert notes == ["alert 'deploy' delivered"]


def test_failed_delivery_is_kept_and_retried(receiver: Receiver, tmp_path: Path) -> None:
    notes = []
    pending = tmp_path / "pending.jsonl"
    down = Alerts({"webhook_url": f"http://127.0.0.1:{closed_port()}/hook", "timeout": 2}, pending, notes.append)
    assert not down.send("failure", "r1", "stage failed")
    assert "not delivered" in notes[0] and pending.exists()
    up = Alerts({"webhook_url": receiver.url}, pending, notes.append)
    assert up.retry_pending() == 1
    assert not pending.exists() and receiver.received[0]["event"] == "failure"


@pytest.mark.integration
def test_cycle_sends_deploy_and_drift_alerts(project: Path, receiver: Receiver) -> None:
    write_config(project.parent, alerts={"webhook_url": receiver.url})
    assert run_runner(project, "run").returncode == 0
    assert [m["event"] for m in receiver.received] == ["deploy"]
    assert run_runner(project, "--mode", "production", "run").returncode == 0
    events = [m["event"] for m in receiver.received]
    assert events == ["deploy", "drift", "deploy"]
    assert receiver.received[1]["data_drift"].startswith("data drift: 3 of 3")
    assert receiver.received[2]["version"] == 2


@pytest.mark.integration
def test_failing_webhook_does_not_fail_the_cycle_and_is_retried(project: Path, receiver: Receiver) -> None:
    root = project.parent
    write_config(root, alerts={"webhook_url": f"http://127.0.0.1:{closed_port()}/hook", "timeout": 1})
    result = run_runner(project, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    log = (root / "outputs/logs/riskwatch.log").read_text()
    assert "alert 'deploy' not delivered" in log
    write_config(root, alerts={"webhook_url": receiver.url})
    assert run_runner(project, "run").returncode == 0  # a tick with nothing new still retries
    assert [m["event"] for m in receiver.received] == ["deploy"]
    assert "alert 'deploy' delivered" in (root / "outputs/logs/riskwatch.log").read_text()


def test_bad_webhook_url_is_a_config_error(project: Path) -> None:
    write_config(project.parent, alerts={"webhook_url": "ftp://example"})
    result = run_runner(project, "run")
    assert result.returncode == 2 and "alerts.webhook_url" in result.stderr
