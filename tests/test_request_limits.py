"""Bounds on what the API parses: nesting depth by a scan before parsing, over-long numbers kept as
markers, CSV header lines of bounded length and width."""

from __future__ import annotations

import json

import pytest

from riskwatch.request_limits import (MAX_CSV_COLUMNS, MAX_CSV_HEADER_BYTES, MAX_JSON_DEPTH, MAX_NUMBER_CHARS,
                                      JsonLimitError, OversizedNumber, header_problem, json_depth,
                                      load_bounded_json)


@pytest.mark.parametrize("value", [
    [], {}, 1, "x", [[[]]], {"a": [{"b": {}}]}, {"records": [{"id": "[[[{{{", "n": 1}]},
    ["\\", "\"[", "\\\"[[", "a\\\\", "]]]"], [["\n[", "\u2603{"]], ["\\u005b[["],
])
def test_depth_matches_the_structure_whatever_the_strings_hold(value) -> None:
    def depth(v) -> int:
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    for body in (json.dumps(value), json.dumps(value, ensure_ascii=False), json.dumps(value, indent=2)):
        assert json_depth(body.encode()) == depth(value), body


def test_depth_is_never_under_counted_where_json_would_still_parse() -> None:
    # A stray backslash or quote outside strings must not hide brackets json.loads would recurse into.
    for body in (b"[\\" + b"[" * 50, b'[\\"' + b"[" * 50, b"[" * 50 + b'"', b'["\\\\"' + b"[" * 50):
        assert json_depth(body) >= 50, body
    assert json_depth(b"[" * 100_000) == 100_000


def test_deep_nesting_is_refused_before_json_recurses() -> None:
    load_bounded_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    for body in (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), b"[" * 200_000,
                 b'{"records": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
        with pytest.raises(JsonLimitError, match=f"at most {MAX_JSON_DEPTH} are accepted"):
            load_bounded_json(body)


def test_long_number_literals_become_markers_and_short_ones_numbers() -> None:
    short_int, short_float = "9" * MAX_NUMBER_CHARS, "1." + "5" * (MAX_NUMBER_CHARS - 2)
    parsed = load_bounded_json(f'[{short_int}, {short_float}, 1e400, "{"7" * 5000}"]'.encode())
    assert parsed[:2] == [int(short_int), float(short_float)] and parsed[2] == float("inf")
    assert parsed[3] == "7" * 5000  # a long digit string stays a string
    huge = load_bounded_json(b"[" + b"1" * 5000 + b", -" + b"2" * 41 + b", 0." + b"3" * 400 + b"]")
    assert all(isinstance(v, OversizedNumber) for v in huge)
    assert [v.length for v in huge] == [5000, 42, 402]
    assert repr(huge[0]) == "a number literal of 5000 characters"


@pytest.mark.parametrize("head, words", [
    (b"a," * (MAX_CSV_COLUMNS + 5) + b"z\n1,2\n", f"header has {MAX_CSV_COLUMNS + 6:,} columns"),
    (b"x" * MAX_CSV_HEADER_BYTES, "header line is longer than"),
])
def test_csv_header_problems(head: bytes, words: str) -> None:
    assert words in header_problem(head)


def test_a_wide_but_acceptable_header_passes() -> None:
    assert header_problem(b"a," * (MAX_CSV_COLUMNS - 1) + b"z\n1\n") is None
    assert header_problem(b'"a,b",' * 600 + b"z\n") is None  # quoted commas are not columns
    assert header_problem(b"corporation,x\n" + b"y" * (2 * MAX_CSV_HEADER_BYTES)) is None
