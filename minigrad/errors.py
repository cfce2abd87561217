"""The one error type for a model description that cannot be read or does not fit together.

It knows where in the source text the problem is, so a front end can print the line with a caret
under the bad token instead of a traceback.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


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
        lines = source.splitlines()
        if not 1 <= self.where.line <= len(lines):
            return []
        text = lines[self.where.line - 1].expandtabs(1)
        return [f"  {text}", "  " + " " * (self.where.col - 1) + "^" * max(self.where.length, 1)]


def did_you_mean(word: str | None, choices) -> str | None:
    """A "did you mean …" hint for a misspelled keyword, or None when nothing is close.

    Matching ignores case; the hint keeps the choice's own spelling ('Conv2D', not 'conv2d').
    """
    if not word:
        return None
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"did you mean '{by_lower[close[0]]}'?" if close else None
