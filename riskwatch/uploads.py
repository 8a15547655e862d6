"""Request bodies of ``POST /prediction``, received within their size limit, and the memory a large
request leaves behind handed back to the operating system.

JSON bodies are small (:data:`riskwatch.request_limits.MAX_JSON_BYTES`) and read into memory. CSV
uploads, raw or a multipart file, are written chunk by chunk to a temporary file that stays in
memory up to :data:`SPOOL_IN_MEMORY` bytes and moves to disk beyond, so a 60 MB upload is never
held as a list of chunks plus their join; the CSV parser reads it from the file. Counting happens
on every chunk received, so a body without ``Content-Length`` (chunked) is cut off at the limit too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from tempfile import SpooledTemporaryFile
from typing import Any, BinaryIO

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

SPOOL_IN_MEMORY = 1 << 20          # an upload up to this size never touches the disk
LARGE_REQUEST_BYTES = 8_000_000    # after a request this large, memory is handed back (release_memory)
MAX_FORM_FILES, MAX_FORM_FIELDS = 4, 16


class BodyRefused(Exception):
    """A body the API will not read: ``status`` (400, 413) and a one-line ``detail``."""

    def __init__(self, status: int, detail: str):
        self.status, self.detail = status, detail
        super().__init__(detail)


def too_large(limit: int, size: int | str | None = None, hint: str = "") -> BodyRefused:
    what = f"upload of {size} bytes" if size is not None else "upload"
    return BodyRefused(413, f"{what} exceeds the limit of {limit} bytes{hint}")


def check_declared_size(request: Request, limit: int, hint: str = "") -> None:
    """413 at once when ``Content-Length`` already says the body is over ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(limit, declared, hint)


async def read_body(request: Request, limit: int, hint: str = "") -> bytes:
    """The whole body, in memory; 413 (``hint`` appended) as soon as it passes ``limit`` bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit, hint=hint)
        chunks.append(chunk)
    return b"".join(chunks)


async def spool_body(request: Request, limit: int) -> BinaryIO:
    """The body in a temporary file (rewound; the caller closes it); 413 past ``limit`` bytes."""
    spooled, size = SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY), 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            spooled.write(chunk)
    except BaseException:
        spooled.close()
        raise
    spooled.seek(0)
    return spooled  # type: ignore[return-value]


async def spool_multipart_file(request: Request, limit: int, field: str = "file") -> BinaryIO:
    """The file sent in the multipart form field ``field``, in a temporary file (the caller closes
    it): Starlette's form parser spools it, reading the body through a receive that counts bytes."""
    received = 0

    async def counted_receive() -> Any:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise too_large(limit)
        return message

    try:
        form = await Request(request.scope, counted_receive).form(
            max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS, max_part_size=SPOOL_IN_MEMORY)
    except (HTTPException, MultiPartException) as exc:  # malformed multipart: the client's mistake
        raise BodyRefused(400, f"malformed multipart upload: {getattr(exc, 'detail', exc)}") from None
    upload = form.get(field)
    for _, value in form.multi_items():
        if isinstance(value, UploadFile) and value is not upload:
            value.file.close()
    if not isinstance(upload, UploadFile):
        raise BodyRefused(422, f"multipart upload needs a CSV file in the field '{field}'")
    upload.file.seek(0)
    return upload.file  # type: ignore[return-value]


def is_blank(handle: BinaryIO) -> bool:
    """True when the spooled body holds nothing but white space (only small bodies are read)."""
    handle.seek(0, 2)
    size = handle.tell()
    handle.seek(0)
    blank = size <= 4096 and not handle.read().strip()
    handle.seek(0)
    return blank


def _glibc(name: str) -> Any:
    """A function of glibc's allocator, or None elsewhere (musl, macOS)."""
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


MALLOC_TRIM, MALLOPT = _glibc("malloc_trim"), _glibc("mallopt")
M_MMAP_THRESHOLD = -3               # mallopt's parameter number (malloc.h)
MMAP_THRESHOLD_BYTES = 128 * 1024   # glibc's own starting value, here kept fixed


def map_large_blocks() -> None:
    """Keep glibc allocating blocks over 128 KiB with their own mmap, as it does at start.

    By default glibc raises that threshold (up to 32 MiB) each time such a block is freed, after
    which the arrays of the next large upload land on the heap of whichever thread parsed it and
    stay there, fragmented; with the threshold fixed they go back to the system when freed. Measured
    with five concurrent 60 MB uploads in one process: 440 MB left after :func:`release_memory`
    without this, 310 MB with it, from 240 MB at start. Process-wide; called by ``create_app``."""
    if MALLOPT is not None:
        MALLOPT(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def release_memory() -> None:
    """Give the memory a large request freed back to the operating system: collect cycles, empty
    pyarrow's pool, and ask glibc to return free heap pages of every arena (without this the
    server's RSS stays near its peak after large uploads: see bench/api_memory.py)."""
    gc.collect()
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except ImportError:
        pass
    if MALLOC_TRIM is not None:
        MALLOC_TRIM(0)
