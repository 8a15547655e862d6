"""HTTP API: predictions from the deployed model, its scores, the latest risk list, summary
statistics, diagnostics.

``create_app(config)`` builds the app; ``runner.py serve`` runs it on uvicorn (127.0.0.1 by
default). The model follows the registry's production pointer: when a deploy or rollback switches
it, the next request is served by the new version, loaded beside the old one so that no request
fails in between. Only registry artifacts whose SHA-256 matches their metadata are unpickled.

With a token in force (:func:`riskwatch.server_policy.access_token`) every route but ``/health``
and the documentation answers 401 unless the request carries ``Authorization: Bearer <token>``.
The documentation pages load Swagger UI and ReDoc from files served here, never from a CDN.
Request bodies are bounded (:mod:`riskwatch.uploads`, :mod:`riskwatch.request_limits`): a hostile one is a 4xx.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any, Optional

import pandas as pd
from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field

from riskwatch.config import Config, Schema
from riskwatch.records import RecordError, RecordErrorKind, frame_from_json, read_csv_file, validate_frame
from riskwatch.request_limits import MAX_JSON_BYTES
from riskwatch.ledger import Ledger
from riskwatch.registry import Registry, RegistryError
from riskwatch.riskfile import (MAX_PER_PAGE, NO_RISK_LIST, LatestRiskList, RiskListError, UnknownBand, check_band,
                                file_signature)
from riskwatch.runs import latest_diagnostics
from riskwatch.server_policy import TOKEN_KEY, TOKEN_VARIABLE, access_token
from riskwatch.serving import compile_scorer
from riskwatch.uploads import (LARGE_REQUEST_BYTES, SPOOL_IN_MEMORY, BodyRefused, check_declared_size, is_blank,
                               map_large_blocks, read_body, release_memory, spool_body, spool_multipart_file)

BIG_BATCH = 20_000  # rows above which scoring leaves the event loop for a worker thread
LARGE_PARSES_AT_ONCE = 2  # CSV uploads over 1 MiB parsed at the same time: bounds the peak memory
STREAMED_ROWS = 50_000  # predictions per piece of a streamed response (a large one is never one string)
JSON_TYPES = frozenset({"application/json", ""})
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain"})

# The one place records' problems become HTTP statuses.
RECORD_ERROR_STATUS = {RecordErrorKind.MALFORMED: 400, RecordErrorKind.INVALID: 422,
                       RecordErrorKind.OUTSIDE_DATA: 403, RecordErrorKind.NO_SUCH_FILE: 404}


class ApiError(Exception):
    """A request the API refuses; becomes a JSON ``{"detail": ...}`` with ``status``."""

    def __init__(self, status: int, detail: str):
        self.status, self.detail = status, detail
        super().__init__(detail)


class Prediction(BaseModel):
    id: str = Field(description="the client's id (the configured id column)")
    predicted: int = Field(description="1 = predicted to leave, 0 = to stay")
    probability: float = Field(description="probability of attrition, 0..1")


class PredictionResponse(BaseModel):
    model_version: int
    n: int
    predictions: list[Prediction]


class Health(BaseModel):
    status: str
    model_version: Optional[int]


class Unhealthy(Health):
    reason: str


DOCS_ASSETS = "/docs-assets"  # Swagger UI and ReDoc files, from the fastapi-offline package
OPEN_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


class RequireToken:
    """ASGI middleware: an HTTP request outside :data:`OPEN_PATHS` and the documentation's assets
    is answered 401 unless it carries ``Authorization: Bearer <token>``."""

    def __init__(self, app: Any, token: str):
        self.app, self.expected = app, f"bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS \
                and not scope["path"].startswith(DOCS_ASSETS + "/"):
            given = dict(scope["headers"]).get(b"authorization", b"")
            scheme, _, token = given.partition(b" ")
            if not hmac.compare_digest(scheme.lower() + b" " + token.strip(), self.expected):
                why = "wrong token" if given else "a token is required"
                response = JSONResponse({"detail": f"{why}: send the header 'Authorization: Bearer <token>' "
                                                   f"({TOKEN_KEY} or {TOKEN_VARIABLE} on the server)"},
                                        status_code=401, headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _document_bearer_token(app: FastAPI) -> None:
    """Declare the token in the OpenAPI schema, so Swagger UI's "Authorize" button sends it."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        schema = plain()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer"}
        schema["security"] = [{"bearer": []}]
        schema["paths"].get("/health", {}).get("get", {})["security"] = []
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class ProductionModel:
    """The deployed model, reloaded when the production pointer changes (checked by a stat per
    request; loading happens once per switch, under a lock, while the old model keeps serving)."""

    def __init__(self, registry: Registry, schema: Schema):
        self.registry, self.schema = registry, schema
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._current: tuple[int, Any, Any] | None = None

    def get(self) -> tuple[int, Any, Any]:
        """(version, model, scorer) of the version in production now."""
        signature = file_signature(self.registry.pointer_path)
        if signature != self._signature or self._current is None:
            with self._lock:
                if signature != self._signature or self._current is None:
                    self._reload(signature)
        if self._current is None:
            raise ApiError(503, "no model is deployed yet: run a cycle (python runner.py run)")
        return self._current

    def _reload(self, signature: tuple[int, int, int] | None) -> None:
        version = self.registry.production_version()
        if version is None:
            self._current, self._signature = None, signature
            return
        if self._current is not None and self._current[0] == version:
            self._signature = signature
            return
        try:
            model = self.registry.load_model(version)
            scorer, _ = compile_scorer(model, self.schema)
        except (RegistryError, OSError, ValueError, AttributeError) as exc:
            if self._current is None:
                raise ApiError(503, f"the deployed model cannot be loaded: {exc}") from None
            return  # keep serving the previous model; try again on the next request
        # One assignment: a concurrent request sees the old triple or the new one, never a mix.
        self._current, self._signature = (version, model, scorer), signature


def _predict(scorer: Any, frame: pd.DataFrame, schema: Schema, version: int) -> bytes | Iterator[bytes]:
    """The response body: per client id, predicted class (probability > 0.5) and probability; in
    pieces of :data:`STREAMED_ROWS` predictions for a large frame."""
    probability = scorer(frame)
    ids = frame[schema.id_column]
    if len(frame) <= 1000:
        predictions = [{"id": i, "predicted": int(p > 0.5), "probability": float(p)}
                       for i, p in zip(ids.tolist(), probability.tolist())]
        return json.dumps({"model_version": version, "n": len(predictions),
                           "predictions": predictions}).encode()
    # Large uploads: pandas writes the JSON in C, far faster than a list of dicts.
    table = pd.DataFrame({"id": ids.array, "predicted": (probability > 0.5).astype("int8"),
                          "probability": probability})
    head = f'{{"model_version": {version}, "n": {len(table)}, "predictions": ['.encode()
    if len(table) <= STREAMED_ROWS:
        return head + table.to_json(orient="records", double_precision=15)[1:].encode() + b"}"
    return itertools.chain([head], _pieces(table), [b"]}"])


def _pieces(table: pd.DataFrame) -> Iterator[bytes]:
    """The records of ``table`` as JSON, ``STREAMED_ROWS`` at a time, written as they are sent."""
    for start in range(0, len(table), STREAMED_ROWS):
        piece = table.iloc[start:start + STREAMED_ROWS].to_json(orient="records", double_precision=15)
        yield (b"," if start else b"") + piece[1:-1].encode()


def create_app(config: Config) -> FastAPI:
    """The riskwatch API for one project configuration."""
    schema = config.schema
    registry = Registry(config.registry_path)
    production = ProductionModel(registry, schema)
    limit = int(config.api["max_upload_bytes"])
    data_roots = [p.resolve() for p in (config.input_folder_path, config.output_folder_path,
                                        config.test_data_path if config.test_data_path.is_dir()
                                        else config.test_data_path.parent)]
    stats_cache: dict[str, Any] = {}
    latest_risk = LatestRiskList(config)
    bands = list(config.risk["bands"])
    map_large_blocks()  # so that memory returns to the system after large uploads
    large_parses = asyncio.Semaphore(LARGE_PARSES_AT_ONCE)

    app = FastAPIOffline(title="riskwatch", version="0.1.0", static_url=DOCS_ASSETS,
                         description="Attrition risk of corporate clients from the deployed model, "
                                     "with its scores and diagnostics.")
    token = access_token(config.api)
    if token:
        app.add_middleware(RequireToken, token=token)
        _document_bearer_token(app)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(BodyRefused)
    async def body_refused(_: Request, exc: BodyRefused) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RecordError)
    async def record_error(_: Request, exc: RecordError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=RECORD_ERROR_STATUS[exc.kind])

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"detail": problems}, status_code=422)

    record_schema = {
        "type": "object",
        "required": [schema.id_column, *schema.features],
        "properties": {schema.id_column: {"type": "string"},
                       **{c: {"type": "number"} for c in schema.numeric_features},
                       **{c: {"type": "string"} for c in schema.categorical_features}},
    }
    request_body = {"required": True, "content": {
        "application/json": {"schema": {"oneOf": [
            {"type": "object", "required": ["records"], "properties": {
                "records": {"type": "array", "items": record_schema, "minItems": 1}}},
            {"type": "array", "items": record_schema, "minItems": 1},
            {"type": "object", "required": ["data_path"], "properties": {
                "data_path": {"type": "string", "description": "baseline form: a CSV file inside "
                              "the configured data folders"}}},
        ]}},
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"}}}},
    }}

    @app.post("/prediction", response_model=PredictionResponse, tags=["model"],
              summary="Attrition risk for clients (JSON records, CSV upload, or a data file)",
              openapi_extra={"requestBody": request_body},
              responses={413: {"description": "upload too large"}, 415: {"description": "unsupported type"},
                         422: {"description": "bad records"}, 403: {"description": "path outside data"}})
    async def prediction(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in JSON_TYPES:
            hint = " for JSON: send large batches as CSV" if limit > MAX_JSON_BYTES else ""
            check_declared_size(request, min(limit, MAX_JSON_BYTES), hint)
            body = await read_body(request, min(limit, MAX_JSON_BYTES), hint)
            if not body.strip():
                raise ApiError(400, "empty request body: send JSON records, a CSV, or {\"data_path\": ...}")
            frame, size = frame_from_json(body, schema, data_roots, config.root), len(body)
            del body
        elif content_type in CSV_TYPES or content_type == "multipart/form-data":
            check_declared_size(request, limit)
            multipart = content_type == "multipart/form-data"
            with await (spool_multipart_file if multipart else spool_body)(request, limit) as upload:
                if is_blank(upload):
                    raise ApiError(400, "the uploaded file is empty" if multipart else "empty request body: "
                                   "send JSON records, a CSV, or {\"data_path\": ...}")
                size = upload.seek(0, 2)
                if size > SPOOL_IN_MEMORY:  # parsing takes a while: not on the event loop, few at once
                    async with large_parses:
                        frame = await run_in_threadpool(_read_upload, upload, schema)
                else:
                    frame = _read_upload(upload, schema)
        else:
            raise ApiError(415, f"unsupported content type {content_type[:80]!r}: use application/json, "
                                "text/csv or multipart/form-data")
        version, _, scorer = production.get()
        if len(frame) > BIG_BATCH:
            body = await run_in_threadpool(_predict, scorer, frame, schema, version)
        else:
            body = _predict(scorer, frame, schema, version)
        del frame
        # After a large request, hand the memory it freed back to the system (once the body is sent).
        after = BackgroundTask(release_memory) if size > LARGE_REQUEST_BYTES else None
        if not isinstance(body, bytes):
            return StreamingResponse(body, media_type="application/json", background=after)
        return Response(body, media_type="application/json", background=after)

    @app.get("/scoring", tags=["model"], summary="Metrics of the deployed model on the test data")
    def scoring() -> dict[str, Any]:
        version, _, _ = production.get()
        metrics = registry.metrics(version)
        if metrics is None:
            raise ApiError(404, f"v{version} has no recorded scores")
        estimate = Ledger(config.ledger_path).latest_estimate() if config.ledger_path.exists() else None
        return {"model_version": version, **metrics, "estimate_without_labels": estimate}

    @app.get("/risk", tags=["clients"], summary="The latest risk list: clients highest risk first, by page",
             responses={404: {"description": "no risk list yet"}, 422: {"description": "unknown band or bad page"}})
    def risk(page: int = Query(1, ge=1, le=10**9, description="page number, from 1"),
             per_page: int = Query(50, ge=1, le=MAX_PER_PAGE, description="clients per page"),
             band: Optional[str] = Query(None, description="only the clients of this risk band",
                                         json_schema_extra={"enum": bands})) -> dict[str, Any]:
        """Counts per band, the total, page information and one page of clients (id, probability,
        predicted class, band) of the list the latest cycle with new client data wrote."""
        try:
            band = check_band(band, bands)
            current = latest_risk.get()
        except UnknownBand as exc:
            raise ApiError(422, str(exc)) from None
        except RiskListError as exc:
            raise ApiError(503, str(exc)) from None
        if current is None:
            raise ApiError(404, NO_RISK_LIST)
        return current.page(page, per_page, band)

    @app.get("/summarystats", tags=["data"], summary="Summary statistics of the ingested data")
    def summarystats() -> dict[str, Any]:
        from riskwatch.diagnostics import missing_values, summary_statistics

        path = config.finaldata_path
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise ApiError(404, "no ingested data yet: run a cycle (python runner.py run)") from None
        key = (stat.st_mtime_ns, stat.st_size)
        if stats_cache.get("key") != key:
            data = pd.read_csv(path)
            stats_cache.update(key=key, value={
                "rows": len(data), "statistics": summary_statistics(data, schema.numeric_features),
                "missing_values": missing_values(data)})
        return stats_cache["value"]

    @app.get("/diagnostics", tags=["data"], summary="Missing data, timings, dependencies and drift of the latest run")
    def diagnostics() -> dict[str, Any]:
        latest = latest_diagnostics(config.runs_path)
        if latest is None:
            raise ApiError(404, "no diagnostics yet: run a cycle (python runner.py run)")
        run, data = latest
        return {"run_id": run.run_id, **{k: data.get(k) for k in (
            "model_version", "missing_values", "timings", "dependencies", "quarantine")},
            "drift": _drift_summary(data.get("drift"))}

    @app.get("/health", response_model=Health, tags=["service"], summary="Is the service up, which model",
             responses={503: {"model": Unhealthy, "description": "the deployed model cannot be loaded"}})
    def health() -> Any:
        deployed = registry.production_version()
        if deployed is None:
            return {"status": "no model deployed", "model_version": None}
        try:  # loads (hash-checked) only when production changed: no hashing per request
            production.get()
        except ApiError as exc:  # deployed but unusable: unhealthy, with the reason, not "no model"
            return JSONResponse({"status": "unhealthy", "model_version": deployed, "reason": exc.detail},
                                status_code=503)
        return {"status": "ok", "model_version": deployed}

    @app.get("/model", tags=["model"], summary="The deployed model: version, when, scores, features")
    def model_info() -> dict[str, Any]:
        version, _, _ = production.get()
        meta = registry.metadata(version)
        pointer = registry.production() or {}
        return {"model_version": version, "deployed_at": pointer.get("since"),
                "deployed_by": pointer.get("action"), "created_at": meta.get("created_at"),
                "estimator": meta.get("estimator"), "params": meta.get("params"),
                "metrics": registry.metrics(version),
                "features": {"id": schema.id_column, "numeric": list(schema.numeric_features),
                             "categorical": list(schema.categorical_features)}}

    return app


def _read_upload(upload: Any, schema: Schema) -> pd.DataFrame:
    return validate_frame(read_csv_file(upload), schema)


def _drift_summary(drift: dict[str, Any] | None) -> dict[str, Any] | None:
    if not drift:
        return None
    return {"verdict": drift.get("verdict"), "drifted": drift.get("drifted"),
            "features": {f["feature"]: {"drifted": f["drifted"], "method": f["method"],
                                         "statistic": f["statistic"], "p_value": f["p_value"],
                                         "psi": f["psi"]} for f in drift.get("features", [])}}
