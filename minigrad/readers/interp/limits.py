"""The bounds of the interpreter, and the errors it raises.

Pasted code can be hostile or merely buggy (`while True: pass`). Every way it could run long or
grow big is bounded, and each bound trips with a `LimitError` that names it, long before the
host would hang, run out of memory or hit its own recursion limit:

- steps: every evaluated statement and expression node costs one step; building a big
  container or string costs one step per `ELEMENTS_PER_STEP` items, so memory is bounded too;
- loop_iterations: iterations of one loop (or one comprehension);
- call_depth: nested calls of pasted functions;
- int_bits: size of any integer, checked *before* `**`, `*` and `<<` compute it;
- container_length: length of any list, tuple, dict, set or string, checked before allocating;
- nesting_depth: nesting of the source tree (checked by `parse_source`), and data nested more
  than 100 levels deep is refused where Python would walk it (hashing, comparing, showing);
- source_chars: the size of the pasted code (parsing is slow for huge inputs);
- seconds: wall time, checked every `CLOCK_EVERY` steps (the other bounds trip first).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from minigrad.errors import SpecError, Where

ELEMENTS_PER_STEP = 8     # a 10**6-element list costs 125,000 steps (a quarter of the budget)
CLOCK_EVERY = 1024        # steps between two looks at the clock


@dataclass(frozen=True)
class Limits:
    """The bounds of one interpreter run. The defaults are far above what model code needs (a
    pasted ResNet-152 with its training script takes a few tens of thousands of steps) and low
    enough that each trips in well under 2 s on a slow, shared machine."""

    steps: int = 500_000
    loop_iterations: int = 100_000
    call_depth: int = 100
    int_bits: int = 4096
    container_length: int = 1_000_000
    nesting_depth: int = 200
    seconds: float = 5.0
    source_chars: int = 500_000     # (Python parses 500 kB of code in ~1.5 s on a loaded machine)


class CodeError(SpecError):
    """An error of the pasted code itself (1/0, a KeyError, a `raise`), as a one-line SpecError.

    `exc_name` is the Python exception it stands for ("ZeroDivisionError"), so that a `try` in
    the pasted code can pick its handler. `str()` gives the headline, with the line.
    """

    def __init__(self, message: str, where: Where | None = None, exc_name: str = "Exception",
                 hint: str | None = None, exc_value=None):
        super().__init__(one_line(message), where, hint)
        self.exc_name = exc_name
        self.exc_value = exc_value  # the pasted code's own exception object, for `except ... as e`

    def __str__(self) -> str:
        return self.headline()


class LimitError(CodeError):
    """A bound of the interpreter was exceeded; a `try` in the pasted code never catches it."""

    def __init__(self, message: str, where: Where | None = None):
        super().__init__(message, where, exc_name="LimitError")


def one_line(text: str, limit: int = 300) -> str:
    """Messages are one line: newlines shown escaped, and long ones cut."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Budget:
    """Counts steps and watches the clock and the sizes of values."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.steps = 0
        self.used_seconds = 0.0   # wall time of earlier entries into the interpreter
        self.started = 0.0
        self.next_check = 0       # the step count at which `check` must run next

    def start(self) -> None:
        self.started = time.perf_counter()
        self.next_check = min(self.steps + CLOCK_EVERY, self.limits.steps + 1)

    def stop(self) -> None:
        self.used_seconds += time.perf_counter() - self.started

    def check(self, at: Where | None) -> None:
        """Called when `steps` reaches `next_check`: the step budget and the clock."""
        lim = self.limits
        if self.steps > lim.steps:
            raise LimitError(f"the code runs too long: it took more than {lim.steps:,} steps "
                             f"(the step limit)", at)
        if self.used_seconds + time.perf_counter() - self.started > lim.seconds:
            raise LimitError(f"the code runs too long: more than {lim.seconds:g} s "
                             f"(the time limit)", at)
        self.next_check = min(self.steps + CLOCK_EVERY, lim.steps + 1)

    def charge(self, items: int, at: Where | None) -> None:
        """Building `items` elements costs steps, so that memory use is bounded too."""
        self.steps += items // ELEMENTS_PER_STEP
        if self.steps >= self.next_check:
            self.check(at)

    # -- sizes ---------------------------------------------------------------------------------
    def check_length(self, n: int, at: Where | None, what: str = "a list") -> None:
        if n > self.limits.container_length:
            unit = "characters" if "str" in what else "items"
            raise LimitError(f"the code builds {what} of {n:,} {unit}, more than "
                             f"{self.limits.container_length:,} (the container length limit)", at)

    def check_bits(self, bits: int, at: Where | None) -> None:
        if bits > self.limits.int_bits:
            raise LimitError(f"the code computes an integer of about {bits:,} bits, more than "
                             f"{self.limits.int_bits:,} (the integer size limit)", at)

    def check_value(self, value, at: Where | None) -> None:
        """Checks the size of a result and charges for it."""
        t = type(value)
        if t is int:
            if value.bit_length() > self.limits.int_bits:
                self.check_bits(value.bit_length(), at)
        elif t in (str, bytes, list, tuple, dict, set, frozenset):
            n = len(value)
            if n > 64:
                self.check_length(n, at, "a string" if t in (str, bytes) else f"a {t.__name__}")
                self.charge(n, at)
