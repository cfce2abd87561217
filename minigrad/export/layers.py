"""Export to the layer language (minigrad/readers/dsl.py): one line per layer, H×W×C shapes and
Keras' rules, so it expresses a chain of 2-D convs, pools, dense layers, flatten, dropout,
batchnorm and the plain activations; anything else is refused, naming the layer.

The text is written from the layer graph (Part.layer: the settings as the source wrote them), not
from the built modules: a layer-language line is a layer kind with its settings. Where the layer
language would compute something else, the line carries a warning comment:
- a PyTorch model flattens C, H, W; the layer language flattens channels last, as Keras does, so
  the dense layer after the flatten sees its inputs in another order (same shapes and counts);
- BatchNorm with another eps or momentum than Keras' (1e-3, 0.99), which the language cannot state.
"""

from __future__ import annotations

from minigrad.errors import SpecError
from minigrad.export import Export, Exportable, Part
from minigrad.layers import (ACTIVATIONS, Activation, BatchNorm, Conv, Dense, Dropout, Flatten,
                             GlobalPool, Input, Pool)
from minigrad.layers.base import shape_text
from minigrad.layers.shapes import convert_shape

KERAS_BATCH_NORM = (1e-3, 0.01)  # eps, and momentum in PyTorch's sense (Keras' 0.99)


def export(exportable: Exportable) -> Export:
    """The layer-language text of a chain; SpecError naming the first layer it cannot express."""
    if not exportable.is_chain():
        raise SpecError("the layer language writes chains (each layer feeding the next); this "
                        "model has branches, merges or shared layers: export it --to pytorch or "
                        "--to keras")
    lines, warnings = [], []
    for part in exportable.parts:
        line, warning = _line(part, exportable)
        if warning:
            warnings.append(f"{part.name}: {warning}")
            line += f"  # warning: {warning}"
        lines.append(line)
    if exportable.final_activation and not isinstance(exportable.parts[-1].layer, Activation) \
            and not getattr(exportable.parts[-1].layer, "activation", None):
        lines.append(exportable.final_activation)
    return Export("\n".join(lines) + "\n", warnings)


def _line(part: Part, exportable: Exportable) -> tuple[str, str | None]:
    layer = part.layer
    if isinstance(layer, Input):
        shape = convert_shape(part.shape, exportable.layout, "hwc")
        if len(shape) not in (1, 3):
            raise _refused(part, f"an input of shape {shape_text(shape)} (the layer language "
                                 "takes H×W×C images or flat vectors)")
        return f"input {'x'.join(map(str, shape))}", None
    if isinstance(layer, Conv):
        return _conv(part, layer), None
    if isinstance(layer, Pool):
        return _pool(part, layer), None
    if isinstance(layer, GlobalPool) and layer.mode == "avg" and not layer.keepdims:
        return "globalavgpool", None
    if isinstance(layer, Flatten) and layer.start_dim in (0, 1):
        if exportable.flatten_order == "chw" and len(exportable.part(part.inputs[0]).shape) > 1:
            return "flatten", ("the layer language flattens channels last (as Keras does); this "
                               "model flattens C, H, W: the next dense layer's inputs come in "
                               "another order")
        return "flatten", None
    if isinstance(layer, Dropout) and layer.variant == "dropout":
        return f"dropout {layer.rate:g}", None
    if isinstance(layer, BatchNorm) and layer.axis is None and layer.scale and layer.center \
            and layer.track_running_stats:
        eps, momentum = _batch_norm_settings(layer, exportable)
        if (eps, momentum) != KERAS_BATCH_NORM:
            return "batchnorm", (f"eps={eps:g}, momentum={momentum:g} (PyTorch's sense) here; the "
                                 "layer language's batchnorm takes Keras' eps=0.001, "
                                 "momentum=0.99")
        return "batchnorm", None
    if isinstance(layer, Dense):
        return f"dense {layer.units}" + _bias(layer.bias) + _activation(part, layer.activation), None
    if isinstance(layer, Activation) and layer.fn in ACTIVATIONS and layer.alpha is None:
        return layer.fn, None
    what = f"the {layer.fn} activation" if isinstance(layer, Activation) else \
        f"a {layer.row_type()} layer with these settings"
    raise _refused(part, what)


def _conv(part: Part, layer: Conv) -> str:
    if len(layer.kernel) != 2 or layer.groups != 1 or layer.padding_mode != "zeros":
        raise _refused(part, "a 1-D, grouped or non-zero-padded convolution")
    words = [f"conv {layer.filters} {_size(layer.kernel)}"]
    if layer.stride != (1, 1):
        words.append(f"stride={_size(layer.stride)}")
    padding = _padding(part, layer.padding)
    if padding:
        words.append(f"padding={padding}")
    if layer.dilation != (1, 1):
        words.append(f"dilation={_size(layer.dilation)}")
    return " ".join(words) + _bias(layer.bias) + _activation(part, layer.activation)


def _pool(part: Part, layer: Pool) -> str:
    if len(layer.kernel) != 2:
        raise _refused(part, "a 1-D pool")
    words = [f"{layer.mode}pool {_size(layer.kernel)}"]
    if layer.stride and tuple(layer.stride) != tuple(layer.kernel):
        words.append(f"stride={_size(layer.stride)}")
    padding = _padding(part, layer.padding)
    if padding:
        words.append(f"padding={padding}")
    if layer.ceil:
        words.append("ceil")
    return " ".join(words)


def _padding(part: Part, padding) -> str | None:
    """The padding= value, None for 'valid' (the default); SpecError for different sides."""
    if padding in ("valid", 0):
        return None
    if padding == "same":
        return "same"
    sides = (padding,) * 2 if isinstance(padding, int) else tuple(padding)
    if any(not isinstance(p, int) for p in sides):
        raise _refused(part, f"padding {padding!r} (different before and after)")
    return None if not any(sides) else _size(sides)


def _batch_norm_settings(layer: BatchNorm, exportable: Exportable) -> tuple[float, float]:
    defaults = KERAS_BATCH_NORM if exportable.rules == "keras" else (1e-5, 0.1)
    return (defaults[0] if layer.eps is None else layer.eps,
            defaults[1] if layer.momentum is None else layer.momentum)


def _size(values) -> str:
    values = tuple(values)
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def _bias(bias: bool) -> str:
    return "" if bias else " bias=false"


def _activation(part: Part, fn: str | None) -> str:
    if fn is None or fn in ("linear", "identity"):
        return ""
    if fn not in ACTIVATIONS:
        raise _refused(part, f"the inline activation {fn!r}")
    return f" {fn}"


def _refused(part: Part, what: str) -> SpecError:
    return SpecError(f"layer '{part.name}': the layer language cannot express {what}; export "
                     "it --to pytorch or --to keras")
