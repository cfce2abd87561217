"""Text read from files or pasted code (layer names, class names, paths, specs), made safe to show
on a terminal: its control characters are written as escapes, shown and never obeyed."""

from __future__ import annotations

import re

# Characters that would act on the terminal instead of being shown: C0 and C1 controls (ESC
# starts the sequences that clear the screen or set the title), DEL, and the Unicode marks that
# reorder or break a line (bidi overrides and isolates, U+2028/9).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069]")
CONTROL_BUT_NEWLINE = re.compile(CONTROL.pattern.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f"))


def escape(match: re.Match) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def printable(text: str) -> str:
    """`text` with its control characters written as escapes (ESC as \\x1b, a newline as \\n)."""
    return CONTROL.sub(escape, text)


def printable_same_width(text: str) -> str:
    """`text` with each control character replaced by one U+FFFD, so that columns counted in
    the original text (a caret under a token) still line up."""
    return CONTROL.sub("\ufffd", text)
