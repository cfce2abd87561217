"""Transposed convolution ("deconvolution"), 1-D and 2-D: PyTorch ConvTranspose1d/2d and Keras
Conv1DTranspose/Conv2DTranspose.

Each input pixel is multiplied by a k×k kernel per output channel and the products are added
into a k×k patch of the output, S pixels apart: the output grows instead of shrinking.

    (C, *S) → (F, *S')   (channels last in Keras)
    params C·(F/g)·k·k (+ F bias)        MACs C·(F/g)·k·k·H_in·W_in (every input pixel scattered)

Output size per axis:
- integer padding P (PyTorch): (H − 1)·S − 2P + D·(K − 1) + output_padding + 1, with
  output_padding < max(S, D) and a positive result, as PyTorch checks.
- Keras 'valid': (H − 1)·S + max(K_eff, S) without output_padding, (H − 1)·S + K_eff + op with it.
- Keras 'same': H·S without output_padding, (H − 1)·S + K_eff mod 2 + op with it
  (keras/src/backend/common/backend_utils.py, _get_output_shape_given_tf_padding; Keras also
  requires output_padding < S and refuses strides > 1 together with dilation > 1).
K_eff = D·(K − 1) + 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from minigrad.layers.base import (Context, Flow, Ints, Layer, Outcome, check_positive, dims_text, number,
                                  per_axis, shape_text, unknown_field)
from minigrad.layers.window import Padding, activation_words, kernel_text, labels, merge_sizes, need_grid

SCATTER = "a transposed convolution spreads each input pixel over several outputs"


@dataclass(frozen=True, kw_only=True)
class ConvTranspose(Layer):
    """A transposed convolution: (C, *S) → (filters, *S') in the layout of the context.

    kernel, stride, dilation, output_padding: one int for every axis or one per spatial axis
    (stride, dilation None: 1; output_padding None: 0 in PyTorch, Keras' own default in Keras).
    padding: PyTorch's P (int or per axis), or Keras' "valid" / "same".
    groups: PyTorch's groups (C and filters both divisible). in_channels: PyTorch's declared C.
    """

    filters: int
    kernel: Ints
    stride: Ints | None = None
    padding: Padding = 0
    output_padding: Ints | None = None
    dilation: Ints | None = None
    groups: int = 1
    bias: bool = True
    activation: str | None = None
    in_channels: int | None = None

    type = "convtranspose"
    default_name = "conv2d_transpose"

    def infer(self, ctx: Context, inputs: tuple[Flow, ...]) -> Outcome:
        (flow,) = inputs
        c, spatial = need_grid(ctx, self, "a transposed convolution", flow.shape, (1, 2, 3))
        rank = len(spatial)
        kernel = per_axis(ctx, self, "kernel", self.kernel, rank)
        stride = per_axis(ctx, self, "stride", self.stride, rank, 1)
        dilation = per_axis(ctx, self, "dilation", self.dilation, rank, 1)
        out_pad = (None if self.output_padding is None
                   else per_axis(ctx, self, "output_padding", self.output_padding, rank))
        check_positive(ctx, self, filters=self.filters, kernel=kernel, stride=stride,
                       dilation=dilation, groups=self.groups)
        if out_pad is not None:
            check_positive(ctx, self, zero_ok=True, output_padding=out_pad)
        g, f = self.groups, self.filters
        if self.in_channels is not None and self.in_channels != c:
            raise ctx.error(f"expects {self.in_channels} input channels but receives {c} "
                            f"(input {shape_text(flow.shape)})", self,
                            hint=f"set in_channels to {c}")
        if c % g or f % g:
            raise ctx.error(f"groups={g} must divide both the {c} input channels and the {f} "
                            f"filters", self)
        sizes, explain = self._sizes(ctx, spatial, kernel, stride, dilation, out_pad)
        per_pixel = c * (f // g) * math.prod(kernel)
        params = per_pixel + (f if self.bias else 0)
        macs = per_pixel * math.prod(spatial)
        k_text = "·".join(map(str, kernel))
        patch = f"a {'×'.join(map(str, kernel))} patch" if rank > 1 else f"{kernel[0]} outputs"
        fg = f"{f}" if g == 1 else f"({f}/{g})"
        explain += [
            f"params = {c}·{fg}·{k_text}" + (f" + {f} = {number(params)}" if self.bias
                                            else f" = {number(params)} (no bias)"),
            f"MACs = {c}·{fg}·{k_text}·{'·'.join(map(str, spatial))} = {number(macs)}   "
            f"(each input pixel scattered over {patch})",
            f"receptive field: none ({SCATTER})",
        ]
        words = [f"{f} filters {kernel_text(kernel)}"]
        if any(s != 1 for s in stride):
            words.append(f"stride {dims_text(stride)}")
        if isinstance(self.padding, str):
            words.append(self.padding)
        elif any(p for p in per_axis(ctx, self, "padding", self.padding, rank)):
            words.append(f"pad {dims_text(per_axis(ctx, self, 'padding', self.padding, rank))}")
        if out_pad is not None and any(out_pad):
            words.append(f"output_padding {dims_text(out_pad)}")
        if any(d != 1 for d in dilation):
            words.append(f"dilation {dims_text(dilation)}")
        if g != 1:
            words.append(f"groups {g}")
        words += ([] if self.bias else ["no bias"]) + activation_words(self.activation)
        return Outcome(unknown_field(flow, ctx.shape(f, sizes), SCATTER), trainable=params,
                       macs=macs, description=", ".join(words), explain=tuple(explain))

    def _sizes(self, ctx, spatial, kernel, stride, dilation, out_pad):
        """Output sizes and their explain lines, by PyTorch's or Keras' formula."""
        rank = len(spatial)
        names = labels(rank)
        keras = isinstance(self.padding, str)
        if keras:
            if self.padding not in ("valid", "same"):
                raise ctx.error(f"padding must be 'valid', 'same' or integers, got {self.padding!r}", self)
            if ctx.rules == "torch":
                raise ctx.error(f"padding={self.padding!r}: PyTorch's transposed convolutions take "
                                "integer padding only", self)
            if max(stride) > 1 and max(dilation) > 1:
                raise ctx.error(f"Keras does not allow strides > 1 together with dilation_rate > 1 "
                                f"(strides {dims_text(stride)}, dilation_rate {dims_text(dilation)})", self)
        else:
            pads = per_axis(ctx, self, "padding", self.padding, rank)
            check_positive(ctx, self, zero_ok=True, padding=pads)
        sizes, explain = [], []
        for i, (n, k, s, d, label) in enumerate(zip(spatial, kernel, stride, dilation, names)):
            eff = d * (k - 1) + 1
            kern = f"{k}" if d == 1 else f"({d}·({k} − 1) + 1)"
            op = None if out_pad is None else out_pad[i]
            if keras:
                if op is not None and op >= s:
                    raise ctx.error(f"output_padding must be strictly less than strides (Keras' "
                                    f"rule): output_padding {op}, stride {s} along {label}", self)
                if self.padding == "valid" and op is None:
                    out = (n - 1) * s + max(eff, s)
                    line = f"O{label} = ({n} − 1)·{s} + max({kern.strip('()')}, {s}) = {out}   ('valid')"
                elif self.padding == "valid":
                    out = (n - 1) * s + eff + op
                    line = (f"O{label} = ({n} − 1)·{s} + {kern} + {op} = {out}   "
                            f"('valid', output_padding {op})")
                elif op is None:
                    out = n * s
                    line = f"O{label} = {n}·{s} = {out}   ('same')"
                else:
                    out = (n - 1) * s + eff % 2 + op
                    line = (f"O{label} = ({n} − 1)·{s} + {kern} mod 2 + {op} = {out}   "
                            f"('same', output_padding {op})")
            else:
                p, op = pads[i], op or 0
                if op >= max(s, d):
                    raise ctx.error(f"output padding must be smaller than either stride or dilation "
                                    f"(PyTorch's rule): output_padding {op}, stride {s}, dilation {d} "
                                    f"along {label}", self)
                out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
                line = f"O{label} = ({n} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1 = {out}"
                if out <= 0:
                    raise ctx.error(f"output size {out} along {label} is too small: {line[len(label) + 4:]}"
                                    f" (padding {p} removes more than the kernel adds)", self)
            sizes.append(out)
            explain.append(line)
        return tuple(sizes), merge_sizes(explain)


__all__ = ["ConvTranspose", "SCATTER"]
