"""Jupyter notebooks (.ipynb): the code cells, in order, as one script.

IPython lines (`%matplotlib inline`, `!pip install torch`, `%%time`) are blanked rather than
removed, so line numbers in messages still count every line of every code cell in order.
"""

from __future__ import annotations

import json

from minigrad.errors import SpecError

MAX_BYTES = 20 * 1024 * 1024


def is_notebook(text: str) -> bool:
    start = text.lstrip()[:200]
    return start.startswith("{") and '"cells"' in text[:100_000] and '"cell_type"' in text[:200_000]


def notebook_code(text: str) -> str:
    """The code of a notebook's code cells, joined; a damaged notebook is a SpecError."""
    if len(text) > MAX_BYTES:
        raise SpecError(f"notebook too large ({len(text):,} characters; the limit is {MAX_BYTES:,})")
    try:
        document = json.loads(text)
    except RecursionError:
        raise SpecError("notebook is not valid JSON: nested too deeply") from None
    except ValueError as error:
        raise SpecError(f"notebook is not valid JSON: {error}") from None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        raise SpecError("notebook has no list of cells")
    lines: list[str] = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise SpecError(f"notebook cell {number}: its source is not text")
        for line in source.split("\n"):
            stripped = line.lstrip()
            lines.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines) + "\n"
