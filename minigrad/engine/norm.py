"""Normalisation ops, forward beside backward: batch, layer, group and instance norm.

All four standardise x over some axes (x̂ = (x − mean) / √(var + ε), the biased variance) and
then scale and shift it (γ·x̂ + β). They differ only in which values share a mean and variance:
    batch norm     each channel over the batch and positions  (N, ·, H, W)
    layer norm     each sample over its last axes             (·, *normalized_shape)
    group norm     each sample's group of channels            (·, C/G, H, W)
    instance norm  each sample's channel over its positions   (·, ·, H, W)
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import workspace
from minigrad.engine.tensor import Function, Tensor, as_tensor

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "BatchNorm", "LayerNorm",
           "GroupNorm", "InstanceNorm"]


def eval_affine(weight, bias, running_mean, running_var, eps):
    """Batch norm in eval mode as the affine map it is per channel, y = x·s + t:
    (s, t) = (γ/√(σ² + ε), β − μ·s). Also what a conv before it folds in (nn/plan.py)."""
    scale = weight / np.sqrt(running_var + eps)
    return scale, bias - running_mean * scale


def _channel_sums(a: np.ndarray) -> np.ndarray:
    """Σ over every axis but 1 (the channels) of an (N, C, ...) array. When the channels are a's
    innermost axis in memory (a depthwise conv's output), one product with a vector of ones:
    numpy's reduction runs its inner loop over the C values of one pixel there, 18x slower at 16
    channels (0.17 against 0.009 ms), and adds them one pixel after another anyway. Otherwise
    numpy's own sum, pairwise along the contiguous axes: a product's float32 sums drift enough
    there to move resnet-mini's first weight gradient off PyTorch's by 1e-3."""
    order = sorted(range(a.ndim), key=lambda axis: -a.strides[axis])
    memory = a.transpose(order)
    if memory.flags.c_contiguous and order[-1] == 1:
        rows = memory.reshape(-1, a.shape[1])
        return np.ones(rows.shape[0], dtype=a.dtype) @ rows
    return a.sum(axis=(0,) + tuple(range(2, a.ndim)))


# Below this many channels, a per-channel vector meeting a channels-last map is tiled over the
# batch (_channel_vector); from 128 on, numpy's loop over one pixel's channels is long enough.
TILED_BELOW_CHANNELS = 128


def _channel_vector(vector: np.ndarray, like: np.ndarray) -> np.ndarray:
    """vector (C,) as an array that broadcasts over `like` (N, C, ...) per channel.

    When like lies (..., N, C) in memory, channels innermost and the batch next (a depthwise
    conv's output, and the 1×1 conv's after it), and has few channels, the vector is tiled N
    times, (N, C, 1, ...): numpy's loop then runs over the N·C contiguous values of a pixel
    instead of the C of one image. A training step's batch norm, forward and backward, at
    32×C×H×W: 16×14×14 0.42 -> 0.29 ms, 32×14×14 0.61 -> 0.47, 64×7×7 0.397 -> 0.381; at
    128×4×4 it costs more than it saves (0.294 -> 0.322). Otherwise the plain (1, C, 1, ...)."""
    n, c, itemsize = like.shape[0], like.shape[1], like.itemsize
    if like.ndim > 2 and c < TILED_BELOW_CHANNELS and like.strides[1] == itemsize \
            and like.strides[0] == c * itemsize and min(like.strides[2:]) >= n * c * itemsize:
        tiled = np.empty((n, c), dtype=vector.dtype)  # np.tile does this in 4.4 µs, not 1
        tiled[...] = vector
        return tiled.reshape((n, c) + (1,) * (like.ndim - 2))
    return vector.reshape((1, c) + (1,) * (like.ndim - 2))


class BatchNorm(Function):
    """x: (N, C), (N, C, L) or (N, C, H, W), weight γ and bias β: (C,) -> x's shape, per channel c:

    forward:  x̂ = (x − μ) / √(σ² + ε),  y = γ·x̂ + β
              training: μ, σ² are the batch's mean and biased variance over the m = N·H·W values
              of the channel; eval: the running statistics
    backward: dγ = Σ g·x̂,  dβ = Σ g,  and with ĝ = γ·g
              training: dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / √(σ² + ε)  (μ and σ² depend on x)
              eval:     dx = ĝ / √(σ² + ε)
    """

    def forward(self, x, weight, bias, *, running_mean, running_var, training, momentum, eps):
        if x.ndim < 2:
            raise ValueError(f"batch_norm: input must be (N, C), (N, C, L) or (N, C, H, W), got "
                             f"shape {x.shape}")
        c = x.shape[1]
        for label, array in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                             ("running_var", running_var)):
            if array.shape != (c,):
                raise ValueError(f"batch_norm: {label} shape {array.shape} does not match the "
                                 f"input's {c} channels (input {x.shape})")
        self.training = training
        if training:
            m = x.size // c
            if m < 2:
                raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                                 f"training, got input of shape {x.shape}")
            mean = _channel_sums(x) / m
            # Maps and temporaries are result arrays (workspace.py), recycled once free: fresh
            # ones of a few hundred kB cost page faults, 18% of mobilenet-mini's step.
            centered = np.subtract(x, _channel_vector(mean, x), out=workspace.result_like(x))
            var = _channel_sums(np.square(centered, out=workspace.result_like(centered))) / m
            # In place: the caller's buffers (a module's running statistics) are updated.
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * var * (m / (m - 1))  # the unbiased variance, as PyTorch
        else:
            mean, var = running_mean.astype(x.dtype), running_var.astype(x.dtype)
            if not self.records_graph:
                # Inference: two passes over the map; x̂ is only kept for a backward.
                scale, shift = eval_affine(weight, bias, mean, var, eps)
                out = np.multiply(x, _channel_vector(scale, x), out=workspace.result_like(x))
                out += _channel_vector(shift, x)
                return out
            centered = np.subtract(x, _channel_vector(mean, x), out=workspace.result_like(x))
        self.inv_std = 1 / np.sqrt(var + eps)
        self.x_hat = centered
        self.x_hat *= _channel_vector(self.inv_std, x)          # in place: x̂ owns `centered`
        self.gamma = weight
        out = np.multiply(self.x_hat, _channel_vector(weight, x),
                          out=workspace.result_like(x, np.result_type(x, weight)))
        out += _channel_vector(bias, x)
        return out

    def backward(self, grad):
        # With ĝ = γ·g, mean(ĝ) = γ·Σg/m and mean(ĝ·x̂) = γ·Σ(g·x̂)/m are the bias and weight
        # gradients over m, so the training-mode dx above is γ/σ·(g − Σg/m − x̂·Σ(g·x̂)/m):
        # two sums and three passes over the map instead of nine.
        x_hat = self.x_hat
        m = grad.size // grad.shape[1]
        dbias = _channel_sums(grad)
        dtype = np.result_type(grad, x_hat)
        dweight = _channel_sums(np.multiply(grad, x_hat, out=workspace.result_like(x_hat, dtype)))
        dx = None
        if self.needs_grad[0]:
            scale = _channel_vector(self.gamma * self.inv_std, x_hat)
            if self.training:
                dx = np.multiply(x_hat, _channel_vector(-dweight / m, x_hat),
                                 out=workspace.result_like(x_hat, dtype))
                dx += grad
                dx -= _channel_vector(dbias / m, x_hat)
                dx *= scale
            else:
                dx = np.multiply(grad, scale,
                                 out=workspace.result_like(x_hat, np.result_type(grad, scale)))
        return (dx, dweight if self.needs_grad[1] else None,
                dbias if self.needs_grad[2] else None)


def batch_norm(x, running_mean, running_var, weight, bias, training: bool,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over the channel axis 1. x: (N, C), (N, C, L) or (N, C, H, W);
    running_mean, running_var: (C,) numpy arrays, updated in place when training
    (new = (1 − momentum)·old + momentum·batch statistic); weight, bias: (C,)."""
    return BatchNorm.apply(x, weight, bias, running_mean=running_mean, running_var=running_var,
                           training=training, momentum=momentum, eps=eps)


# ---------------------------------------------------------------------------------------------
# Standardising over chosen axes: the step layer, group and instance norm share
# ---------------------------------------------------------------------------------------------

def _standardize(x: np.ndarray, axes: tuple[int, ...], eps: float):
    """x̂ = (x − mean) / √(var + ε) over axes (biased variance), and 1/√(var + ε) (kept dims)."""
    mean = x.mean(axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return (x - mean) * inv_std, inv_std


def _standardize_backward(g_hat, x_hat, inv_std, axes):
    """dx of x̂ = _standardize(x) for the upstream ĝ; mean and variance depend on x too:
    dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / √(var + ε), the means over the same axes."""
    return (g_hat - g_hat.mean(axis=axes, keepdims=True)
            - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True)) * inv_std


def _check_affine(op: str, x: np.ndarray, weight, bias, shape: tuple[int, ...]) -> None:
    for label, array in (("weight", weight), ("bias", bias)):
        if array.shape != shape:
            raise ValueError(f"{op}: {label} shape {array.shape} does not match {shape} "
                             f"(input {x.shape})")


def _ones_zeros(x: Tensor, shape, weight, bias):
    """γ = 1 and β = 0 where none is given: the same arithmetic, and no gradient is asked."""
    dtype = x.dtype
    if weight is None:
        weight = Tensor(np.ones(shape, dtype=dtype))
    if bias is None:
        bias = Tensor(np.zeros(shape, dtype=dtype))
    return weight, bias


class LayerNorm(Function):
    """x: (..., *normalized_shape), weight γ and bias β: normalized_shape -> x's shape.

    forward:  x̂ = standardised x over the last len(normalized_shape) axes of each sample,
              y = γ·x̂ + β (γ, β element-wise over those axes)
    backward: dγ = Σ g·x̂, dβ = Σ g (over the leading axes); with ĝ = γ·g,
              dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / √(σ² + ε) over the normalised axes
    """

    def forward(self, x, weight, bias, *, normalized_shape, eps):
        shape = tuple(normalized_shape)
        if not 0 < len(shape) <= x.ndim or x.shape[x.ndim - len(shape):] != shape:
            raise ValueError(f"layer_norm: normalized_shape {shape} does not match the last axes "
                             f"of the input {x.shape}")
        _check_affine("layer_norm", x, weight, bias, shape)
        self.axes = tuple(range(x.ndim - len(shape), x.ndim))
        self.leading = tuple(range(x.ndim - len(shape)))
        self.x_hat, self.inv_std = _standardize(x, self.axes, eps)
        self.gamma = weight
        return weight * self.x_hat + bias

    def backward(self, grad):
        dx = dweight = dbias = None
        if self.needs_grad[0]:
            dx = _standardize_backward(grad * self.gamma, self.x_hat, self.inv_std, self.axes)
        if self.needs_grad[1]:
            dweight = (grad * self.x_hat).sum(axis=self.leading)
        if self.needs_grad[2]:
            dbias = grad.sum(axis=self.leading)
        return dx, dweight, dbias


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the last axes. x: (..., *normalized_shape); weight, bias:
    normalized_shape (None: γ = 1, β = 0)."""
    if isinstance(normalized_shape, (int, np.integer)):
        normalized_shape = (int(normalized_shape),)
    x = as_tensor(x)
    weight, bias = _ones_zeros(x, tuple(normalized_shape), weight, bias)
    return LayerNorm.apply(x, weight, bias, normalized_shape=normalized_shape, eps=eps)


def _per_channel(op: str, x: np.ndarray, weight, bias) -> tuple[int, ...]:
    """Check (N, C, ...) input and (C,) γ, β; the shape (1, C, 1, ...) they broadcast as."""
    if x.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C, ...), got shape {x.shape}")
    _check_affine(op, x, weight, bias, (x.shape[1],))
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


class GroupNorm(Function):
    """x: (N, C, ...), weight γ and bias β: (C,) -> x's shape; the C channels split into G groups
    of C/G consecutive channels.

    forward:  x̂ = each sample's group standardised over its C/G channels and all positions,
              y = γ·x̂ + β per channel
    backward: dγ = Σ g·x̂, dβ = Σ g (over samples and positions); with ĝ = γ·g,
              dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / √(σ² + ε) over each group
    """

    def forward(self, x, weight, bias, *, num_groups, eps):
        per_channel = _per_channel("group_norm", x, weight, bias)
        n, c = x.shape[:2]
        if num_groups < 1 or c % num_groups:
            raise ValueError(f"group_norm: {c} channels do not split into {num_groups} groups "
                             f"(input {x.shape})")
        grouped = x.reshape(n, num_groups, -1)  # (N, G, C/G · positions)
        x_hat, self.inv_std = _standardize(grouped, (2,), eps)
        self.x_hat = x_hat.reshape(x.shape)
        self.gamma = weight.reshape(per_channel)
        self.axes = (0,) + tuple(range(2, x.ndim))  # everything but the channels
        return self.gamma * self.x_hat + bias.reshape(per_channel)

    def backward(self, grad):
        dx = dweight = dbias = None
        if self.needs_grad[0]:
            n, groups = self.inv_std.shape[:2]
            g_hat = (grad * self.gamma).reshape(n, groups, -1)
            dx = _standardize_backward(g_hat, self.x_hat.reshape(g_hat.shape), self.inv_std,
                                       (2,)).reshape(grad.shape)
        if self.needs_grad[1]:
            dweight = (grad * self.x_hat).sum(axis=self.axes)
        if self.needs_grad[2]:
            dbias = grad.sum(axis=self.axes)
        return dx, dweight, dbias


def group_norm(x, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Group normalisation. x: (N, C, ...); weight, bias: (C,) (None: γ = 1, β = 0)."""
    x = as_tensor(x)
    c = x.shape[1] if x.ndim > 1 else 0
    weight, bias = _ones_zeros(x, (c,), weight, bias)
    return GroupNorm.apply(x, weight, bias, num_groups=num_groups, eps=eps)


class InstanceNorm(Function):
    """x: (N, C, ...), weight γ and bias β: (C,) -> x's shape, per sample and channel.

    forward:  use_input_stats: x̂ = each (n, c) map standardised over its own positions; the
              running statistics (if given) move towards the mean over the batch of the maps'
              means and unbiased variances. Otherwise x̂ uses the running statistics.
              y = γ·x̂ + β per channel
    backward: dγ = Σ g·x̂, dβ = Σ g; with ĝ = γ·g,
              input stats:   dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / √(σ² + ε) over each map
              running stats: dx = ĝ / √(σ² + ε)
    """

    def forward(self, x, weight, bias, *, running_mean, running_var, use_input_stats,
                momentum, eps):
        per_channel = _per_channel("instance_norm", x, weight, bias)
        c = x.shape[1]
        for label, array in (("running_mean", running_mean), ("running_var", running_var)):
            if array is not None and array.shape != (c,):
                raise ValueError(f"instance_norm: {label} shape {array.shape} does not match the "
                                 f"input's {c} channels (input {x.shape})")
        self.axes = tuple(range(2, x.ndim))  # the positions of one map
        self.use_input_stats = use_input_stats
        if use_input_stats:
            m = int(np.prod(x.shape[2:]))
            if m < 2:
                raise ValueError(f"instance_norm: expected more than 1 spatial element when "
                                 f"training, got input of shape {x.shape}")
            self.x_hat, self.inv_std = _standardize(x, self.axes, eps)
            if running_mean is not None:
                # In place: the caller's buffers (a module's running statistics) are updated.
                running_mean *= 1 - momentum
                running_mean += momentum * x.mean(axis=self.axes).mean(axis=0)
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += momentum * x.var(axis=self.axes, ddof=1).mean(axis=0)
        else:
            if running_mean is None or running_var is None:
                raise ValueError("instance_norm: use_input_stats=False needs running_mean and "
                                 "running_var")
            self.inv_std = (1 / np.sqrt(running_var.astype(x.dtype) + eps)).reshape(per_channel)
            self.x_hat = (x - running_mean.astype(x.dtype).reshape(per_channel)) * self.inv_std
        self.gamma = weight.reshape(per_channel)
        self.channel_axes = (0,) + self.axes
        return self.gamma * self.x_hat + bias.reshape(per_channel)

    def backward(self, grad):
        dx = dweight = dbias = None
        if self.needs_grad[0]:
            g_hat = grad * self.gamma
            if self.use_input_stats:
                dx = _standardize_backward(g_hat, self.x_hat, self.inv_std, self.axes)
            else:
                dx = g_hat * self.inv_std
        if self.needs_grad[1]:
            dweight = (grad * self.x_hat).sum(axis=self.channel_axes)
        if self.needs_grad[2]:
            dbias = grad.sum(axis=self.channel_axes)
        return dx, dweight, dbias


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Instance normalisation. x: (N, C, ...); weight, bias: (C,) (None: γ = 1, β = 0);
    running_mean, running_var: (C,) numpy arrays or None, updated in place when
    use_input_stats, used instead of the input's statistics otherwise."""
    x = as_tensor(x)
    c = x.shape[1] if x.ndim > 1 else 0
    weight, bias = _ones_zeros(x, (c,), weight, bias)
    return InstanceNorm.apply(x, weight, bias, running_mean=running_mean,
                              running_var=running_var, use_input_stats=use_input_stats,
                              momentum=momentum, eps=eps)
