"""The layer language: one layer per line (or separated by ';' or ','), '#' starts a comment.

    input 28x28x1                      # H x W x C, or a flat size: input 784
    conv 32 3x3 [stride=S] [padding=valid|same|P] [dilation=D] [bias=false] [ACT]
    maxpool 2 [stride=S] [padding=valid|same|P] [ceil]     # stride defaults to the pool size
    avgpool 2 [...]
    globalavgpool
    flatten
    dropout 0.5
    batchnorm
    dense 128 [bias=false] [ACT]
    relu | sigmoid | tanh | softmax | linear                # inline after a layer, or on its own

Sizes are written 3 or 3x5 (rows x columns). Shapes follow Keras: H x W x C and 'same' padding as
TensorFlow computes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from minigrad.errors import SpecError, Where, did_you_mean
from minigrad.layers import bounds
from minigrad.layers import (
    ACTIVATIONS,
    Activation,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalPool,
    Layer,
    Network,
    Pool,
)

KEYWORDS = {
    "input": "input", "conv": "conv", "conv2d": "conv", "maxpool": "maxpool",
    "maxpool2d": "maxpool", "avgpool": "avgpool", "avgpool2d": "avgpool",
    "globalavgpool": "globalavgpool", "flatten": "flatten", "dropout": "dropout",
    "batchnorm": "batchnorm", "dense": "dense", "fc": "dense",
    **{name: "activation" for name in ACTIVATIONS},
}
OPTIONS = {
    "conv": ("stride", "padding", "dilation", "bias", "activation"),
    "maxpool": ("stride", "padding"), "avgpool": ("stride", "padding"),
    "dense": ("bias", "activation"),
}
EXAMPLES = {
    "input": "input 28x28x1", "conv": "conv 32 3x3", "maxpool": "maxpool 2",
    "avgpool": "avgpool 2", "dropout": "dropout 0.5", "dense": "dense 128",
}
_SIZE = re.compile(r"^\d+([x×X]\d+)*$")


@dataclass(frozen=True)
class Token:
    text: str
    where: Where


def _tokens(source: str):
    """Yield each layer's tokens: lines split on ';' and ',', comments dropped, columns kept."""
    for line_no, line in enumerate(source.splitlines(), start=1):
        code = line.split("#", 1)[0]
        for match in re.finditer(r"[^;,]+", code):
            words = [Token(m.group(), Where(line_no, match.start() + m.start() + 1, len(m.group())))
                     for m in re.finditer(r"\S+", match.group())]
            if words:
                yield words


def parse(source: str) -> Network:
    """Parse layer-language text into a Network (layout hwc, Keras rules).

    Texts longer than bounds.MAX_SPEC_CHARS and models of more than bounds.MAX_LAYERS layers are
    refused by name before anything is built, so parsing stays linear and quick."""
    if len(source) > bounds.MAX_SPEC_CHARS:
        raise SpecError(f"the model text is {len(source):,} characters long, more than "
                        f"{bounds.MAX_SPEC_CHARS:,} (cnncalc's ceiling for the layer language)")
    input_shape, input_where, layers = None, None, []
    for words in _tokens(source):
        head = words[0]
        if len(layers) >= bounds.MAX_LAYERS and KEYWORDS.get(head.text.lower()) != "input":
            bounds.check_layer_count(len(layers) + 1, head.where)
        keyword = KEYWORDS.get(head.text.lower())
        if keyword is None:
            raise SpecError(f"unknown layer '{_q(head.text)}'", head.where,
                            did_you_mean(head.text, KEYWORDS))
        if keyword == "input":
            if input_shape is not None or layers:
                raise SpecError("the input shape must come once, before the first layer", head.where)
            _expect_count(words, 2, "input")
            input_shape, input_where = _sizes(words[1], "input shape"), head.where
            if len(input_shape) not in (1, 3):
                raise SpecError("input shape must be H x W x C (e.g. 28x28x1) or a flat size "
                                "(e.g. 784)", words[1].where)
            continue
        layers.append(_layer(keyword, words))
    if input_shape is None and not layers:
        raise SpecError("empty model: no layers found")
    return Network(input_shape, tuple(layers), "hwc", "keras", input_where)


def _layer(keyword: str, words: list[Token]) -> Layer:
    head, rest = words[0], words[1:]
    where = head.where
    if keyword == "activation":
        _expect_count(words, 1, head.text)
        return Activation(fn=head.text.lower(), where=where)
    if keyword in ("flatten", "batchnorm", "globalavgpool"):
        _expect_count(words, 1, keyword)
        return {"flatten": Flatten, "batchnorm": BatchNorm,
                "globalavgpool": GlobalPool}[keyword](where=where)
    if keyword == "dropout":
        _expect_count(words, 2, keyword)
        try:
            rate = float(rest[0].text)
        except ValueError:
            raise SpecError(f"dropout rate must be a number, got '{_q(rest[0].text)}'",
                            rest[0].where) from None
        if not 0 <= rate < 1:
            raise SpecError(f"dropout rate must be in [0, 1), got {_q(rest[0].text)}", rest[0].where)
        return Dropout(rate=rate, where=where)

    positional = [w for w in rest if "=" not in w.text and w.text.lower() not in ACTIVATIONS
                  and w.text.lower() != "ceil"]
    wanted = {"conv": 2, "dense": 1, "maxpool": 1, "avgpool": 1}[keyword]
    if len(positional) < wanted:
        raise SpecError(f"{keyword} needs {'a filter count and a kernel size' if keyword == 'conv' else 'a size'}"
                        f", e.g. '{EXAMPLES[keyword]}'", where)
    if len(positional) > wanted:
        extra = positional[wanted]
        if extra.text.lower() in OPTIONS[keyword]:  # `padding same`: an option without its '='
            value = positional[wanted + 1].text if len(positional) > wanted + 1 else "…"
            hint = f"options are written with '=': {extra.text.lower()}={_q(value)}"
        else:
            hint = did_you_mean(extra.text, list(OPTIONS[keyword]) + list(ACTIVATIONS))
        raise SpecError(f"unexpected '{_q(extra.text)}' in {keyword}", extra.where, hint)
    options = _options(keyword, rest)
    if keyword == "dense":
        return Dense(units=_int(positional[0], "units"), bias=options.get("bias", True),
                     activation=options.get("activation"), where=where)
    if keyword == "conv":
        return Conv(filters=_int(positional[0], "filter count"),
                    kernel=_pair(positional[1], "kernel size"), stride=options.get("stride", (1, 1)),
                    padding=options.get("padding", "valid"), dilation=options.get("dilation", (1, 1)),
                    bias=options.get("bias", True), activation=options.get("activation"), where=where)
    return Pool(mode=keyword[:3], kernel=_pair(positional[0], "pool size"),
                stride=options.get("stride"), padding=options.get("padding", "valid"),
                ceil=options.get("ceil", False), where=where)


def _options(keyword: str, words: list[Token]) -> dict:
    allowed = OPTIONS[keyword]
    options: dict = {}
    for word in words:
        text = word.text.lower()
        if text in ACTIVATIONS:
            if "activation" not in allowed:
                raise SpecError(f"{keyword} takes no activation", word.where)
            options["activation"] = text
            continue
        if text == "ceil":
            if keyword not in ("maxpool", "avgpool"):
                raise SpecError(f"'ceil' applies to pools, not {keyword}", word.where)
            options["ceil"] = True
            continue
        if "=" not in text:
            continue
        key, value = text.split("=", 1)
        value_where = Where(word.where.line, word.where.col + len(key) + 1, max(len(value), 1))
        if key not in allowed:
            raise SpecError(f"unknown option '{_q(key)}' for {keyword}", word.where,
                            did_you_mean(key, allowed))
        if key == "padding":
            options[key] = value if value in ("same", "valid") else _pair(Token(value, value_where), "padding", zero_ok=True)
        elif key == "bias":
            if value not in ("true", "false"):
                raise SpecError(f"bias must be true or false, got '{_q(value)}'", value_where)
            options[key] = value == "true"
        elif key == "activation":
            if value not in ACTIVATIONS:
                raise SpecError(f"unknown activation '{_q(value)}'", value_where,
                                did_you_mean(value, ACTIVATIONS))
            options[key] = value
        else:
            options[key] = _pair(Token(value, value_where), key)
    return options


def _q(text: str, keep: int = 40) -> str:
    """A word of the spec as quoted in a message: long ones cut."""
    return text if len(text) <= keep else text[:keep] + "…"


def _expect_count(words: list[Token], count: int, what: str) -> None:
    if len(words) < count:
        raise SpecError(f"{what} needs a value, e.g. '{EXAMPLES.get(what, what)}'", words[0].where)
    if len(words) > count:
        raise SpecError(f"unexpected '{_q(words[count].text)}' after {what}", words[count].where)


def _sizes(token: Token, what: str, zero_ok: bool = False) -> tuple[int, ...]:
    if not _SIZE.match(token.text):
        raise SpecError(f"{what} must be whole numbers like 3 or 3x5, got '{_q(token.text)}'", token.where)
    values = tuple(bounds.check_written_size(v, what, token.where)
                   for v in re.split(r"[x×X]", token.text))
    if any(v < 0 or (v == 0 and not zero_ok) for v in values):
        raise SpecError(f"{what} must be {'non-negative' if zero_ok else 'positive'}, got "
                        f"'{_q(token.text)}'", token.where)
    return values


def _pair(token: Token, what: str, zero_ok: bool = False) -> tuple[int, int]:
    values = _sizes(token, what, zero_ok)
    if len(values) > 2:
        raise SpecError(f"{what} takes one or two numbers (e.g. 3 or 3x5), got '{_q(token.text)}'",
                        token.where)
    return (values[0], values[-1])


def _int(token: Token, what: str) -> int:
    values = _sizes(token, what)
    if len(values) != 1:
        raise SpecError(f"{what} must be one whole number, got '{_q(token.text)}'", token.where)
    return values[0]
