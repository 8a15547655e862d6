"""The HTTP API through its test client, once through a real server on 127.0.0.1, and a bounded
schemathesis run against its OpenAPI schema."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from conftest import RUNNER, make_project, run_runner, write_config
from riskwatch.api import create_app
from riskwatch.config import load_config
from riskwatch.diagnostics import summary_statistics
from riskwatch.inprocess import train_and_deploy_in_process
from riskwatch.newdata import atomic_write_text
from riskwatch.registry import Registry
from riskwatch.risk import risk_list
from riskwatch.riskfile import latest_risk_path
from riskwatch.screenshots import free_port

pytestmark = pytest.mark.integration  # real cycles, servers, kernels or browsers

RECORD = {"corporation": "abcd", "lastmonth_activity": 12, "lastyear_activity": 2400, "number_of_employees": 3}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Path:
    """A project after one real practice cycle (v1 in production). Tests copy it before changing it."""
    config = make_project(tmp_path_factory.mktemp("api") / "project")
    result = run_runner(config, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    return config


@pytest.fixture
def client(deployed: Path) -> TestClient:
    return TestClient(create_app(load_config(deployed)))


def copy_project(deployed: Path, dest: Path) -> Path:
    shutil.copytree(deployed.parent, dest)
    return dest / "config.json"


def deploy_new_version(config: Path) -> int:
    """Train on the production data and deploy it, with the functions the stage notebooks call."""
    return train_and_deploy_in_process(load_config(config, "production"), "api-test")


def test_every_route_answers(client: TestClient, deployed: Path) -> None:
    cfg = load_config(deployed)
    registry = Registry(cfg.registry_path)
    health = client.get("/health").json()
    assert health == {"status": "ok", "model_version": 1}
    scoring = client.get("/scoring").json()
    assert scoring["model_version"] == 1 and scoring["f1"] == registry.metrics(1)["f1"]
    model = client.get("/model").json()
    assert model["features"]["numeric"] == list(cfg.schema.numeric_features)
    assert model["metrics"]["f1"] == scoring["f1"] and model["deployed_at"]
    stats = client.get("/summarystats").json()
    expected = summary_statistics(pd.read_csv(cfg.finaldata_path), cfg.schema.numeric_features)
    assert stats["statistics"] == expected and stats["rows"] == 5000
    diagnostics = client.get("/diagnostics").json()
    assert diagnostics["model_version"] == 1 and diagnostics["dependencies"]
    assert set(diagnostics["drift"]["features"]) == set(cfg.schema.numeric_features)
    assert client.get("/openapi.json").json()["paths"].keys() >= {
        "/prediction", "/scoring", "/summarystats", "/diagnostics", "/health", "/model", "/risk"}


def test_prediction_in_every_form(client: TestClient, deployed: Path) -> None:
    cfg = load_config(deployed)
    model = Registry(cfg.registry_path).load_model(1)
    expected = model.predict_proba(pd.DataFrame([RECORD])[list(cfg.schema.features)])[0, 1]
    single = client.post("/prediction", json={"records": [RECORD]}).json()
    assert single["model_version"] == 1 and single["n"] == 1
    assert single["predictions"][0]["id"] == "abcd"
    assert single["predictions"][0]["probability"] == pytest.approx(expected)
    assert single["predictions"][0]["predicted"] == int(expected >= 0.5)
    as_list = client.post("/prediction", json=[RECORD, {**RECORD, "corporation": "efgh"}]).json()
    assert [p["id"] for p in as_list["predictions"]] == ["abcd", "efgh"]

    test_csv = cfg.test_data_path / "testdata.csv"
    rows = len(pd.read_csv(test_csv))
    csv_body = client.post("/prediction", content=test_csv.read_bytes(), headers={"content-type": "text/csv"})
    assert csv_body.status_code == 200 and csv_body.json()["n"] == rows
    upload = client.post("/prediction", files={"file": ("clients.csv", test_csv.read_bytes(), "text/csv")})
    assert upload.status_code == 200 and upload.json() == csv_body.json()
    baseline = client.post("/prediction", json={"data_path": "testdata.csv"})
    assert baseline.status_code == 200 and baseline.json()["n"] == rows
    absolute_inside = client.post("/prediction", json={"data_path": str(test_csv)})
    assert absolute_inside.status_code == 200
    from_project = client.post("/prediction", json={"data_path": "data/testdata/testdata.csv"})
    assert from_project.status_code == 200 and from_project.json()["n"] == rows
    missing = client.post("/prediction", json={"data_path": "data/testdata/nothing.csv"})
    assert missing.status_code == 404 and "data/practicedata, data/ingesteddata, data/testdata" in \
        missing.json()["detail"]


@pytest.mark.parametrize("path", ["/etc/passwd", "../../config.json", "../testdata/../../config.json"])
def test_baseline_form_refuses_paths_outside_the_data_folders(client: TestClient, path: str) -> None:
    response = client.post("/prediction", json={"data_path": path})
    assert response.status_code == 403
    assert "inside the configured data folders" in response.json()["detail"]


@pytest.mark.parametrize("kwargs, status, words", [
    ({"json": [{"corporation": "a", "lastmonth_activity": 1}]}, 422, "missing column(s): lastyear_activity"),
    ({"json": [{**RECORD, "number_of_employees": "many"}]}, 422, "'number_of_employees' must hold finite numbers"),
    ({"json": [{**RECORD, "number_of_employees": None}]}, 422, "'number_of_employees' must hold finite numbers"),
    ({"content": b"", "headers": {"content-type": "application/json"}}, 400, "empty request body"),
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
    ({"json": {"records": []}}, 422, "records"),
    ({"json": {"records": [1, 2]}}, 422, "must be a JSON object"),
    ({"json": 42}, 422, "records"),
    ({"content": b"<clients/>", "headers": {"content-type": "application/xml"}}, 415, "unsupported content type"),
    ({"content": b"a,b\n1,2\n", "headers": {"content-type": "text/csv"}}, 422, "missing column(s)"),
    ({"content": b"corporation,lastmonth_activity\n\"unclosed", "headers": {"content-type": "text/csv"}}, 422, ""),
    ({"files": {"other": ("x.csv", b"a,b\n")}}, 422, "field 'file'"),
    ({"files": {"file": ("x.csv", b"")}}, 400, "empty"),
])
def test_bad_input_is_a_4xx_with_a_reason(client: TestClient, kwargs: dict, status: int, words: str) -> None:
    response = client.post("/prediction", **kwargs)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]


def test_oversized_upload_is_refused(deployed: Path, tmp_path: Path) -> None:
    config = copy_project(deployed, tmp_path / "small")
    write_config(config.parent, api={"max_upload_bytes": 1000})
    client = TestClient(create_app(load_config(config)))
    big = (config.parent / "data/testdata/testdata.csv").read_bytes()
    for kwargs in ({"content": big, "headers": {"content-type": "text/csv"}},
                   {"files": {"file": ("t.csv", big, "text/csv")}}):
        response = client.post("/prediction", **kwargs)
        assert response.status_code == 413 and "limit of 1000 bytes" in response.json()["detail"]


def test_tampered_artifact_is_never_unpickled(deployed: Path, tmp_path: Path) -> None:
    config = copy_project(deployed, tmp_path / "tampered")
    artifact = Registry(load_config(config).registry_path).path(1) / "model.joblib"
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    client = TestClient(create_app(load_config(config)))
    response = client.post("/prediction", json=[RECORD])
    assert response.status_code == 503 and "hash does not match" in response.json()["detail"]


def test_no_model_deployed_yet(project: Path) -> None:
    client = TestClient(create_app(load_config(project)))
    assert client.get("/health").json() == {"status": "no model deployed", "model_version": None}
    for response in (client.post("/prediction", json=[RECORD]), client.get("/scoring"), client.get("/model")):
        assert response.status_code == 503 and "no model is deployed yet" in response.json()["detail"]
    assert client.get("/summarystats").status_code == 404
    assert client.get("/diagnostics").status_code == 404
    risk = client.get("/risk")
    assert risk.status_code == 404 and risk.json()["detail"] == "no risk list yet: run a cycle with new client data"


def write_risk_list(config: Path, clients: pd.DataFrame) -> pd.DataFrame:
    """The latest list as a cycle leaves it, scored by the deployed v1."""
    cfg = load_config(config)
    table = risk_list(Registry(cfg.registry_path).load_model(1), clients, cfg.schema, 1, cfg.risk)
    atomic_write_text(latest_risk_path(cfg), table.to_csv(index=False))
    return table


def test_risk_list_by_page_and_band_follows_the_file(deployed: Path, tmp_path: Path) -> None:
    config = copy_project(deployed, tmp_path / "risk")
    cfg = load_config(config)
    latest_risk_path(cfg).unlink(missing_ok=True)
    client = TestClient(create_app(cfg))
    assert client.get("/risk").status_code == 404
    clients = pd.read_csv(cfg.test_data_path / "testdata.csv", dtype={"corporation": "string"})
    table = write_risk_list(config, clients)
    counts = table["risk_band"].value_counts()

    first = client.get("/risk", params={"per_page": 100}).json()
    assert first["model_version"] == 1 and first["total"] == first["matching"] == 1250
    assert first["counts"] == {b: int(counts[b]) for b in ("high", "medium", "low")}
    assert (first["page"], first["per_page"], first["pages"], first["band"]) == (1, 100, 13, None)
    assert [c["id"] for c in first["clients"]] == table["corporation"].head(100).tolist()
    assert first["clients"][0] == {"id": table["corporation"][0], "probability": table["probability"][0],
                                   "predicted": int(table["predicted"][0]), "risk_band": table["risk_band"][0]}
    assert len(client.get("/risk", params={"per_page": 100, "page": 13}).json()["clients"]) == 50
    assert client.get("/risk", params={"page": 99}).json()["clients"] == []

    medium = client.get("/risk", params={"band": "medium", "per_page": 1000}).json()
    assert medium["matching"] == counts["medium"] == len(medium["clients"]) and medium["total"] == 1250
    assert [c["id"] for c in medium["clients"]] == table.loc[table["risk_band"] == "medium", "corporation"].tolist()
    for params, words in (({"band": "severe"}, "unknown band 'severe': the bands are high, medium, low"),
                          ({"per_page": 0}, "per_page"), ({"per_page": 1001}, "per_page"), ({"page": 0}, "page")):
        response = client.get("/risk", params=params)
        assert response.status_code == 422 and words in response.json()["detail"]

    write_risk_list(config, clients.head(7))  # the next cycle's list: served from the next request on
    assert client.get("/risk").json()["total"] == 7


def test_hot_reload_after_a_deploy_and_a_rollback(deployed: Path, tmp_path: Path) -> None:
    config = copy_project(deployed, tmp_path / "reload")
    client = TestClient(create_app(load_config(config)))
    assert client.post("/prediction", json=[RECORD]).json()["model_version"] == 1
    version = deploy_new_version(config)
    assert client.post("/prediction", json=[RECORD]).json()["model_version"] == version == 2
    assert run_runner(config, "rollback", "1", "--yes").returncode == 0
    assert client.get("/health").json()["model_version"] == 1


def get_json(url: str, body: dict | list | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_real_server_on_loopback_serves_a_new_deployment_without_failing(deployed: Path, tmp_path: Path) -> None:
    config = copy_project(deployed, tmp_path / "served")
    port = free_port()
    server = subprocess.Popen([sys.executable, str(RUNNER), "--config", str(config), "serve", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert get_json(f"{base}/health")["model_version"] == 1
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        assert get_json(f"{base}/prediction", [RECORD])["model_version"] == 1
        deploy_new_version(config)
        served = [get_json(f"{base}/prediction", [RECORD])["model_version"] for _ in range(5)]
        assert served == [2] * 5

        calls = run_runner(config, "apicalls", "--url", base)
        assert calls.returncode == 0, calls.stderr
        returns = json.loads((config.parent / "models/practicemodels/apireturns.json").read_text())
        assert {k: v["status"] for k, v in returns.items()} == {
            "prediction": 200, "scoring": 200, "summarystats": 200, "diagnostics": 200, "health": 200, "risk": 200, "model": 200}
        assert returns["prediction"]["body"]["model_version"] == 2
        assert "/scoring → HTTP 200" in (config.parent / "models/practicemodels/apireturns.txt").read_text()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_schemathesis_finds_no_server_error(deployed: Path, tmp_path: Path) -> None:
    """A bounded property-based run over every route of the OpenAPI schema (with a risk list to page)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    config = copy_project(deployed, tmp_path / "fuzzed")
    write_risk_list(config, pd.read_csv(load_config(config).test_data_path / "testdata.csv"))
    app = create_app(load_config(config))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, calls = [], []
    for operation in schema.get_all_operations():
        operation = operation.ok()

        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case) -> None:
            response = case.call()
            calls.append((case.method, case.path))
            if response.status_code >= 500:
                failures.append((case.method, case.path, response.status_code, response.text[:200]))

        check()
    assert not failures, failures
    assert {path for _, path in calls} >= {"/prediction", "/scoring", "/summarystats", "/diagnostics", "/risk"}
    assert sum(path == "/prediction" for _, path in calls) >= 10


# Issue 14, item 12: beyond loopback a token is required; once set it is enforced everywhere.
TOKEN = "an-api-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_token_required_through_the_test_client(deployed: Path, tmp_path: Path) -> None:
    config = copy_project(deployed, tmp_path / "guarded")
    write_config(config.parent, api={"host": "0.0.0.0", "token": TOKEN})
    client = TestClient(create_app(load_config(config)))
    for method, path, kwargs in (("get", "/scoring", {}), ("get", "/risk", {}), ("get", "/model", {}),
                                 ("get", "/summarystats", {}), ("get", "/diagnostics", {}),
                                 ("post", "/prediction", {"json": [RECORD]})):
        refused = getattr(client, method)(path, **kwargs)
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"] == "Bearer" and "Authorization: Bearer" in refused.json()["detail"]
        wrong = getattr(client, method)(path, headers={"Authorization": "Bearer not-the-token-at-all"}, **kwargs)
        assert wrong.status_code == 401, path
        assert getattr(client, method)(path, headers=BEARER, **kwargs).status_code in (200, 404), path
    assert client.post("/prediction", json=[RECORD], headers=BEARER).json()["model_version"] == 1
    # Liveness and the documentation stay open; the schema tells Swagger UI to send the token.
    assert client.get("/health").json() == {"status": "ok", "model_version": 1}
    assert client.get("/docs").status_code == client.get("/docs-assets/swagger-ui.css").status_code == 200
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert schema["security"] == [{"bearer": []}] and schema["paths"]["/health"]["get"]["security"] == []


def test_loopback_without_a_token_stays_open(client: TestClient) -> None:
    assert client.get("/scoring").status_code == 200
    assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})


def start_server(config: Path, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """``runner.py serve`` on a free loopback port, once /health answers."""
    port = free_port()
    server = subprocess.Popen([sys.executable, str(RUNNER), "--config", str(config), "serve", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            get_json(f"{base}/health")
            return server, base
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise AssertionError(f"server did not start: {server.communicate()}")
            time.sleep(0.1)


def test_real_server_on_loopback_requires_the_configured_token(deployed: Path, tmp_path: Path) -> None:
    config = copy_project(deployed, tmp_path / "served")
    write_config(config.parent, api={"token": TOKEN})
    server, base = start_server(config, env={"RISKWATCH_API_TOKEN": ""})
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            get_json(f"{base}/prediction", [RECORD])
        assert refused.value.code == 401 and refused.value.headers["WWW-Authenticate"] == "Bearer"
        request = urllib.request.Request(f"{base}/prediction", data=json.dumps([RECORD]).encode(),
                                         headers={"Content-Type": "application/json", **BEARER})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["model_version"] == 1
        # apicalls sends the configured token.
        calls = run_runner(config, "apicalls", "--url", base, env={"RISKWATCH_API_TOKEN": ""})
        assert calls.returncode == 0, calls.stderr
        returns = json.loads((config.parent / "models/practicemodels/apireturns.json").read_text())
        assert {v["status"] for v in returns.values()} == {200}
    finally:
        server.terminate()
        server.wait(timeout=10)


# Issue 14, item 8: /docs renders with no network beyond loopback.
def test_docs_render_offline_in_chromium(deployed: Path) -> None:
    from playwright.sync_api import sync_playwright

    from test_dashboard import CHROMIUM, LAUNCH_ARGS

    if CHROMIUM is None:
        pytest.skip("needs chromium (make test installs it as root)")
    server, base = start_server(deployed)
    blocked: list[str] = []

    def loopback_only(route) -> None:
        host = urllib.parse.urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            page = browser.new_page()
            page.route("**/*", loopback_only)
            page.goto(f"{base}/docs", timeout=60_000)
            page.locator(".opblock-summary-path", has_text="/prediction").first.wait_for(timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            assert {"/prediction", "/scoring", "/health", "/risk"} <= {p.strip() for p in paths}
            assert blocked == []  # Swagger UI asked for nothing beyond loopback
            page.goto(f"{base}/redoc", timeout=60_000)  # ReDoc renders too (only its footer logo is remote)
            page.get_by_text("Attrition risk of corporate clients").first.wait_for(timeout=30_000)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_health_is_503_with_the_reason_when_the_deployed_model_is_tampered(deployed: Path, tmp_path: Path) -> None:
    from riskwatch import layout

    config = copy_project(deployed, tmp_path / "tampered")
    cfg = load_config(config)
    client = TestClient(create_app(cfg))
    assert client.get("/health").json() == {"status": "ok", "model_version": 1}
    from unit_helpers import flip_a_byte

    flip_a_byte(Registry(cfg.registry_path).path(1) / layout.VERSION_ARTIFACT)
    fresh = TestClient(create_app(cfg))
    health = fresh.get("/health")
    assert health.status_code == 503 and health.json()["status"] == "unhealthy"
    assert health.json()["model_version"] == 1 and "hash does not match" in health.json()["reason"]
    assert fresh.post("/prediction", json=[RECORD]).status_code == 503  # still never unpickled


def test_diagnostics_lists_what_the_run_quarantined(client: TestClient) -> None:
    body = client.get("/diagnostics").json()
    assert body["quarantine"] == []  # the bundled data is clean; the field is always there
