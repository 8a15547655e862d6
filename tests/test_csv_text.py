"""riskwatch.csv_text writes the bytes pandas' to_csv writes, for the columns it says it can write."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from riskwatch import csv_text

TRICKY = ["a,b", 'a"b', "a\nb", "a\rb", "", "#x", " x ", "x\t", "é", '"', ",", "\n", "plain", "a\r\nb", '""']


def _pandas_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _ours(frame: pd.DataFrame, rows_per_batch: int, threads: int = 2) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert csv_text.can_write(table.schema)
    out = io.BytesIO()
    csv_text.write(table.to_batches(max_chunksize=rows_per_batch), list(frame.columns), out, threads=threads)
    return out.getvalue()


@pytest.mark.parametrize("seed", range(10))
def test_random_tables_are_written_as_pandas_writes_them(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 2_000
    texts = rng.choice(np.array(TRICKY + [f"c{i}" for i in range(20)], dtype=object), n)
    texts[rng.random(n) < 0.05] = None
    frame = pd.DataFrame({
        "corporation": pd.array(texts, dtype="string"),
        "small": rng.integers(0, 3_000, n),                    # looked up in the table of digits
        "wide": rng.integers(-2**62, 2**62, n),                # formatted
        "edge": rng.choice([0, 1, csv_text.SMALL - 1, csv_text.SMALL, -1], n),
        "kind": pd.Series(rng.choice(np.array(["x", "y,z", None, 'q"'], dtype=object), n), dtype=object),
    })
    frame = frame[list(rng.permutation(frame.columns))]   # each kind of column comes last in some table
    assert _ours(frame, rows_per_batch=int(rng.integers(1, 700))) == _pandas_bytes(frame)


def test_an_empty_table_is_its_header_and_one_thread_writes_the_same() -> None:
    frame = pd.DataFrame({"corporation": pd.array([], dtype="string"), "exited": np.zeros(0, dtype=np.int64)})
    assert _ours(frame, rows_per_batch=10) == _pandas_bytes(frame) == b"corporation,exited\n"
    frame = pd.DataFrame({"corporation": pd.array(["a", "b,c"], dtype="string"), "exited": [1, 0]})
    assert _ours(frame, rows_per_batch=1, threads=1) == _pandas_bytes(frame)


def test_floats_and_names_that_need_quotes_are_left_to_pandas() -> None:
    assert not csv_text.can_write(pa.schema([("a", pa.float64())]))         # pandas writes 1.0, pyarrow 1
    assert not csv_text.can_write(pa.schema([("a,b", pa.int64())]))
    assert csv_text.can_write(pa.schema([("a", pa.large_string()), ("b", pa.int32())]))
