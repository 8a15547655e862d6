"""Hostile requests to ``POST /prediction`` (issue 15): each class that used to be a 500 is now a 4xx
with a one-line reason, through the test client; a large upload is streamed back and leaves no
memory behind; and a fuzz run against a real server on 127.0.0.1 (schemathesis plus hand-made
hostile bodies, 2,000+ requests) gets no answer of 500 or above."""

from __future__ import annotations

import http.client
import json
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import riskwatch.api as api
from conftest import make_project
from riskwatch.api import create_app
from riskwatch.config import load_config
from riskwatch.inprocess import train_and_deploy_in_process
from riskwatch.registry import Registry
from riskwatch.request_limits import MAX_JSON_BYTES
from riskwatch.sample import PRODUCTION, make_clients

RECORD = {"corporation": "abcd", "lastmonth_activity": 12, "lastyear_activity": 2400, "number_of_employees": 3}
HEADER = b"corporation,lastmonth_activity,lastyear_activity,number_of_employees\n"
JSON = {"content-type": "application/json"}
CSV = {"content-type": "text/csv"}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project with v1 deployed by the functions the stage notebooks call (no kernel, ~1 s)."""
    config = make_project(tmp_path_factory.mktemp("hostile") / "project")
    train_and_deploy_in_process(load_config(config), "hostile-test")
    return config


@pytest.fixture(scope="module")
def client(project: Path) -> TestClient:
    # Server errors come back as 500 responses, as a real server sends them, instead of raising.
    return TestClient(create_app(load_config(project)), raise_server_exceptions=False)


def record_with(field: str, literal: str) -> bytes:
    """One record whose ``field`` is the raw JSON ``literal`` (a number json.dumps would not write)."""
    fields = [f'"{k}": {json.dumps(v)}' for k, v in RECORD.items() if k != field]
    return ("[{" + ", ".join([*fields, f'"{field}": {literal}']) + "}]").encode()


def refused(response, status: int, words: str) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    detail = response.json()["detail"]
    assert words in detail and "\n" not in detail, detail


def test_deeply_nested_json_is_refused_before_it_is_parsed(client: TestClient) -> None:
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"records": [' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"]}"):
        refused(client.post("/prediction", content=body, headers=JSON), 422, "at most 32 are accepted")


def test_integer_too_large_for_a_float_is_422_naming_the_column(client: TestClient) -> None:
    refused(client.post("/prediction", content=record_with("lastyear_activity", "1" + "0" * 400), headers=JSON),
            422, "column 'lastyear_activity' holds a number literal of 401 characters")


def test_integer_over_the_4300_digit_limit_is_422_naming_the_column(client: TestClient) -> None:
    refused(client.post("/prediction", content=record_with("number_of_employees", "7" * 5000), headers=JSON),
            422, "column 'number_of_employees' holds a number literal of 5000 characters")


def test_over_long_data_path_is_422(client: TestClient) -> None:
    for path in ("a" * 5000, "testdata/" * 600, "/" + "x/" * 2000 + "testdata.csv"):
        refused(client.post("/prediction", json={"data_path": path}), 422, "at most 1,024 are accepted")
    assert client.post("/prediction", json={"data_path": "testdata.csv"}).status_code == 200


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", '"12"', "true", "[1]", "{}"])
def test_non_finite_or_non_numbers_where_numbers_are_expected_are_422(client: TestClient, literal: str) -> None:
    refused(client.post("/prediction", content=record_with("lastmonth_activity", literal), headers=JSON),
            422, "column 'lastmonth_activity' must hold finite numbers")


@pytest.mark.parametrize("literal, words", [
    ('{"a": [1]}', "column 'corporation' must hold text or numbers; got dict"),
    ('"\\ud800"', "column 'corporation' holds text that is not valid Unicode"),
    ("9" * 60, "column 'corporation' holds a number literal of 60 characters"),
])
def test_ids_that_are_not_text_are_422(client: TestClient, literal: str, words: str) -> None:
    refused(client.post("/prediction", content=record_with("corporation", literal), headers=JSON), 422, words)


def post_csv_both_ways(client: TestClient, body: bytes) -> list:
    return [client.post("/prediction", content=body, headers=CSV),
            client.post("/prediction", files={"file": ("clients.csv", body, "text/csv")})]


def test_non_utf8_csv_is_422_both_ways(client: TestClient) -> None:
    for body in (HEADER + "société,1,2,3\n".encode("latin-1"), (HEADER + b"a,1,2,3\n").decode().encode("utf-16"),
                 bytes(range(256)) * 64):
        for response in post_csv_both_ways(client, body):
            refused(response, 422, "not a readable CSV: not UTF-8 text")


def test_csv_with_a_bom_is_scored(client: TestClient) -> None:
    plain = client.post("/prediction", content=HEADER + b"a,1,2,3\n", headers=CSV).json()
    for response in post_csv_both_ways(client, b"\xef\xbb\xbf" + HEADER + b"a,1,2,3\n"):
        assert response.status_code == 200 and response.json() == plain


def test_csv_with_a_huge_number_of_columns_or_one_enormous_line_is_422(client: TestClient) -> None:
    wide = b",".join(b"c%d" % i for i in range(200_000)) + b"\n" + b",".join(b"1" for _ in range(200_000)) + b"\n"
    narrow_header_wide_rows = HEADER + b"a,1,2,3" + b",9" * 200_000 + b"\n"
    for body, words in ((wide, "header line is longer than"), (b",".join(b"c" for _ in range(5000)) + b"\n1\n",
                                                                "header has 5,000 columns"),
                        (b"corporation," + b"x" * 5_000_000, "header line is longer than"),
                        (narrow_header_wide_rows, "not a readable CSV")):
        for response in post_csv_both_ways(client, body):
            refused(response, 422, words)


def test_json_bodies_have_a_smaller_limit_than_csv_uploads(client: TestClient) -> None:
    records = json.dumps([RECORD] * (MAX_JSON_BYTES // len(json.dumps(RECORD)) + 10)).encode()
    assert MAX_JSON_BYTES < len(records) < 200_000_000
    refused(client.post("/prediction", content=records, headers=JSON), 413,
            f"limit of {MAX_JSON_BYTES} bytes for JSON: send large batches as CSV")
    chunked = client.post("/prediction", content=iter([records[i:i + 65536] for i in range(0, len(records), 65536)]),
                          headers=JSON)  # no Content-Length: counted as it arrives
    refused(chunked, 413, f"limit of {MAX_JSON_BYTES} bytes")


def test_uploads_without_content_length_are_cut_off_at_the_limit(project: Path, tmp_path: Path) -> None:
    import shutil

    from conftest import write_config

    shutil.copytree(project.parent, tmp_path / "small")
    config = write_config(tmp_path / "small", api={"max_upload_bytes": 5000})
    client = TestClient(create_app(load_config(config)), raise_server_exceptions=False)
    body = HEADER + b"a,1,2,3\n" * 2000
    refused(client.post("/prediction", content=iter([body[i:i + 1000] for i in range(0, len(body), 1000)]),
                        headers=CSV), 413, "limit of 5000 bytes")
    boundary = "b0undary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\r\n".encode()
            + body + f"\r\n--{boundary}--\r\n".encode())
    refused(client.post("/prediction", content=iter([form[i:i + 1000] for i in range(0, len(form), 1000)]),
                        headers={"content-type": f"multipart/form-data; boundary={boundary}"}),
            413, "limit of 5000 bytes")


@pytest.mark.parametrize("body, status, words", [
    (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\ncorporation,la", 422, "field 'file'"),
    (b"--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nabc\r\n--b--\r\n", 400, "malformed multipart"),
    (b"".join(b"--b\r\nContent-Disposition: form-data; name=\"f%d\"; filename=\"x\"\r\n\r\na\r\n" % i
              for i in range(10)) + b"--b--\r\n", 400, "malformed multipart"),
    (b"\x00\xff" * 100, 400, "malformed multipart"),
])
def test_truncated_or_malformed_multipart_is_4xx(client: TestClient, body: bytes, status: int, words: str) -> None:
    refused(client.post("/prediction", content=body, headers={"content-type": "multipart/form-data; boundary=b"}),
            status, words)


def test_a_large_upload_is_streamed_back_and_matches_the_model(client: TestClient, project: Path) -> None:
    clients = make_clients(120_000, PRODUCTION, np.random.default_rng(3)).drop(columns=["exited"])
    response = client.post("/prediction", content=clients.to_csv(index=False).encode(), headers=CSV)
    assert response.status_code == 200 and "content-length" not in response.headers  # sent in pieces
    body = response.json()
    cfg = load_config(project)
    expected = Registry(cfg.registry_path).load_model(1).predict_proba(clients[list(cfg.schema.features)])[:, 1]
    assert body["n"] == len(body["predictions"]) == 120_000
    assert [p["id"] for p in body["predictions"]] == clients["corporation"].astype(str).tolist()
    # double_precision=15 is 15 decimal places, as the response has always been written
    np.testing.assert_allclose([p["probability"] for p in body["predictions"]], expected, rtol=0, atol=1e-15)
    assert [p["predicted"] for p in body["predictions"]] == (expected > 0.5).astype(int).tolist()


def test_memory_is_released_after_a_large_request_only(client: TestClient, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(api, "release_memory", lambda: calls.append(1))
    assert client.post("/prediction", json=[RECORD]).status_code == 200
    assert calls == []
    big = HEADER + b"abcdefgh,12,2400,3\n" * (api.LARGE_REQUEST_BYTES // 19 + 1000)
    assert client.post("/prediction", content=big, headers=CSV).status_code == 200
    assert client.post("/prediction", files={"file": ("c.csv", big, "text/csv")}).status_code == 200
    assert calls == [1, 1]


# The fuzz run against a real server.
def hostile_bodies(rng: random.Random, n: int) -> list[tuple[bytes, str]]:
    """``n`` (body, content type) pairs of the sorts that broke the API, chosen at random."""
    good_csv = HEADER + b"".join(b"c%d,%d,%d,%d\n" % (i, i, 3 * i, i % 50) for i in range(50))

    def nested() -> bytes:
        depth = rng.choice([rng.randint(1, 40), rng.randint(30, 40), rng.randint(900, 1100), rng.randint(1, 50_000)])
        opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}"), (b'{"records":[', b"]}")])
        inner = rng.choice([b"1", json.dumps(RECORD).encode(), b""])
        return opener * depth + inner + closer * rng.choice([depth, depth // 2, 0])

    def huge_number() -> bytes:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.choice([39, 41, 400, 4301, 20_000])))
        literal = rng.choice([digits, "-" + digits, "0." + digits, "1e" + digits[:6], digits + "e-" + digits[:3],
                              "NaN", "Infinity", "-Infinity"])
        return record_with(rng.choice(list(RECORD)), literal)

    def long_string() -> bytes:
        text = "".join(rng.choice("ab/.\\\u00e9\u2603\ud800\x00") for _ in range(rng.choice([100, 1025, 70_000])))
        payload = rng.choice([{"data_path": text}, [{**RECORD, "corporation": text}], {"records": [{text: 1}]}])
        return json.dumps(payload).encode()

    def mutated_csv() -> bytes:
        data = bytearray(good_csv)
        for _ in range(rng.randint(1, 30)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)

    def truncated_multipart() -> bytes:
        form = (b'--fz\r\nContent-Disposition: form-data; name="file"; filename="c.csv"\r\n'
                b"Content-Type: text/csv\r\n\r\n" + good_csv + b"\r\n--fz--\r\n")
        return form[:rng.randrange(len(form) + 1)]

    makers = [
        (nested, "application/json"), (huge_number, "application/json"), (long_string, "application/json"),
        (lambda: rng.randbytes(rng.randint(0, 4000)), "application/json"),
        (lambda: rng.randbytes(rng.randint(0, 4000)), "text/csv"),
        (mutated_csv, "text/csv"), (mutated_csv, "multipart/form-data; boundary=fz"),
        (truncated_multipart, "multipart/form-data; boundary=fz"),
        (lambda: rng.randbytes(rng.randint(0, 2000)), "multipart/form-data; boundary=fz"),
        (lambda: good_csv, rng.choice(["application/xml", "image/png", "multipart/form-data", "text/csv; charset=latin-1",
                                      "application/x-www-form-urlencoded", "application/json"])),
        (lambda: json.dumps([RECORD]).encode(), rng.choice(["text/csv", "text/plain", "application/json; x=y", ""])),
        (lambda: ",".join(f"c{i}" for i in range(rng.choice([999, 1001, 50_000]))).encode() + b"\n1\n", "text/csv"),
        (lambda: good_csv.decode().encode(rng.choice(["utf-16", "latin-1", "utf-8-sig", "utf-32"])), "text/csv"),
        (lambda: b"corporation," + b"x" * rng.choice([10, 2_000_000]), "text/csv"),
    ]
    return [(make(), kind) for make, kind in (rng.choice(makers) for _ in range(n))]


@pytest.mark.integration
def test_fuzzing_a_real_server_finds_no_server_error(project: Path) -> None:
    """2,000+ requests: schemathesis cases (positive and negative) for every route, then hand-made
    hostile bodies; every answer is below 500. Prints the tally by status."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    from test_api import start_server

    server, base = start_server(project)
    port = int(base.rsplit(":", 1)[1])
    tally: Counter = Counter()
    per_route: Counter = Counter()
    errors: list[tuple] = []
    began = time.monotonic()
    try:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        for operation in schema.get_all_operations():
            operation = operation.ok()
            examples = 600 if operation.path == "/prediction" else 60
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode))
                def check(case) -> None:
                    response = case.call(base_url=base, timeout=30)
                    tally[("schemathesis", response.status_code)] += 1
                    per_route[case.path] += 1
                    if response.status_code >= 500:
                        errors.append((case.method, case.path, response.status_code, response.text[:200]))
                try:
                    check()
                except Unsatisfiable:  # nothing to make invalid: a route without parameters or body
                    assert mode is GenerationMode.NEGATIVE, operation.path
        generated = sum(v for (source, _), v in tally.items() if source == "schemathesis")

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for body, kind in hostile_bodies(random.Random(15), max(1200, 2100 - generated)):
            headers = {"Content-Type": kind} if kind else {}
            try:
                conn.request("POST", "/prediction", body=body, headers=headers)
                response = conn.getresponse()
                text = response.read()
            except (http.client.HTTPException, OSError) as exc:  # a dropped connection is a failure too
                errors.append(("POST", "/prediction", type(exc).__name__, body[:100]))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            tally[("hostile", response.status)] += 1
            if response.status >= 500:
                errors.append(("POST", "/prediction", response.status, text[:200], body[:100]))
            else:
                detail = json.loads(text).get("detail") if response.status >= 400 else None
                assert detail is None or (isinstance(detail, str) and "\n" not in detail), detail
        conn.close()
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
    total = sum(tally.values())
    print(f"\nfuzz tally ({total} requests in {time.monotonic() - began:.0f} s): "
          + ", ".join(f"{source} {status}: {n}" for (source, status), n in sorted(tally.items()))
          + f"\nschemathesis cases per route: {dict(per_route)}")
    assert not errors, errors[:10]
    assert total >= 2000 and generated >= 500
    assert "Traceback" not in stderr, stderr[-3000:]
