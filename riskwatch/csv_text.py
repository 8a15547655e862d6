"""A table's CSV bytes as pandas' ``to_csv(index=False, lineterminator="\\n")`` writes them, from
Arrow record batches, formatted by pyarrow's compute kernels on a pool of threads.

Integers are written as pyarrow casts them to text (the digits pandas writes for int64); text is
written as is, except that a value holding a comma, a double quote or a line feed is quoted with
its quotes doubled (pandas' ``QUOTE_MINIMAL``: a carriage return alone is not quoted), and a
missing value is empty. Float columns are not formatted here (pandas writes ``1.0`` where pyarrow
writes ``1``): :func:`can_write` says whether a table's columns are all this module handles.

The kernels release the GIL, so the batches are formatted on ``threads`` threads at once while
the caller's thread writes them out in order: the CSV of a large table costs about two thirds of
the CPU time DuckDB's CSV writer takes to write the same bytes from the same batches.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, BinaryIO, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

QUOTE_CHARS = ',"\n'   # a text value holding any of these is quoted by pandas (a header name too)


def can_write(arrow_schema: Any) -> bool:
    """Whether every column is text or integer and every name needs no quoting in the header."""
    return all((_is_text(f.type) or pa.types.is_integer(f.type)) and not _needs_quotes(f.name)
               for f in arrow_schema)


def write(batches: Iterable[Any], columns: Sequence[str], handle: BinaryIO, threads: int = 2) -> None:
    """The header, then every batch's lines, in order, to ``handle`` (opened in binary mode)."""
    handle.write((",".join(columns) + "\n").encode("utf-8"))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="csv-text") as pool:
        pending: deque = deque()
        for batch in batches:
            pending.append(pool.submit(lines, batch))
            if len(pending) > 2 * threads:   # a few batches ahead, no more: memory stays a few batches
                handle.write(pending.popleft().result())
        while pending:
            handle.write(pending.popleft().result())


def lines(batch: Any) -> memoryview:
    """The batch's rows as CSV lines, each ending in a line feed, as one buffer."""
    if not batch.num_rows:
        return memoryview(b"")
    texts = [_text(batch.column(i)) for i in range(batch.num_columns - 1)]
    last = batch.column(batch.num_columns - 1)
    ends = _digits(last, "\n") if not _is_text(last.type) else _then(_text(last), "\n")
    joined = pc.binary_join_element_wise(*texts, ends, ",", null_handling="replace", null_replacement="")
    return _data(joined)


def _text(column: Any) -> Any:
    """A column as text: integers as digits, text quoted where pandas quotes it."""
    if not _is_text(column.type):
        return _digits(column)
    column = column.cast(pa.string()) if column.type != pa.string() else column
    if not _may_need_quotes(column):
        return column
    quote = pc.match_substring_regex(column, "[" + QUOTE_CHARS + "]")
    doubled = pc.replace_substring(column, '"', '""')
    quoted = pc.binary_join_element_wise('"', doubled, '"', "")
    return pc.if_else(quote, quoted, column)


SMALL = 1 << 16   # integers in [0, SMALL) are looked up, not formatted: twice as fast


@lru_cache(maxsize=2)
def _small_digits(suffix: str) -> Any:
    """The digits of 0 .. SMALL - 1, each followed by ``suffix``."""
    digits = pc.cast(pa.array(np.arange(SMALL, dtype=np.int64)), pa.string())
    return _then(digits, suffix) if suffix else digits


def _small(column: Any) -> bool:
    """Whether every value of an integer column is in [0, SMALL) (counts and amounts mostly are)."""
    if column.null_count:
        return False
    low, high = pc.min_max(column).values()
    return low.is_valid and low.as_py() >= 0 and high.as_py() < SMALL


def _digits(column: Any, suffix: str = "") -> Any:
    """An integer column's values as digits (then ``suffix``): looked up when they are small."""
    if _small(column):
        return pc.take(_small_digits(suffix), column)
    digits = pc.cast(column, pa.string())
    return _then(digits, suffix) if suffix else digits


def _then(texts: Any, suffix: str) -> Any:
    """Each value followed by ``suffix`` (a missing value becomes ``suffix`` alone)."""
    return pc.binary_join_element_wise(texts, _empty(len(texts)), suffix, null_handling="replace",
                                       null_replacement="")


def _may_need_quotes(column: Any) -> bool:
    """Whether any value might hold a comma, a double quote or a line feed: one look at the bytes
    of all the values at once (a missing value's bytes are none)."""
    data = column.buffers()[2]
    if data is None:
        return False
    chars = np.frombuffer(data, dtype=np.uint8)
    return any(bool((chars == code).any()) for code in QUOTE_CHARS.encode())


def _empty(rows: int) -> Any:
    """``rows`` empty strings, without building them one by one."""
    return pa.StringArray.from_buffers(rows, pa.py_buffer(np.zeros(rows + 1, dtype=np.int32)), pa.py_buffer(b""))


def _data(array: Any) -> memoryview:
    """The characters of a string array, its values back to back."""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32, count=len(array) + 1, offset=array.offset * 4)
    return memoryview(array.buffers()[2])[offsets[0]:offsets[-1]]


def _is_text(kind: Any) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _needs_quotes(name: str) -> bool:
    return any(c in name for c in QUOTE_CHARS)
