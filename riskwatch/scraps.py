"""The only module that touches scrapbook: notebooks glue with :func:`glue`, the runner reads
with :func:`read_scraps`. Swapping the mechanism means editing this file alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _import_scrapbook():
    """Import scrapbook without paying for a grammar nobody uses.

    scrapbook → papermill → nbformat → jsonschema, whose format checker imports
    ``rfc3987_syntax`` when installed (Voila's dependencies install it) and builds a Lark grammar
    at import: 2–3 s inside a kernel, on every stage. Scraps never validate IRI formats, so we
    tell the import system the module is absent (``None`` in ``sys.modules`` makes its import
    fail fast, which jsonschema handles) unless something already imported it.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import scrapbook

    return scrapbook


def to_plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars, paths and the like become plain Python values."""
    def default(obj: Any) -> Any:
        if hasattr(obj, "tolist"):  # numpy arrays and scalars alike
            return obj.tolist()
        return str(obj)
    return json.loads(json.dumps(value, default=default))


def glue(name: str, value: Any) -> None:
    """Record a small control signal (count, score, flag, version, path) in the running notebook.

    ``None`` is not glued at all (scrapbook cannot store null): readers use ``scraps.get(name)``.
    """
    if value is None:
        return  # scrapbook refuses null; an absent scrap reads back as None via dict.get
    value = to_plain(value)
    scrapbook = _import_scrapbook()
    # scrapbook's json encoder parses strings as JSON text, so plain strings go as text.
    scrapbook.glue(name, value, encoder="text" if isinstance(value, str) else "json")


def glue_many(**values: Any) -> None:
    for name, value in values.items():
        glue(name, value)


def read_scraps(notebook_path: str | Path) -> dict[str, Any]:
    """Every scrap glued in an executed notebook, by name (also from a partially executed one)."""
    notebook = _import_scrapbook().read_notebook(str(notebook_path))
    return {name: scrap.data for name, scrap in notebook.scraps.items()}
