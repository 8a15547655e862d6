"""Request bodies received within their limit (in memory, or spooled to a file chunk by chunk), and
memory handed back after a large request."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import riskwatch.uploads as uploads
from riskwatch.uploads import (SPOOL_IN_MEMORY, BodyRefused, is_blank, read_body, spool_body,
                               spool_multipart_file)

LIMIT = 3 * SPOOL_IN_MEMORY


def echo_app() -> Starlette:
    """Answers with what each reader received: size, whether it went to disk, a checksum."""
    async def receive(request: Request) -> JSONResponse:
        how = request.path_params["how"]
        try:
            if how == "memory":
                body = await read_body(request, LIMIT)
                return JSONResponse({"size": len(body), "sum": sum(body[::997])})
            reader = spool_multipart_file if how == "form" else spool_body
            with await reader(request, LIMIT) as spooled:
                blank = is_blank(spooled)
                body = spooled.read()
                return JSONResponse({"size": len(body), "sum": sum(body[::997]), "blank": blank,
                                     "on_disk": bool(getattr(spooled, "_rolled", True))})
        except BodyRefused as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    return Starlette(routes=[Route("/{how}", receive, methods=["POST"])])


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(echo_app())


@pytest.mark.parametrize("size", [10, SPOOL_IN_MEMORY + 1, LIMIT - 1000])  # the form's envelope counts too
def test_each_reader_gets_the_whole_body(client: TestClient, size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    expected = {"size": size, "sum": sum(body[::997])}
    assert client.post("/memory", content=body).json() == expected
    raw = client.post("/raw", content=iter([body[i:i + 4096] for i in range(0, size, 4096)])).json()
    assert raw == {**expected, "blank": False, "on_disk": size > SPOOL_IN_MEMORY}
    form = client.post("/form", files={"file": ("c.csv", body, "text/csv")}).json()
    assert form == {**expected, "blank": False, "on_disk": size > SPOOL_IN_MEMORY}


@pytest.mark.parametrize("how", ["memory", "raw", "form"])
def test_a_body_over_the_limit_is_413_even_without_content_length(client: TestClient, how: str) -> None:
    body = b"y" * (LIMIT + 1)
    kwargs = ({"files": {"file": ("c.csv", body)}} if how == "form"
              else {"content": iter([body[i:i + 65536] for i in range(0, len(body), 65536)])})
    response = client.post(f"/{how}", **kwargs)
    assert response.status_code == 413 and response.json() == {"detail": f"upload exceeds the limit of {LIMIT} bytes"}
    if how != "form":  # exactly at the limit is fine
        assert client.post(f"/{how}", content=body[:-1]).json()["size"] == LIMIT


def test_multipart_without_the_file_field_or_malformed(client: TestClient) -> None:
    missing = client.post("/form", files={"other": ("c.csv", b"a,b\n")})
    assert missing.status_code == 422 and "field 'file'" in missing.json()["detail"]
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=zz"):
        broken = client.post("/form", content=b"\x00garbage", headers={"content-type": content_type})
        assert broken.status_code in (400, 422), broken.text
    too_many = client.post("/form", files=[("file", (f"{i}.csv", b"a")) for i in range(uploads.MAX_FORM_FILES + 1)])
    assert too_many.status_code == 400 and "malformed multipart upload: Too many files" in too_many.json()["detail"]


def test_blank_bodies_are_recognised(client: TestClient) -> None:
    assert client.post("/raw", content=b" \n\t\r\n").json()["blank"] is True
    assert client.post("/raw", content=b"\n" * 5000 + b"x").json()["blank"] is False


def test_release_memory_trims_every_glibc_arena(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(uploads, "MALLOC_TRIM", lambda pad: calls.append(pad))
    uploads.release_memory()
    assert calls == [0]
    monkeypatch.setattr(uploads, "MALLOC_TRIM", None)  # musl, macOS: nothing to call, no error
    uploads.release_memory()


def test_large_blocks_stay_mapped(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(uploads, "MALLOPT", lambda param, value: calls.append((param, value)))
    uploads.map_large_blocks()
    assert calls == [(-3, 128 * 1024)]  # M_MMAP_THRESHOLD from malloc.h, fixed at glibc's starting value
