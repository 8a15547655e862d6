"""``runner.py apicalls``: call every route of a running server, as the baseline's apicalls.py
did, and keep the answers in ``apireturns.json`` (and the baseline's ``apireturns.txt``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path
from typing import Any

from riskwatch import layout
from riskwatch.config import Config
from riskwatch.newdata import atomic_write_text
from riskwatch.server_policy import access_token


class ServerUnreachable(OSError):
    """No server answers at the URL (refused, unknown host, timed out): not a configuration error."""

    def __init__(self, base_url: str, reason: object):
        why = getattr(reason, "strerror", None) or reason  # "Connection refused", not "[Errno 111] ..."
        super().__init__(f"no riskwatch API answers at {base_url} ({why}): start it with `runner.py serve`")


def _call(url: str, method: str = "GET", body: dict[str, Any] | None = None, timeout: float = 60,
          token: str = "") -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return {"status": response.status, "body": json.loads(response.read() or b"null")}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "body": json.loads(exc.read() or b"null")}


def call_all_routes(cfg: Config, base_url: str) -> tuple[Path, Path]:
    """Call /prediction (on the test data file, the baseline's form), /scoring, /summarystats,
    /diagnostics, /health, /risk and /model (with the token in force, if any); raise
    ``ServerUnreachable`` when no server answers."""
    base = base_url.rstrip("/")
    call = partial(_call, token=access_token(cfg.api))
    test = cfg.test_data_path
    test_file = test if test.is_file() else sorted(test.glob("*.csv"))[0]
    try:
        returns = {
            "prediction": call(f"{base}/prediction", "POST", {"data_path": str(test_file)}),
            "scoring": call(f"{base}/scoring"),
            "summarystats": call(f"{base}/summarystats"),
            "diagnostics": call(f"{base}/diagnostics"),
            "health": call(f"{base}/health"),
            "risk": call(f"{base}/risk?per_page=20"),
            "model": call(f"{base}/model"),
        }
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:  # HTTPError never gets here
        raise ServerUnreachable(base, getattr(exc, "reason", exc)) from None
    out = cfg.output_model_path
    json_path, text_path = out / layout.API_RETURNS_JSON, out / layout.API_RETURNS_TXT
    atomic_write_text(json_path, json.dumps(returns, indent=1) + "\n")
    lines = []
    for route, answer in returns.items():
        lines.append(f"/{route} → HTTP {answer['status']}\n{json.dumps(answer['body'], indent=1)[:20000]}\n")
    atomic_write_text(text_path, "\n".join(lines))
    return json_path, text_path
