"""The sizes cnncalc analyses, and the named errors above them.

Sizes are exact Python integers, and a 100000x100000 input is fine. But an integer of thousands
of digits cannot be shown (Python refuses to turn more than 4,300 digits into text) nor turned
into a float (above 1.8e308), and a million layers take minutes. So every model is checked
against these ceilings, far above any real network, before its numbers are computed or shown:

- MAX_DIMENSION: any one size, written or computed: an axis of a shape, a channel or feature
  count, units, a kernel, stride, padding or dilation (10^12; a 100000x100000x3 image flattened
  is 3·10^10 features).
- MAX_ELEMENTS: the values of one tensor per sample, the product of its shape (10^15, 4 PB of
  float32).
- MAX_LAYERS: nodes of the layer graph (5,000; a ResNet-152 has 516 rows).
- MAX_SPEC_CHARS: the length of a layer-language text (500,000 characters, as for pasted code).
- MAX_FIELD: a receptive field, its jump or its centre beyond 10^15 input pixels is no longer
  tracked (the rows say so instead of giving the number); it only happens after dozens of
  strided layers that have already shrunk the map to one pixel.

Within them every parameter count, MAC count, byte count and receptive field is below 10^80,
so it prints exactly and converts to a float.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass

from minigrad.errors import SpecError, Where

MAX_DIMENSION = 10**12
MAX_ELEMENTS = 10**15
MAX_LAYERS = 5_000
MAX_SPEC_CHARS = 500_000
MAX_FIELD = 10**15

MAX_DIGITS = len(str(MAX_DIMENSION))  # a written size with more digits is refused unread


def power_of_ten(value: int) -> str:
    """10**12 -> '10^12' (for the ceilings' messages)."""
    exponent = len(str(value)) - 1
    return f"10^{exponent}" if value == 10**exponent else f"{value:,}"


def digits_text(text: str, keep: int = 20) -> str:
    """A long run of digits as a short quote: '99999999999999999999… (4,301 digits)'."""
    if len(text) <= keep:
        return text
    return f"{text[:keep]}… ({len(text):,} digits)"


def dimension_error(what: str, shown: str, where: Where | None = None) -> SpecError:
    return SpecError(f"{what} {shown} is above cnncalc's ceiling of {power_of_ten(MAX_DIMENSION)} "
                     "for one size", where)


def check_written_size(text: str, what: str, where: Where | None = None) -> int:
    """A size written as decimal digits, as an int; refused by name above MAX_DIMENSION, without
    ever converting thousands of digits."""
    stripped = text.lstrip("0") or "0"
    if len(stripped) > MAX_DIGITS or int(stripped) > MAX_DIMENSION:
        raise dimension_error(what, digits_text(stripped), where)
    return int(stripped)


def _ints(value, depth: int = 0):
    """Every int inside a layer's configuration (tuples, lists and dicts followed a few levels)."""
    if isinstance(value, bool) or depth > 4:
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _ints(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _ints(item, depth + 1)


def check_layer(layer, name: str) -> None:
    """A layer's own numbers (kernel, stride, units, padding…) within MAX_DIMENSION."""
    if not is_dataclass(layer):
        return
    for f in fields(layer):
        value = getattr(layer, f.name, None)
        if isinstance(value, Where):
            continue
        for number in _ints(value):
            if abs(number) > MAX_DIMENSION:
                raise dimension_error(f"{name}: {f.name}", _short_int(number),
                                      getattr(layer, "where", None))


def check_shape(shape: tuple[int, ...], name: str, where: Where | None = None) -> None:
    """One tensor's shape within MAX_DIMENSION per axis and MAX_ELEMENTS in all."""
    for size in shape:
        if size > MAX_DIMENSION:
            raise SpecError(f"{name}: an output size of {_short_int(size)} is above cnncalc's "
                            f"ceiling of {power_of_ten(MAX_DIMENSION)} for one size", where)
    total = math.prod(shape)
    if total > MAX_ELEMENTS:
        raise SpecError(f"{name}: the output of {_short_int(total)} values per sample is above "
                        f"cnncalc's ceiling of {power_of_ten(MAX_ELEMENTS)} values for one tensor",
                        where)


def check_layer_count(count: int, where: Where | None = None) -> None:
    if count > MAX_LAYERS:
        raise SpecError(f"more than {MAX_LAYERS:,} layers: above cnncalc's ceiling for one model",
                        where)


def _short_int(value: int) -> str:
    """An int of any size as text, exact up to 30 digits, else as about 10^N (never str() of a
    huge int)."""
    magnitude = abs(value)
    if magnitude < 10**30:
        return f"{value:,}"
    exponent = int(magnitude.bit_length() * 0.30102999566398120)  # within one of log10
    return f"{'-' if value < 0 else ''}about 10^{exponent:,}"


def safe_float(value) -> float:
    """int or Fraction to float, or inf when it is beyond a float's range (never OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
