"""The one error type for a model description that cannot be read or does not fit together.

It knows where in the source text the problem is, so a front end can print the line with a caret
under the bad token instead of a traceback.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


EXCERPT_WIDTH = 100  # characters of a long source line shown around the problem


@dataclass(frozen=True)
class Where:
    """A span in the source text: 1-based line and column, and how many characters it covers."""

    line: int
    col: int
    length: int = 1


class SpecError(ValueError):
    """A model description is malformed, or its layers do not fit together.

    `where` points into the source text when the problem has a place; `hint` is a short suggestion
    such as "did you mean 'maxpool'?".
    """

    def __init__(self, message: str, where: Where | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint
        self.source: str | None = None  # the text `where` points into, set by the spec reader

    def headline(self) -> str:
        """One line: what is wrong and where."""
        place = f"line {self.where.line}, col {self.where.col}: " if self.where else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{place}{self.message}{hint}"

    def excerpt(self, source: str | None = None) -> list[str]:
        """The offending source line with a caret under the bad token (empty if there is no place)."""
        source = source if source is not None else self.source
        if self.where is None or source is None:
            return []
        # lines as Python's tokenizer counts them (not U+2028 or form feeds, as splitlines would)
        lines = re.split(r"\r\n|\r|\n", source)
        if not 1 <= self.where.line <= len(lines):
            return []
        text = lines[self.where.line - 1].expandtabs(1)
        start, length = self.where.col - 1, max(self.where.length, 1)
        # a long line is shown as a window around the caret
        begin = max(0, min(start - EXCERPT_WIDTH // 3, len(text) - EXCERPT_WIDTH))
        end = begin + EXCERPT_WIDTH
        shown = ("…" if begin else "") + text[begin:end] + ("…" if end < len(text) else "")
        offset = start - begin + (1 if begin else 0)
        length = min(length, max(1, EXCERPT_WIDTH - (start - begin)))
        return [f"  {shown}", "  " + " " * offset + "^" * length]


def did_you_mean(word: str | None, choices) -> str | None:
    """A "did you mean …" hint for a misspelled keyword, or None when nothing is close.

    Matching ignores case; the hint keeps the choice's own spelling ('Conv2D', not 'conv2d').
    """
    if not word:
        return None
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"did you mean '{by_lower[close[0]]}'?" if close else None
