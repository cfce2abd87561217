"""Resampling ops: upsampling (nearest, linear, bilinear), padding and pixel shuffle, forward
beside backward. Each is a gather, a scatter or a separable linear map along the spatial axes:
fused numpy, no loops over pixels."""

from __future__ import annotations

import math

import numpy as np

from minigrad.engine.tensor import Function, Tensor, as_tensor

__all__ = ["interpolate", "upsample", "pad", "pixel_shuffle", "pixel_unshuffle",
           "Interpolate", "Pad", "PixelShuffle", "PixelUnshuffle", "PAD_MODES"]


# ---------------------------------------------------------------------------------------------
# Upsampling
# ---------------------------------------------------------------------------------------------

def _nearest_sources(n_in: int, n_out: int, scale_factor, dtype, small_output: bool):
    """The input index each output index copies: PyTorch's floor(dst · in/out) on the CPU.

    The ratio is 1/scale_factor when a scale was given, else in/out. PyTorch's 2-D kernel for
    small outputs (OH + OW <= 128) computes it in float32 and copies straight across when
    out == in and takes dst // 2 when out == 2·in; its general kernel works in the input's
    precision and rounds dst · ratio to float32 before the floor. The two differ only where
    dst · ratio falls within rounding of an integer (or for a scale that leaves the size alone
    or doubles it), and both are kept so that results match PyTorch's exactly.
    """
    dst = np.arange(n_out)
    if small_output:
        if n_out == n_in:
            return dst
        if n_out == 2 * n_in:
            return dst // 2
        ratio = (np.float32(1.0 / scale_factor) if scale_factor is not None
                 else np.float32(n_in) / np.float32(n_out))
        source = np.floor(dst.astype(np.float32) * ratio)
    else:
        ratio = (dtype.type(1.0 / scale_factor) if scale_factor is not None
                 else dtype.type(n_in) / dtype.type(n_out))
        source = np.floor((dst.astype(dtype) * ratio).astype(np.float32))
    return np.minimum(source.astype(np.int64), n_in - 1)


def _linear_weights(n_in: int, n_out: int, scale_factor, align_corners: bool, dtype):
    """(n_out, n_in) matrix whose row i holds output i's two weights (1 − λ, λ), PyTorch's rule:

    align_corners=True:  src = i·(in − 1)/(out − 1)        (0 when out = 1)
    align_corners=False: src = (i + 0.5)·ratio − 0.5, clamped at 0 (ratio = 1/scale or in/out)
    i0 = floor(src) (of src rounded to float32, as PyTorch's floorf), i1 = min(i0 + 1, in − 1),
    λ = src − i0 clamped to [0, 1]. An output as long as its input copies it.
    """
    weights = np.zeros((n_out, n_in), dtype=dtype)
    dst = np.arange(n_out)
    if n_out == n_in:
        weights[dst, dst] = 1
        return weights
    if align_corners:
        ratio = dtype.type(n_in - 1) / dtype.type(n_out - 1) if n_out > 1 else dtype.type(0)
        source = dst * ratio
    else:
        ratio = (dtype.type(1.0 / scale_factor) if scale_factor is not None
                 else dtype.type(n_in) / dtype.type(n_out))
        source = np.maximum((dst + dtype.type(0.5)) * ratio - dtype.type(0.5), 0)
    first = np.minimum(np.floor(source.astype(np.float32)).astype(np.int64), n_in - 1)
    second = np.minimum(first + 1, n_in - 1)
    lam = np.clip(source - first, 0, 1).astype(dtype)
    np.add.at(weights, (dst, first), 1 - lam)  # add: first == second at the last input
    np.add.at(weights, (dst, second), lam)
    return weights


def _one_hot(sources: np.ndarray, n_in: int, dtype) -> np.ndarray:
    matrix = np.zeros((len(sources), n_in), dtype=dtype)
    matrix[np.arange(len(sources)), sources] = 1
    return matrix


class Interpolate(Function):
    """x: (N, C, L) -> (N, C, OL) or (N, C, H, W) -> (N, C, OH, OW); separable along each axis.

    nearest:          out[..., i, j] = x[..., rows[i], cols[j]]          (a gather)
    linear, bilinear: out = A_h @ x @ A_wᵀ, each row of A holding two weights (1 − λ, λ)
    backward (both):  dx = A_hᵀ @ dout @ A_w, where for nearest A is the one-hot matrix of the
                      gather: each output's gradient goes back to the pixel it copied
    (PyTorch's nearest backward always uses the float32 rule of _nearest_sources, so where its
    forward took the other rule and the two disagree, its gradient is not its forward's; this
    one is.)
    """

    def forward(self, x, *, out_sizes, scale_factors, mode, align_corners):
        in_sizes = x.shape[2:]
        small_output = len(in_sizes) == 2 and sum(out_sizes) <= 128
        self.matrices = []  # one (out, in) matrix per spatial axis, H before W
        out = x
        for axis, (n_in, n_out, scale) in enumerate(zip(in_sizes, out_sizes, scale_factors)):
            if mode == "nearest":
                sources = _nearest_sources(n_in, n_out, scale, x.dtype, small_output)
                out = np.take(out, sources, axis=2 + axis)
                self.matrices.append(_one_hot(sources, n_in, x.dtype))
            else:
                self.matrices.append(_linear_weights(n_in, n_out, scale, align_corners, x.dtype))
        if mode != "nearest":
            out = x @ self.matrices[-1].T
            if len(self.matrices) == 2:
                out = self.matrices[0] @ out
        return out

    def backward(self, grad):
        dx = grad @ self.matrices[-1]
        if len(self.matrices) == 2:
            dx = self.matrices[0].T @ dx
        return dx


_MODES = {"nearest": (1, 2), "linear": (1,), "bilinear": (2,)}  # mode -> spatial ranks


def _per_axis(value, rank: int, name: str) -> tuple:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank
    if len(values) != rank:
        raise ValueError(f"interpolate: {name} {value!r} has {len(values)} values but the input "
                         f"has {rank} spatial dimension{'s' if rank > 1 else ''}")
    return values


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) maps, PyTorch's F.interpolate (also named upsample).

    size: the output size (an int for every spatial axis, or one per axis), or scale_factor:
    a number or one per axis, output = floor(input · scale). Exactly one of the two.
    mode: 'nearest' (1-D and 2-D), 'linear' (1-D), 'bilinear' (2-D); align_corners (linear
    modes only, default False): whether the corner pixels' centres of input and output line up.
    """
    x = as_tensor(x)
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if x.ndim - 2 not in _MODES[mode]:
        raise ValueError(f"interpolate: got {x.ndim}D input {x.shape}, but mode {mode!r} needs "
                         + " or ".join(f"{rank + 2}D" for rank in _MODES[mode]) + " input")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners option can only be set with the "
                         "interpolating modes: linear | bilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give either size or scale_factor, not both or neither")
    in_sizes = x.shape[2:]
    rank = len(in_sizes)
    if size is not None:
        out_sizes = tuple(int(s) for s in _per_axis(size, rank, "size"))
        scale_factors = (None,) * rank
    else:
        scale_factors = tuple(float(s) for s in _per_axis(scale_factor, rank, "scale_factor"))
        if min(scale_factors) <= 0:
            raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor!r}")
        out_sizes = tuple(math.floor(n * s) for n, s in zip(in_sizes, scale_factors))
    if min(in_sizes) < 1 or min(out_sizes) < 1:
        raise ValueError(f"interpolate: input and output sizes should be greater than 0, but got "
                         f"input {x.shape} and output size {out_sizes}")
    return Interpolate.apply(x, out_sizes=out_sizes, scale_factors=scale_factors, mode=mode,
                             align_corners=bool(align_corners))


upsample = interpolate


# ---------------------------------------------------------------------------------------------
# Padding
# ---------------------------------------------------------------------------------------------

PAD_MODES = {"constant": None, "reflect": "reflect", "replicate": "edge"}  # -> np.pad's mode


def _pad_pairs(op: str, x: np.ndarray, pad, mode: str) -> list[tuple[int, int]]:
    """(before, after) per padded axis, FIRST axis first, from PyTorch's pad tuple, which lists
    the LAST axis first: (left, right, top, bottom, ...)."""
    pad = tuple(pad)
    if len(pad) % 2 or not all(isinstance(p, (int, np.integer)) for p in pad):
        raise ValueError(f"{op}: pad must be an even number of ints, got {pad!r}")
    axes = len(pad) // 2
    if axes > x.ndim:
        raise ValueError(f"{op}: pad {pad!r} pads {axes} axes but the input {x.shape} has "
                         f"{x.ndim}")
    if mode != "constant" and not (1 <= axes <= 3 and x.ndim in (axes + 1, axes + 2)):
        raise ValueError(f"{op}: {mode} padding of {axes} ax{'is' if axes == 1 else 'es'} needs "
                         f"a {axes + 1}-D or {axes + 2}-D input, got {x.shape}")
    pairs = [(int(pad[2 * i]), int(pad[2 * i + 1])) for i in reversed(range(axes))]
    for (before, after), n in zip(pairs, x.shape[x.ndim - axes:]):
        if n + before + after < 0:
            raise ValueError(f"{op}: pad {pad!r} crops more than the input {x.shape} holds")
        if mode == "reflect" and (before >= n or after >= n):
            raise ValueError(f"{op}: reflect padding ({before}, {after}) must be smaller than the "
                             f"input size {n} (input {x.shape})")
        if mode == "replicate" and n == 0:
            raise ValueError(f"{op}: cannot replicate the edge of an empty axis ({x.shape})")
    return pairs


def _kept(n: int, before: int, after: int) -> int:
    """How many of an axis' n values survive the negative (cropping) sides."""
    return max(n - max(-before, 0) - max(-after, 0), 0)


def _source_indices(n: int, before: int, after: int, np_mode: str) -> np.ndarray:
    """For reflect and replicate: which input index each output index along one axis copies
    (np.pad of 0 … n − 1, then the negative sides cropped, as PyTorch does)."""
    indices = np.pad(np.arange(n), (max(before, 0), max(after, 0)), mode=np_mode)
    return indices[max(-before, 0):len(indices) - max(-after, 0)]


class Pad(Function):
    """x: (*, S1, …, Sk) -> (*, S1 + b1 + a1, …) on the last k axes; negative pads crop.

    constant:           out = value everywhere, then the overlap with x copied in;
                        backward: the overlap of dout (the padding received no x)
    reflect, replicate: a gather along each padded axis with an index map (reflect: mirror
                        without the edge pixel; replicate: copies of the edge pixel);
                        backward: scatter-add dout back through the same maps, so an edge
                        pixel collects the gradients of all its copies
    """

    def forward(self, x, *, pad, mode="constant", value=0.0):
        if mode not in PAD_MODES:
            raise ValueError(f"pad: mode must be one of {', '.join(PAD_MODES)}, got {mode!r}")
        pairs = _pad_pairs("pad", x, pad, mode)
        first = x.ndim - len(pairs)
        self.x_shape, self.first_axis = x.shape, first
        if mode == "constant":
            out_shape = x.shape[:first] + tuple(n + b + a for n, (b, a) in
                                                zip(x.shape[first:], pairs))
            out = np.full(out_shape, value, dtype=x.dtype)
            # the region both arrays share: x from max(−before, 0), out from max(before, 0)
            sides = list(zip(x.shape[first:], pairs))
            self.inside = (Ellipsis,) + tuple(slice(max(b, 0), max(b, 0) + _kept(n, b, a))
                                              for n, (b, a) in sides)
            self.source = (Ellipsis,) + tuple(slice(max(-b, 0), max(-b, 0) + _kept(n, b, a))
                                              for n, (b, a) in sides)
            out[self.inside] = x[self.source]
            self.maps = None
            return out
        self.maps = [_source_indices(n, b, a, PAD_MODES[mode])
                     for n, (b, a) in zip(x.shape[first:], pairs)]
        out = x
        for axis, indices in enumerate(self.maps, start=first):
            out = np.take(out, indices, axis=axis)
        return out

    def backward(self, grad):
        if self.maps is None:
            dx = np.zeros(self.x_shape, dtype=grad.dtype)
            dx[self.source] = grad[self.inside]
            return dx
        for axis in reversed(range(self.first_axis, len(self.x_shape))):
            indices = self.maps[axis - self.first_axis]
            shape = grad.shape[:axis] + (self.x_shape[axis],) + grad.shape[axis + 1:]
            summed = np.zeros(shape, dtype=grad.dtype)
            np.add.at(summed, (slice(None),) * axis + (indices,), grad)
            grad = summed
        return grad


def pad(x, pad, mode="constant", value=0.0) -> Tensor:
    """Pad the last len(pad)/2 axes, PyTorch's F.pad: pad = (left, right, top, bottom, …), the
    LAST axis first; negative values crop. mode: 'constant' (any axes, fill `value`),
    'reflect' or 'replicate' (the last 1-3 axes of a batched or unbatched input; reflect pads
    must be smaller than the axis)."""
    if mode != "constant" and value != 0:
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in a value argument")
    return Pad.apply(x, pad=pad, mode=mode, value=value)


# ---------------------------------------------------------------------------------------------
# Pixel shuffle
# ---------------------------------------------------------------------------------------------

def _shuffle(x: np.ndarray, r: int) -> np.ndarray:
    """(*, C·r², H, W) -> (*, C, H·r, W·r):
    out[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w]."""
    *lead, c, h, w = x.shape
    blocks = x.reshape(*lead, c // (r * r), r, r, h, w)        # (*, C, i, j, H, W)
    k = len(lead)
    moved = blocks.transpose(*range(k), k, k + 3, k + 1, k + 4, k + 2)  # (*, C, H, i, W, j)
    return moved.reshape(*lead, c // (r * r), h * r, w * r)


def _unshuffle(x: np.ndarray, r: int) -> np.ndarray:
    """The inverse: (*, C, H·r, W·r) -> (*, C·r², H, W)."""
    *lead, c, hr, wr = x.shape
    blocks = x.reshape(*lead, c, hr // r, r, wr // r, r)       # (*, C, H, i, W, j)
    k = len(lead)
    moved = blocks.transpose(*range(k), k, k + 2, k + 4, k + 1, k + 3)  # (*, C, i, j, H, W)
    return moved.reshape(*lead, c * r * r, hr // r, wr // r)


def _check_factor(op: str, x: np.ndarray, factor) -> int:
    if not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"{op}: the factor must be a positive int, got {factor!r}")
    if x.ndim < 3:
        raise ValueError(f"{op}: input must be (*, C, H, W), got shape {x.shape}")
    return int(factor)


class PixelShuffle(Function):
    """x: (*, C·r², H, W) -> (*, C, H·r, W·r), channels moved into space (sub-pixel conv).

    forward:  reshape to (*, C, r, r, H, W), move the two r axes behind H and W, reshape
    backward: the inverse permutation (pixel_unshuffle of dout)
    """

    def forward(self, x, *, upscale_factor):
        r = self.factor = _check_factor("pixel_shuffle", x, upscale_factor)
        if x.shape[-3] % (r * r):
            raise ValueError(f"pixel_shuffle: the channels of input {x.shape} must be divisible "
                             f"by upscale_factor² = {r * r}")
        return _shuffle(x, r)

    def backward(self, grad):
        return _unshuffle(grad, self.factor)


class PixelUnshuffle(Function):
    """x: (*, C, H·r, W·r) -> (*, C·r², H, W), the inverse of PixelShuffle.

    forward: pixel_unshuffle; backward: pixel_shuffle of dout
    """

    def forward(self, x, *, downscale_factor):
        r = self.factor = _check_factor("pixel_unshuffle", x, downscale_factor)
        if x.shape[-2] % r or x.shape[-1] % r:
            raise ValueError(f"pixel_unshuffle: height and width of input {x.shape} must be "
                             f"divisible by downscale_factor = {r}")
        return _unshuffle(x, r)

    def backward(self, grad):
        return _shuffle(grad, self.factor)


def pixel_shuffle(x, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) -> (*, C, H·r, W·r), PyTorch's F.pixel_shuffle."""
    return PixelShuffle.apply(x, upscale_factor=upscale_factor)


def pixel_unshuffle(x, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) -> (*, C·r², H, W), PyTorch's F.pixel_unshuffle."""
    return PixelUnshuffle.apply(x, downscale_factor=downscale_factor)
