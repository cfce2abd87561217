"""Convolution: im2col + ONE matrix multiply, filled and emptied by loops over the KH·KW kernel
offsets (never over pixels), as in "Deep Learning from Scratch". Decomposing it into
elementwise ops would be 100-300x slower on numpy. On one thread the batch goes through in
blocks of images whose columns fit in a core's cache (CACHE_COLUMN_BYTES); a stride-1 conv with
no more filters than input channels goes backward from dout's columns instead of x's
(Conv2d._backward_by_correlation), and with few channels forward by one product per kernel
offset with x shifted, no columns at all (Conv2d._forward_by_shifts).

Grouped convolutions do the same products once per group, as one batched matmul, except
depthwise ones (groups = C), which need no columns: one sum of products over a strided view of
every window (np.einsum); transposed convolutions are the adjoint of conv2d (col2im in forward,
im2col in backward); the 1-D ops are the 2-D ones on maps of height 1."""

from __future__ import annotations

import numpy as np

from minigrad.layers import shapes
from minigrad.engine import parallel, workspace
from minigrad.engine.tensor import Function, Tensor, as_tensor
from minigrad.engine.windows import (by_cache_blocks, check_nchw, output_hw, pad_sides,
                                     padding_sides, pair, remembered, strided_view, windows)

__all__ = ["conv2d", "conv1d", "conv_transpose2d", "conv_transpose1d", "im2col", "col2im",
           "Conv2d", "GroupedConv2d", "DepthwiseConv2d", "ConvTranspose2d"]


def _clipped(offset, stride, before, size, out):
    """For one kernel offset along one axis: the outputs whose input lies inside the unpadded
    image (the rest read padding), as (output slice, input slice)."""
    first = max(0, -(-(before - offset) // stride))                 # ceil((before − offset) / S)
    last = min(out - 1, (size - 1 + before - offset) // stride)
    if last < first:
        return slice(0, 0), slice(0, 0)
    start = offset + stride * first - before
    return slice(first, last + 1), slice(start, start + stride * (last - first) + 1, stride)


def _offsets(kernel, stride, dilation, pads, image_hw, out_hw):
    """Yield (i, j, output rows, output columns, input rows, input columns) for every kernel
    offset: where the offset's strided view falls inside the unpadded image."""
    for i in range(kernel[0]):
        out_rows, rows = _clipped(i * dilation[0], stride[0], pads[0][0], image_hw[0], out_hw[0])
        for j in range(kernel[1]):
            out_columns, columns = _clipped(j * dilation[1], stride[1], pads[1][0], image_hw[1],
                                            out_hw[1])
            yield i, j, out_rows, out_columns, rows, columns


def im2col(x: np.ndarray, kernel, stride, dilation, out_hw, pads=((0, 0), (0, 0)),
           out=None) -> np.ndarray:
    """x: (N, C, H, W), zero-padded by pads -> columns (C*KH*KW, N*OH*OW).
    out: a (C*KH*KW, N*OH*OW) buffer to fill (any old contents), else new.

    Column n*OH*OW + p holds the window under output pixel p of image n, so the convolution is
    one matrix product W(F, C*KH*KW) @ columns. Four routes:
    - by one view (no padding): every window in one strided view of x, copied at once;
    - small padded maps (batch 1): x copied once into a zero-bordered array, then one view;
    - by shifts (stride 1, output as wide as the input): one run per image plane per offset;
    - by views (the rest): one strided copy per offset, zeros where its view reads padding.
    The last two never build the padding. Large maps are filled a block of channels per
    thread (parallel.py).
    """
    n, c = x.shape[:2]
    (kh, kw), (oh, ow) = kernel, out_hw
    if out is None:
        out = np.empty((c * kh * kw, n * oh * ow), dtype=x.dtype)
    rows = kh * kw  # the columns' rows of one channel

    def fill(channels):
        block = x[:, channels]
        columns = out[channels.start * rows:channels.stop * rows]
        if pads == ((0, 0), (0, 0)):
            _im2col_by_one_view(block, kernel, stride, dilation, out_hw, columns)
        elif _few_runs(columns.size, out_hw):
            _im2col_by_one_view(pad_sides(block, pads), kernel, stride, dilation, out_hw,
                                columns)
        elif _rows_line_up(block, stride, out_hw):
            _im2col_by_shifts(block, kernel, dilation, out_hw, pads, columns)
        else:
            _im2col_by_views(block, kernel, stride, dilation, out_hw, pads, columns)

    parallel.run(fill, parallel.parts(c, rows * n * oh * ow))
    return out


# A padded map is copied into a zero-bordered array first, and its columns taken as one view,
# when that view's copy moves at most this many runs (of one output row each): two numpy calls
# instead of four per kernel offset, 1.2-7x faster at batch 1 (mnist-cnn's first conv: 51
# against 7 µs; 32 channels at 28x28, 8k runs: 95 against 127). Past it the copy's many short
# runs cost more than the offsets' calls (a cache block of mnist-cnn's conv 2, 16k runs of 28:
# 173 against 160 µs; 32 images of 16 channels at 7x7, 32k runs of 7: 191 against 107).
BORDERED_COPY_RUNS = 1 << 13


def _few_runs(column_values: int, out_hw) -> bool:
    """Whether columns of this many values, copied as one view, make at most
    BORDERED_COPY_RUNS runs: the size below which one call beats a call per offset."""
    return column_values // out_hw[1] <= BORDERED_COPY_RUNS


def _im2col_by_one_view(x, kernel, stride, dilation, out_hw, out):
    """Without padding, every window lies inside x: the columns are one strided view of x,
    (C, KH, KW, N, OH, OW), copied in one call. At batch 1 that is 5-20x faster than a copy per
    offset (simple-convnet's 5x5 conv: 8 µs against 100-170), at batch 200 about 2x."""
    n, c = x.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    along_n, along_c, along_h, along_w = x.strides
    windows = strided_view(
        x, (c, kh, kw, n, oh, ow),
        (along_c, along_h * dh, along_w * dw, along_n, along_h * sh, along_w * sw))
    np.copyto(out.reshape(c, kh, kw, n, oh, ow), windows)


def _im2col_by_views(x, kernel, stride, dilation, out_hw, pads, out):
    """Any geometry: each kernel offset copies the part of its strided view inside the image
    and writes zeros where the view reads padding."""
    n, c = x.shape[:2]
    (kh, kw), (oh, ow) = kernel, out_hw
    cols = out.reshape(c, kh, kw, n, oh, ow)
    channels_first = x.transpose(1, 0, 2, 3)  # (C, N, H, W) view, matching the column order
    for i, j, out_rows, out_columns, rows, columns in _offsets(kernel, stride, dilation, pads,
                                                               x.shape[2:], out_hw):
        slab = cols[:, i, j]
        slab[:, :, :out_rows.start] = 0
        slab[:, :, out_rows.stop:] = 0
        slab[:, :, out_rows, :out_columns.start] = 0
        slab[:, :, out_rows, out_columns.stop:] = 0
        slab[:, :, out_rows, out_columns] = channels_first[:, :, rows, columns]


def col2im(cols: np.ndarray, image_shape, kernel, stride, dilation, out_hw,
           pads=((0, 0), (0, 0)), out=None) -> np.ndarray:
    """The adjoint of im2col: sum each column entry back onto the pixel of the (N, C, H, W)
    image it was copied from (entries that came from the padding are dropped).
    out: a (C, N, H, W) array to write into (any old contents), else new; the result is its
    (N, C, H, W) view.

    cols is scratch: the entries that read padding may be overwritten with zeros.
    Written once where possible: an offset whose view covers the whole image (the centre of a
    stride-1 'same' convolution) is assigned first, instead of zeroing the image and adding.
    Three routes: by shifts (stride 1, output as wide as the input), by rows (other stride-1
    convs: each kernel column's row shifts summed first) and by views (strided: one add per
    offset). Large maps are summed a block of channels per thread (parallel.py).
    """
    n, c, h, w = image_shape
    (kh, kw), (oh, ow) = kernel, out_hw
    dx = workspace.result_array((c, n, h, w), cols.dtype) if out is None else out
    rows = kh * kw

    def sum_back(channels):
        block = cols[channels.start * rows:channels.stop * rows]
        _col2im_into(block, dx[channels], kernel, stride, dilation, out_hw, pads)

    parallel.run(sum_back, parallel.parts(c, rows * n * oh * ow))
    return dx.transpose(1, 0, 2, 3)


def _col2im_into(cols, dx, kernel, stride, dilation, out_hw, pads):
    """col2im of one block of channels into dx (C, N, H, W)."""
    c, n, h, w = dx.shape
    (kh, kw), (oh, ow) = kernel, out_hw
    offsets = list(_offsets(kernel, stride, dilation, pads, (h, w), out_hw))
    covering = [o for o in offsets if _covers(o[4], h) and _covers(o[5], w)]
    if _rows_line_up(dx.transpose(1, 0, 2, 3), stride, out_hw):
        _col2im_by_shifts(cols, dx, kernel, out_hw, offsets, covering)
        return
    cols = cols.reshape(c, kh, kw, n, oh, ow)
    if stride == (1, 1):
        by_column = {}  # the offsets of each kernel column j, in order of i
        for offset in offsets:
            by_column.setdefault(offset[1], []).append(offset)
        by_cache_blocks(lambda batch: _col2im_by_rows(cols[:, :, :, batch], dx[:, batch],
                                                      list(by_column.values())),
                        slice(0, n), dx[:, :1].nbytes)
        return
    by_cache_blocks(lambda batch: _col2im_by_views(cols[:, :, :, batch], dx[:, batch], offsets,
                                                   covering),
                    slice(0, n), dx[:, :1].nbytes)


def _col2im_by_rows(cols, dx, kernel_columns):
    """col2im at stride 1 of (C, KH, KW, n, OH, OW) columns into dx (C, n, H, W), a kernel
    column j at a time (kernel_columns: the offsets of each, in order of i): its KH row shifts
    are summed first into T (C, n, H, OW), where each offset's OH rows of OW are one contiguous
    run in both, then T is added into dx's columns (runs of OW) once: KW short-run adds
    instead of KH·KW. mnist-cnn-dropout's conv 2 (3×3,
    valid, 32 -> 64 at 24×24, batch 200): col2im 46.5 -> 38.2 ms a training step; alone, a
    3-image block 0.61 -> 0.43 ms. Strided convs add by views, one add per offset."""
    c, n, h = dx.shape[:3]
    t = np.empty((c, n, h, cols.shape[5]), dtype=dx.dtype)
    # The first offset of a row or column of the kernel reaches from the image's first pixel
    # (at stride 1, whatever the padding): it is written, and only what lies past it zeroed,
    # instead of zeroing T or dx and adding.
    for number, group in enumerate(kernel_columns):
        for k, (i, j, out_rows, _, rows, _) in enumerate(group):
            if k == 0:
                t[:, :, rows] = cols[:, i, j, :, out_rows]
                t[:, :, rows.stop:] = 0
            else:
                t[:, :, rows] += cols[:, i, j, :, out_rows]
        _, _, _, out_columns, _, columns = group[0]  # the same for the whole kernel column
        if number == 0:
            dx[:, :, :, columns] = t[:, :, :, out_columns]
            dx[:, :, :, columns.stop:] = 0
        else:
            dx[:, :, :, columns] += t[:, :, :, out_columns]


def _col2im_by_views(cols, dx, offsets, covering):
    """col2im of (C, KH, KW, n, OH, OW) columns into dx (C, n, H, W), one add per offset."""
    if covering:
        i, j, out_rows, out_columns, _, _ = covering[0]
        dx[...] = cols[:, i, j, :, out_rows, out_columns]
    else:
        dx[...] = 0
    for i, j, out_rows, out_columns, rows, columns in offsets:
        if covering and (i, j) == covering[0][:2]:
            continue
        dx[:, :, rows, columns] += cols[:, i, j, :, out_rows, out_columns]


def _covers(pixels: slice, size: int) -> bool:
    """Whether a strided slice visits every one of `size` pixels."""
    return len(range(*pixels.indices(size))) == size


# Stride 1 with an output as wide as the input (a 'same' convolution): an offset's view is the
# image shifted by a fixed number of pixels in the flattened H·W plane, so it is copied (or added
# back) as one run per plane, instead of one short run per output row. The runs wrap around the
# row ends: the output columns whose window reads the left or right padding pick up pixels of the
# next or previous row, and are zeroed. 1.2-2x faster on the presets' maps (14x14: 2x).

def _rows_line_up(x: np.ndarray, stride, out_hw) -> bool:
    """Whether im2col can copy x by shifts: stride 1, output as wide as the input, and each
    (H, W) plane contiguous."""
    h, w = x.shape[2:]
    return (stride == (1, 1) and out_hw[1] == w and x.strides[3] == x.itemsize
            and x.strides[2] == w * x.itemsize)


def _shift(offset, w, hw):
    """For one kernel offset of a stride-1, full-width convolution: (shift, lo, hi). Output pixel
    p (in the flattened OH·W plane) reads input pixel p + shift; [lo, hi) are the output pixels
    of the offset's valid rows whose input lies in the plane."""
    _, _, out_rows, out_columns, rows, columns = offset
    shift = (rows.start - out_rows.start) * w + columns.start - out_columns.start
    lo = max(out_rows.start * w, -shift)
    return shift, lo, max(lo, min(out_rows.stop * w, hw - shift))  # an empty view: lo = hi


def _wrapped_columns_zeroed(slab, out_hw, out_columns) -> None:
    """Zero the output columns of a (C, N, OH·OW) slab whose window reads the side padding."""
    grid = slab.reshape(slab.shape[:2] + tuple(out_hw))
    grid[:, :, :, :out_columns.start] = 0
    grid[:, :, :, out_columns.stop:] = 0


def _im2col_by_shifts(x, kernel, dilation, out_hw, pads, out):
    n, c, h, w = x.shape
    (kh, kw), (oh, ow) = kernel, out_hw
    slabs = out.reshape(c, kh, kw, n, oh * ow)
    planes = x.transpose(1, 0, 2, 3).reshape(c, n, h * w)  # a view: each plane is contiguous
    for offset in _offsets(kernel, (1, 1), dilation, pads, (h, w), out_hw):
        slab = slabs[:, offset[0], offset[1]]                          # (C, N, OH·OW)
        shift, lo, hi = _shift(offset, w, h * w)
        slab[:, :, :lo] = 0
        slab[:, :, hi:] = 0
        slab[:, :, lo:hi] = planes[:, :, lo + shift:hi + shift]
        _wrapped_columns_zeroed(slab, out_hw, offset[3])


def _col2im_by_shifts(cols, dx, kernel, out_hw, offsets, covering):
    c, n, h, w = dx.shape
    (kh, kw), (oh, ow) = kernel, out_hw
    slabs = cols.reshape(c, kh, kw, n, oh * ow)
    planes = dx.reshape(c, n, h * w)
    if covering:  # the centre offset writes every pixel: assign it, then add the others
        offsets.remove(covering[0])
        offsets.insert(0, covering[0])
    else:
        planes[...] = 0
    for k, offset in enumerate(offsets):
        slab = slabs[:, offset[0], offset[1]]
        shift, lo, hi = _shift(offset, w, h * w)
        _wrapped_columns_zeroed(slab, out_hw, offset[3])  # so the wrapped runs add nothing
        if k == 0 and covering:
            planes[:, :, lo + shift:hi + shift] = slab[:, :, lo:hi]
        else:
            planes[:, :, lo + shift:hi + shift] += slab[:, :, lo:hi]


def _conv_padding(op, padding, kernel, stride, dilation, h, w):
    """((top, bottom), (left, right)) from an int, a pair, ((top, bottom), (left, right)),
    'valid' or 'same' (PyTorch's rules)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            return (shapes.same_padding(h, kernel[0], 1, dilation[0]),
                    shapes.same_padding(w, kernel[1], 1, dilation[1]))
        raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', got "
                         f"{padding!r}")
    return padding_sides(op, padding)


@remembered
def _conv_geometry(op: str, image_hw, kernel, stride, padding, dilation):
    """stride, dilation, padding sides and output size of a conv of kernel over image_hw."""
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    pads = _conv_padding(op, padding, kernel, stride, dilation, *image_hw)
    return stride, dilation, pads, output_hw(op, *image_hw, kernel, stride, pads, dilation)


def _check_groups(op: str, groups, channels: int, filters: int, x_shape, weight_shape) -> None:
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if channels % groups or filters % groups:
        raise ValueError(f"{op}: groups={groups} must divide both the {channels} input channels "
                         f"and the {filters} output channels (input {x_shape}, weight "
                         f"{weight_shape})")


def _pixel_rows(x: np.ndarray, conv) -> np.ndarray | None:
    """x (N, C, H, W) as its (H·W·N, C) rows of pixels, a view, when conv is 1×1 (stride 1,
    no padding, one group) and x lies (H, W, N, C) in memory; else None."""
    if conv.kernel != (1, 1) or conv.stride != (1, 1) or conv.pads != ((0, 0), (0, 0)) \
            or conv.groups != 1:
        return None
    by_pixel = x.transpose(2, 3, 0, 1)
    return by_pixel.reshape(-1, x.shape[1]) if by_pixel.flags.c_contiguous else None


def _by_group(matrix: np.ndarray, groups: int) -> np.ndarray:
    """(G·A, B) -> (G, A, B): the rows of each group stacked for one batched matmul (a view)."""
    return matrix.reshape(groups, -1, matrix.shape[-1])


# On one thread the columns are built and used a block of images at a time, each block's columns
# about this size, so that its products and col2im find them in cache (a core's 1 MB of L2 and
# the shared L3 here; 2 MB measured fastest, against 1 and 4) instead of memory; in training,
# backward builds each block's columns again rather than keep the whole batch's. One thread,
# batch 32: resnet-mini's 16-channel conv, forward alone (inference) 6.1 -> 4.2 ms, forward and
# backward 14.1 -> 13.3; mnist-cnn's 32 -> 64 conv 17.3 -> 13.9 and 51.7 -> 48.7; a training
# step's peak RSS, mnist-cnn-dropout at batch 200, 559 -> 432 MiB.
CACHE_COLUMN_BYTES = 2 * 2**20

# On more threads a block is as large as this allows (the whole batch, for the presets): its
# im2col and col2im are split by channels and its products by columns, a few large numpy calls
# per thread, while small blocks make each thread's im2col and col2im dozens of small calls that
# contend for the GIL (two threads each building half the blocks took 1.35 ms where one thread
# building all took 0.92). Side by side, two threads, training steps: resnet-mini 42.5 -> 37.8 ms,
# mnist-cnn 43.8 -> 41.5. It bounds memory: a batch of 1024 images through mnist-cnn's 32 -> 64
# conv would need a 925 MB column buffer, and as much again for its gradient. ConvTranspose2d
# builds its columns (of the output's size) a slice of the batch at a time past this size too.
COLUMN_BUDGET_BYTES = 128 * 2**20


# A stride-1 conv of at most this many input channels, no more filters, and an output map of at
# least this many pixels multiplies by shifts of x (Conv2d._forward_by_shifts) instead of by
# im2col's columns. Inference at batch 32 on one thread, columns / shifts: 16 -> 16 at 28×28
# 1.18-1.27, at 32×32 1.40, 8 -> 8 at 28×28 1.57, 16 -> 8 1.24; but 16 -> 16 at 14×14 0.87
# (0.90 at batch 1), 16 -> 32 1.04, 32 -> 32 0.90, 32 -> 64 0.84 (more channels lengthen the
# columns' products, which then run faster than nine short ones). A block of images at a time
# whose products' sums take about SHIFTED_BLOCK_BYTES (256 kB against 0.5, 1 and 4 MB:
# resnet-mini's 16 -> 16 conv 2.95 against 3.33-3.35 ms). On the engine's two threads, shifts
# against split columns: resnet-mini's inference at batch 32 13.9 -> 12.7 ms, training step
# 45.4 -> 43.5.
SHIFTED_MAX_CHANNELS = 16
SHIFTED_MIN_PIXELS = 24 * 24
SHIFTED_BLOCK_BYTES = 256 * 2**10


def _copy_inside_zero_border(buffer, maps, pads) -> None:
    """maps (H, W, ...) written into buffer (H + top + bottom, W + left + right, ...), with a
    zero border of pads ((top, bottom), (left, right)) around them."""
    (top, _), (left, _) = pads
    h, w = maps.shape[:2]
    buffer[:top] = 0
    buffer[top + h:] = 0
    buffer[top:top + h, :left] = 0
    buffer[top:top + h, left + w:] = 0
    buffer[top:top + h, left:left + w] = maps


def _batch_blocks(n: int, chunk: int):
    """Slices of the batch, `chunk` images each (the last may be shorter)."""
    for start in range(0, n, chunk):
        yield slice(start, min(start + chunk, n))


def _in_order_sum(parts: dict) -> np.ndarray:
    """The sum of the arrays of a dict, added in the order of its keys."""
    first, *rest = (parts[key] for key in sorted(parts))
    for part in rest:
        first = first + part
    return first


class Conv2d(Function):
    """x: (N, C, H, W), weight: (F, C, KH, KW), bias: (F,) -> (N, F, OH, OW).

    forward:  out = W(F, C·KH·KW) @ im2col(x) + b
    backward: dW = dout @ colsᵀ,  db = Σ dout,  dx = col2im(Wᵀ @ dout)
    All of it a block of images at a time (about CACHE_COLUMN_BYTES of columns on one thread,
    up to COLUMN_BUDGET_BYTES on more): out and dout are (F, N·OH·OW) matrices in memory, so a
    block's products read and write a stretch of their columns in place, and dx is
    (C, N, H, W), so col2im sums a block into its own images.
    Backward builds each block's columns again unless the whole batch was one block (kept).
    The three products are methods so that GroupedConv2d can do them per group.

    The columns, their gradient and a copy of dout's block (when dout is not F-major) are
    scratch: they are taken from the workspace of the weight tensor (workspace.py) and given
    back when done, so the next step finds them already mapped. The output and dx become
    tensors that others may hold: they are result arrays, recycled only once nothing refers to
    them.
    """

    def forward(self, x, weight, bias=None, *, stride=1, padding=0, dilation=1, groups=1,
                op="conv2d"):
        self._setup(x, weight, bias, stride, padding, dilation, groups, op)
        n, f = x.shape[0], weight.shape[0]
        weights = weight.reshape(f, -1)
        self.cols, self.pixel_rows = None, _pixel_rows(x, self)
        if self.pixel_rows is not None:
            return self._pointwise_by_pixels(weights, bias)
        self.block = self._images_per_block()
        if self._multiplies_by_shifts():
            return self._forward_by_shifts(bias)
        pixels = self.out_hw[0] * self.out_hw[1]
        out = workspace.result_array((f, n * pixels), np.result_type(x, weight))
        if self.records_graph and self.block >= n and not self._correlates_back():
            # one block: its columns kept for backward
            self.column_buffer = self._column_buffer("columns 0")
            self.cols = self._columns(slice(0, n), self.column_buffer)

        def multiply(batch, cols, share):
            part = self._outputs(weights, cols, out=out[:, batch.start * pixels:
                                                        batch.stop * pixels])
            if bias is not None:
                part += bias[:, None]

        self._block_by_block(multiply)
        return out.reshape(f, n, *self.out_hw).transpose(1, 0, 2, 3)

    def _multiplies_by_shifts(self) -> bool:
        """Whether forward multiplies by shifts (_forward_by_shifts): a plain stride-1 conv with
        a kernel larger than 1×1, at most SHIFTED_MAX_CHANNELS input channels and no more
        filters, and an output map of at least SHIFTED_MIN_PIXELS."""
        f, c = self.weight.shape[:2]
        return (type(self) is Conv2d and self.stride == (1, 1) and self.kernel != (1, 1)
                and f <= c <= SHIFTED_MAX_CHANNELS
                and self.out_hw[0] * self.out_hw[1] >= SHIFTED_MIN_PIXELS)

    def _forward_by_shifts(self, bias):
        """out = Σ over the kernel offsets (i, j) of W[:, :, i, j] (F, C) @ x shifted by (i, j).

        x is copied once, zero-padded, into P (C, N·Hp·Wp), a workspace buffer: the padded
        images' rows end to end, so that x shifted by (i, j) is the stretch of P's columns from
        i·DH·Wp + j·DW on, a plain (C, ·) matrix. Each offset's product then gives every
        position of the padded grid; those whose window lies inside its image (row < OH,
        column < OW) are the conv's outputs, the others (windows running past a row's end into
        the next) are computed and dropped. With few channels, im2col's columns (C·KH·KW rows,
        KH·KW copies of x) cost more to make than such short products take; here x is copied
        once, and the (F, ·) sums stay in cache for the adds, a block of images at a time
        (about SHIFTED_BLOCK_BYTES of them); the engine's threads take shares of the blocks,
        each summing into its own buffer. One thread, inference, against the columns:
        resnet-mini's 16 -> 16 conv at batch 32 5.93 -> 4.62 ms, 16 -> 16 at 32×32 (a CIFAR
        ResNet's first stage) 7.79 -> 5.55, at batch 128 23.8 -> 19.8, 8 -> 8 at 28×28
        1.62 -> 1.25. With more channels or filters, or on smaller maps, the columns' longer
        products win: where each is used, by measurement, is SHIFTED_MAX_CHANNELS' comment."""
        x, weight = self.x, self.weight
        n, c, h, w = x.shape
        f = weight.shape[0]
        (top, bottom), (left, right) = self.pads
        hp, wp = h + top + bottom, w + left + right
        (kh, kw), (dh, dw), (oh, ow) = self.kernel, self.dilation, self.out_hw
        grid = hp * wp                                # positions of one padded image
        span = (kh - 1) * dh * wp + (kw - 1) * dw     # the largest shift
        dtype = np.result_type(x, weight)
        padded = workspace.take(self.owner, "shifted input", (c, n * grid + span), dtype)   # P
        images = padded[:, :n * grid].reshape(c, n, hp, wp).transpose(2, 3, 0, 1)

        def copy(batch):
            _copy_inside_zero_border(images[:, :, :, batch], x[batch].transpose(2, 3, 1, 0),
                                     self.pads)

        # all of P is written before any product reads it: a block's last, dropped positions
        # read the next block's first rows
        parallel.run(copy, parallel.parts(n, c * h * w))
        padded[:, n * grid:] = 0  # read by dropped positions only, but kept finite
        taps = np.ascontiguousarray(weight.transpose(2, 3, 0, 1))              # (KH, KW, F, C)
        out = workspace.result_array((f, n, oh, ow), dtype)
        block = max(1, min(n, SHIFTED_BLOCK_BYTES // (f * grid * padded.itemsize)))

        def multiply(batch, _, share):
            role = f"shifted sums {share}"  # each thread sums into its own
            sums = workspace.take(self.owner, role, (2, f, block * grid), dtype)
            count = batch.stop - batch.start
            total, product = sums[0, :, :count * grid], sums[1, :, :count * grid]
            for i in range(kh):
                for j in range(kw):
                    at = batch.start * grid + i * dh * wp + j * dw
                    shifted = padded[:, at:at + count * grid]
                    if i == j == 0:
                        np.matmul(taps[i, j], shifted, out=total)
                    else:
                        np.matmul(taps[i, j], shifted, out=product)
                        total += product
            outputs = total.reshape(f, count, hp, wp)[:, :, :oh, :ow]
            if bias is None:
                out[:, batch] = outputs
            else:
                np.add(outputs, bias[:, None, None, None], out=out[:, batch])
            workspace.give_back(self.owner, role, sums)

        self._block_by_block(multiply, build_columns=False, block=block)
        workspace.give_back(self.owner, "shifted input", padded)
        return out.transpose(1, 0, 2, 3)

    def _block_by_block(self, work, build_columns=True, block=None):
        """work(batch, columns, share) for every block of the batch (of `block` images, by
        default self.block): the kept columns, or each block's built into a column buffer of
        the thread's own (None without build_columns). The engine's threads take consecutive
        shares of the blocks (share: the thread's number, for scratch buffers of its own); a
        single block splits its own work over the threads instead."""
        blocks = list(_batch_blocks(self.x.shape[0], block or self.block))
        shares = parallel.parts(len(blocks), 1, 1)

        def run_share(share):
            index = shares.index(share)
            if self.cols is not None:
                work(blocks[0], self.cols, index)
                return
            if not build_columns:
                for batch in blocks[share]:
                    work(batch, None, index)
                return
            role = f"columns {index}"
            buffer = self._column_buffer(role)
            for batch in blocks[share]:
                work(batch, self._columns(batch, buffer), index)
            if buffer is not None:
                workspace.give_back(self.owner, role, buffer)

        parallel.run(run_share, shares)

    def _pointwise_by_pixels(self, weights, bias):
        """A 1×1 conv of maps laid out (H, W, N, C) in memory, as a depthwise conv leaves them:
        out (H·W·N, F) = x (H·W·N, C) @ Wᵀ, both views of (H, W, N, ·) memory, so the maps
        keep that layout and are never transposed."""
        n, _, h, w = self.x.shape
        f = weights.shape[0]
        out = workspace.result_array((h, w, n, f), np.result_type(self.x, weights))
        parallel.matmul(self.pixel_rows, weights.T, out=out.reshape(-1, f))
        if bias is not None:
            out += bias
        return out.transpose(2, 3, 0, 1)

    def _pointwise_backward(self, grad):
        """dW = doutᵀ @ x, db = Σ dout, dx = dout @ W, all on (H·W·N, ·) rows of pixels."""
        n, c, h, w = self.x.shape
        f = self.weight.shape[0]
        weights = self.weight.reshape(f, c)
        by_pixel = grad.transpose(2, 3, 0, 1)                          # (H, W, N, F)
        if not by_pixel.flags.c_contiguous:
            by_pixel = np.ascontiguousarray(by_pixel)
        g = by_pixel.reshape(-1, f)
        dx = dw = db = None
        if self.needs_grad[0]:
            rows = workspace.result_array((h, w, n, c), np.result_type(g, weights))
            parallel.matmul(g, weights, out=rows.reshape(-1, c))
            dx = rows.transpose(2, 3, 0, 1)
        if self.needs_grad[1]:
            dw = parallel.matmul(g.T, self.pixel_rows).reshape(self.weight.shape)
        if len(self.needs_grad) == 3 and self.needs_grad[2]:
            db = g.sum(axis=0)
        return (dx, dw, db) if len(self.needs_grad) == 3 else (dx, dw)

    def _setup(self, x, weight, bias, stride, padding, dilation, groups, op):
        """Check the arguments and keep what both passes need: kernel, stride, dilation,
        padding sides, output size, x, weight and the weight tensor that owns the buffers."""
        check_nchw(op, x)
        if weight.ndim != 4:
            raise ValueError(f"{op}: weight must be (F, C/groups, KH, KW), got shape "
                             f"{weight.shape}")
        _check_groups(op, groups, x.shape[1], weight.shape[0], x.shape, weight.shape)
        if x.shape[1] != weight.shape[1] * groups:
            raise ValueError(f"{op}: input {x.shape} has {x.shape[1]} channels but weight "
                             f"{weight.shape} with groups={groups} expects "
                             f"{weight.shape[1] * groups}")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"{op}: bias shape {bias.shape} does not match weight "
                             f"{weight.shape} (expected ({weight.shape[0]},))")
        self.groups = groups
        self.kernel = weight.shape[2:]
        self.stride, self.dilation, self.pads, self.out_hw = _conv_geometry(
            op, x.shape[2:], self.kernel, stride, padding, dilation)
        self.x, self.weight = x, weight
        self.owner = self.inputs[1]  # the weight tensor lives as long as its layer

    def _columns_are_x(self) -> bool:
        """A 1×1 convolution with stride 1 and no padding: its columns are x itself."""
        return self.kernel == (1, 1) and self.stride == (1, 1) and self.pads == ((0, 0), (0, 0))

    def _images_per_block(self) -> int:
        """How many images' columns make about CACHE_COLUMN_BYTES on one thread, or
        COLUMN_BUDGET_BYTES on more (at least one image); the whole batch when the columns are
        x itself."""
        n, c = self.x.shape[:2]
        if self._columns_are_x():
            return n
        column_bytes = c * self.kernel[0] * self.kernel[1] * self.out_hw[0] * self.out_hw[1] \
            * self.x.itemsize
        budget = CACHE_COLUMN_BYTES if parallel.get_threads() == 1 else COLUMN_BUDGET_BYTES
        return max(1, min(n, budget // column_bytes))

    def _column_buffer(self, role):
        """A workspace buffer for one block's columns (None when the columns are x itself)."""
        if self._columns_are_x():
            return None
        rows = self.x.shape[1] * self.kernel[0] * self.kernel[1]
        pixels = self.out_hw[0] * self.out_hw[1]
        return workspace.take(self.owner, role, (rows, self.block * pixels), self.x.dtype)

    def _columns(self, batch, buffer):
        """im2col of x[batch] into the front of buffer.

        A 1×1 convolution with stride 1 and no padding needs no copy: its columns are x[batch]
        seen as (C, n·H·W), a view when x is channel-major in memory, as a conv's output (and
        what batch norm and activations make of it) is."""
        images = self.x[batch]
        if buffer is None:
            return images.transpose(1, 0, 2, 3).reshape(images.shape[1], -1)
        pixels = self.out_hw[0] * self.out_hw[1]
        return im2col(images, self.kernel, self.stride, self.dilation, self.out_hw, self.pads,
                      out=buffer[:, :len(images) * pixels])

    def _outputs(self, weights, cols, out=None):
        """(F, C·KH·KW) @ (C·KH·KW, M) -> (F, M), written into out if given."""
        if out is None:
            out = workspace.result_array((weights.shape[0], cols.shape[1]),
                                         np.result_type(weights, cols))
        return parallel.matmul(weights, cols, out=out)

    def _weight_grad(self, g, cols):
        """(F, M) @ (M, C·KH·KW) -> (F, C·KH·KW), computed as (cols @ gᵀ)ᵀ: OpenBLAS runs
        that orientation 10-25% faster on conv shapes (benchmarks/conv_products.py)."""
        return parallel.matmul(cols, g.T).T

    def _column_grad(self, weights, g, out):
        """(C·KH·KW, F) @ (F, M) -> (C·KH·KW, M), written into out."""
        return parallel.matmul(weights.T, g, out=out)

    def _transposed_pads(self):
        """The padding of dout under which, at stride 1, dx is dout correlated with the
        flipped kernel: D·(K − 1) minus each side's own padding."""
        return tuple((d * (k - 1) - before, d * (k - 1) - after)
                     for d, k, (before, after) in zip(self.dilation, self.kernel, self.pads))

    def _correlates_back(self) -> bool:
        """Whether backward works from dout's columns instead of x's: at stride 1 and one
        group, with no more filters than input channels (dout's columns then no larger than
        x's) and the transposed padding not negative. See _backward_by_correlation."""
        f, c = self.weight.shape[:2]
        return (type(self) is Conv2d and self.stride == (1, 1) and f <= c
                and min(min(side) for side in self._transposed_pads()) >= 0)

    def _backward_by_correlation(self, grad, needs_db):
        """Backward from G = im2col of dout under the transposed padding, (F·KH·KW, N·H·W),
        whose rows run over the kernel offsets flipped. With x as its (C, N·H·W) rows X:
        dx = W flipped as (C, F·KH·KW) @ G (dx is dout correlated with the flipped kernel),
        and dW flipped = X @ Gᵀ, so x's columns are neither kept nor built again, and there
        is no col2im: copying dout's columns beats its nine adds. A 2 MB block at a time, one
        thread, dx alone: resnet-mini's 16 -> 16 conv 3.59 -> 2.85 ms, 32 -> 32 at 14×14
        2.30 -> 1.86 (mnist-cnn's 32 -> 64 would take 16.4 against 14.4: more filters); with x's
        columns no longer built again, resnet-mini's training step 44.2 -> 41.3 ms."""
        n, c, h, w = self.x.shape
        f, _, kh, kw = self.weight.shape
        pixels, out_pixels = h * w, self.out_hw[0] * self.out_hw[1]
        flipped = np.ascontiguousarray(
            self.weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(c, -1)
        by_channel = self.x.transpose(1, 0, 2, 3)
        x_rows = (by_channel if by_channel.flags.c_contiguous
                  else np.ascontiguousarray(by_channel)).reshape(c, -1)
        dx = (workspace.result_array((c, n, h, w), np.result_type(grad, flipped))
              if self.needs_grad[0] else None)
        rows, copied = self._rows_of(grad) if needs_db else (None, None)  # for db alone
        dws, dbs = {}, {}  # by block, summed in the batch's order (the same sums every run)

        transposed_pads = self._transposed_pads()

        def correlate(batch, _, share):
            role = f"output grad columns {share}"
            buffer = workspace.take(self.owner, role, (f * kh * kw, self.block * pixels),
                                    grad.dtype)  # sized for a full block, as x's columns
            images = slice(batch.start * pixels, batch.stop * pixels)
            columns = im2col(grad[batch], self.kernel, (1, 1), self.dilation, (h, w),
                             transposed_pads, out=buffer[:, :images.stop - images.start])
            if needs_db:
                dbs[batch.start] = rows[:, batch.start * out_pixels:
                                        batch.stop * out_pixels].sum(axis=1)
            if self.needs_grad[1]:  # as (G @ Xᵀ)ᵀ: OpenBLAS runs X @ Gᵀ (16 rows) 2x slower
                dws[batch.start] = parallel.matmul(columns, x_rows[:, images].T).T
            if dx is not None:
                parallel.matmul(flipped, columns, out=dx.reshape(c, -1)[:, images])
            workspace.give_back(self.owner, role, buffer)

        self._block_by_block(correlate, build_columns=False)
        if copied is not None:
            workspace.give_back(self.owner, "output grad", copied)
        dw = None
        if dws:
            dw = _in_order_sum(dws).reshape(c, f, kh, kw)[:, :, ::-1, ::-1]
            dw = np.ascontiguousarray(dw.transpose(1, 0, 2, 3))
        db = None if not dbs else _in_order_sum(dbs)
        dx = None if dx is None else dx.transpose(1, 0, 2, 3)
        return (dx, dw, db) if len(self.needs_grad) == 3 else (dx, dw)

    def _rows_of(self, grad):
        """dout (N, F, OH, OW) as the (F, N·OH·OW) matrix of the products: a view when dout is
        F-major in memory (as this conv's own output is), else copied into a workspace buffer
        (given back by the caller)."""
        by_filter = grad.transpose(1, 0, 2, 3)
        if by_filter.flags.c_contiguous:
            return by_filter.reshape(by_filter.shape[0], -1), None
        rows = workspace.take(self.owner, "output grad", by_filter.shape, grad.dtype)
        np.copyto(rows, by_filter)
        return rows.reshape(rows.shape[0], -1), rows

    def backward(self, grad):
        if self.pixel_rows is not None:
            return self._pointwise_backward(grad)
        n, c, h, w = self.x.shape
        f = self.weight.shape[0]
        weights = self.weight.reshape(f, -1)
        pixels = self.out_hw[0] * self.out_hw[1]
        needs_db = len(self.needs_grad) == 3 and self.needs_grad[2]
        if self._correlates_back():
            return self._backward_by_correlation(grad, needs_db)
        rows, copied = self._rows_of(grad)                           # (F, N·OH·OW)
        dx = (workspace.result_array((c, n, h, w), np.result_type(grad, weights))
              if self.needs_grad[0] else None)
        dws, dbs = {}, {}  # by block, summed in the batch's order (the same sums every run)

        def gradients(batch, cols, share):
            g = rows[:, batch.start * pixels:batch.stop * pixels]
            if self.needs_grad[1]:
                dws[batch.start] = self._weight_grad(g, cols)
            if needs_db:
                dbs[batch.start] = g.sum(axis=1)
            if dx is not None:  # skipped for a first layer, whose input needs no gradient
                # dW has read the columns: their gradient can overwrite them, unless a later
                # backward (retain_graph) will read the kept columns again, or they are x
                # itself (a 1×1 conv's); both are one block, so one thread.
                reuse = ((self.cols is None or self.last_use)
                         and not np.may_share_memory(cols, self.x))
                dcols = cols if reuse else workspace.take(self.owner, "column grad",
                                                          cols.shape, cols.dtype)
                self._column_grad(weights, g, dcols)
                col2im(dcols, (batch.stop - batch.start, c, h, w), self.kernel, self.stride,
                       self.dilation, self.out_hw, self.pads, out=dx[:, batch])
                if not reuse:
                    workspace.give_back(self.owner, "column grad", dcols)

        self._block_by_block(gradients)
        if copied is not None:
            workspace.give_back(self.owner, "output grad", copied)
        dx = None if dx is None else dx.transpose(1, 0, 2, 3)
        dw = None if not dws else _in_order_sum(dws).reshape(self.weight.shape)
        db = None if not dbs else _in_order_sum(dbs)
        return (dx, dw, db) if len(self.needs_grad) == 3 else (dx, dw)

    def release(self):
        """Give the kept columns back to the workspace for the next step, then forget the rest."""
        if getattr(self, "cols", None) is not None and self.column_buffer is not None:
            workspace.give_back(self.owner, "columns 0", self.column_buffer)
        super().release()


class GroupedConv2d(Conv2d):
    """Conv2d with groups=G: input channels g·C/G … (g+1)·C/G − 1 meet only filters
    g·F/G … (g+1)·F/G − 1. weight: (F, C/G, KH, KW); depthwise is G = C with weight
    (C·m, 1, KH, KW).

    im2col's rows are ordered channel first, so each group's rows are one contiguous block: the
    three products of Conv2d become one batched matmul over the G blocks,
    out_g = W_g (F/G, C/G·KH·KW) @ cols_g (C/G·KH·KW, M), and likewise for dW and dcols.
    """

    def _outputs(self, weights, cols, out=None):
        g = self.groups
        if out is None:
            out = np.empty((weights.shape[0], cols.shape[1]), np.result_type(weights, cols))
        np.matmul(_by_group(weights, g), _by_group(cols, g), out=_by_group(out, g))
        return out

    def _weight_grad(self, g, cols):
        groups = self.groups
        per_group = _by_group(g, groups) @ _by_group(cols, groups).transpose(0, 2, 1)
        return per_group.reshape(g.shape[0], -1)

    def _column_grad(self, weights, g, out):
        groups = self.groups
        return np.matmul(_by_group(weights, groups).transpose(0, 2, 1), _by_group(g, groups),
                         out=_by_group(out, groups))


class DepthwiseConv2d(Conv2d):
    """Conv2d with groups = C (depthwise), computed directly, without columns.
    x: (N, C, H, W), weight: (C·m, 1, KH, KW) (m: the depth multiplier), bias: (C·m,)
    -> (N, C·m, OH, OW). Output channel c·m + k sees only input channel c.

    The input is copied once, zero-padded, as P (Hp, Wp, N, C) (a workspace buffer), so that all
    windows are one strided view of it, V (OH, OW, KH, KW, N, C), each window's N·C values
    contiguous. With w the weight as (KH, KW, C, m) and dout as (OH, OW, N, C, m):
    forward:  out[h, w, n, c, k] = b[c·m+k] + Σ_ij V[h, w, i, j, n, c] · w[i, j, c, k]
    backward: ∂out/∂V = w, ∂out/∂w = V, ∂out/∂b = 1, so
              dw[i, j, c, k] = Σ_{h,w,n} dout[h, w, n, c, k] · V[h, w, i, j, n, c],  db = Σ dout
              dP = the windows' adjoint: at stride 1 the same sum over dout padded by
              D·(K − 1), with the kernel flipped (a full correlation); strided, each offset's
              view of dP += Σ_k w[i, j, c, k] · dout[:, :, :, c, k];  dx = dP without its padding
    Each sum over the view is one np.einsum: numpy's sum-of-products loop, with no map per kernel
    offset (forward at 32×16×14×14: 0.33 ms, where a multiply and an add per offset took 1.1).
    The output and dx stay (H, W, N, C) in memory, seen as (N, C, H, W): copying them channel
    first cost more than the einsum (0.29 ms at 32×64×7×7), and the 1×1 conv that follows a
    depthwise one in a MobileNet takes them as they are (Conv2d._pointwise_by_pixels).
    """

    def forward(self, x, weight, bias=None, *, stride=1, padding=0, dilation=1, groups=1,
                op="conv2d"):
        self._setup(x, weight, bias, stride, padding, dilation, groups, op)
        self.cols = self.padded = None
        n, c = x.shape[:2]
        m = weight.shape[0] // c
        dtype = np.result_type(x, weight)
        columns = c * self.kernel[0] * self.kernel[1] * n * self.out_hw[0] * self.out_hw[1]
        if not self.records_graph and _few_runs(columns, self.out_hw):
            return self._by_columns(x, weight, bias, dtype)
        padded = self._bordered("images", x.transpose(2, 3, 0, 1), self.pads)   # P
        result = workspace.result_array(self.out_hw + (n, c * m), dtype)
        np.einsum("hwijnc,ijck->hwnck", self._windows(padded, self.out_hw, self.stride),
                  self._kernel(weight), out=result.reshape(*self.out_hw, n, c, m))
        if bias is not None:
            result += bias
        if self.records_graph:
            self.padded = padded  # for dw; given back when the graph is freed (release)
        else:
            self._give_back(padded)
        return result.transpose(2, 3, 0, 1)

    def _by_columns(self, x, weight, bias, dtype):
        """Without a graph, on a small map (batch 1): im2col, then one product per channel,
        (m, KH·KW) @ (KH·KW, N·OH·OW), all in one batched matmul. A few large numpy calls:
        mobilenet-mini's depthwise convs at batch 1 take 42-54 µs this way, 67 by the einsum."""
        n, c = x.shape[:2]
        m, taps = weight.shape[0] // c, self.kernel[0] * self.kernel[1]
        pixels = n * self.out_hw[0] * self.out_hw[1]
        cols = workspace.take(self.owner, "depthwise columns", (c * taps, pixels), x.dtype)
        im2col(x, self.kernel, self.stride, self.dilation, self.out_hw, self.pads, out=cols)
        out = workspace.result_array((c * m, n) + self.out_hw, dtype)
        np.matmul(weight.reshape(c, m, taps), cols.reshape(c, taps, pixels),
                  out=out.reshape(c, m, pixels))
        workspace.give_back(self.owner, "depthwise columns", cols)
        if bias is not None:
            out += bias[:, None, None, None]
        return out.transpose(1, 0, 2, 3)

    def backward(self, grad):
        n, c, h, w = self.x.shape
        m = self.weight.shape[0] // c
        (oh, ow), (kh, kw), (dh, dw) = self.out_hw, self.kernel, self.dilation
        kernel = self._kernel(self.weight)
        # dout as (OH, OW, N, C, m) in a workspace buffer, bordered by D·(K − 1) zeros when dx
        # is the full correlation (stride 1), else by none
        full = self.stride == (1, 1) and self.needs_grad[0]
        spread = ((dh * (kh - 1),) * 2, (dw * (kw - 1),) * 2) if full else ((0, 0), (0, 0))
        outputs = self._bordered("output grad",
                                 grad.transpose(2, 3, 0, 1).reshape(oh, ow, n, c, m), spread)
        (top, _), (left, _) = spread
        by_channel = outputs[top:top + oh, left:left + ow]
        padded_hw = tuple(size + sum(side) for size, side in zip((h, w), self.pads))
        dx = dweight = dbias = None
        if self.needs_grad[0]:
            dpadded = self._scratch("input grad", padded_hw + (n, c),
                                    np.result_type(outputs, kernel))          # dP
            if full:
                # dP[p] = Σ_ij w[i, j] · dout[p − (i, j)·D]: the bordered dout correlated with
                # the flipped kernel gives every pixel p of the padded map
                np.einsum("hwijnck,ijck->hwnc", self._windows(outputs, padded_hw, (1, 1)),
                          np.ascontiguousarray(kernel[::-1, ::-1]), out=dpadded)
            else:
                dpadded[...] = 0
                for i, j, rows, columns in windows(self.kernel, self.stride, self.dilation,
                                                   self.out_hw):
                    dpadded[rows, columns] += np.einsum("hwnck,ck->hwnc", by_channel,
                                                        kernel[i, j])
            # dx laid out in memory as x is, so that the ops before this conv (batch norm,
            # activations) meet their own layout in backward: when x is channel-major, the
            # one transposing copy here costs less than the mismatched passes there
            # (mobilenet-mini's first ReLU6 and batch norm, backward: 0.51 -> 0.21 ms, for
            # 0.22 more here)
            (top, _), (left, _) = self.pads
            dx = workspace.result_like(self.x, dpadded.dtype)
            np.copyto(dx.transpose(2, 3, 0, 1), dpadded[top:top + h, left:left + w])
            self._give_back(dpadded)
        if self.needs_grad[1]:
            windows_of_x = self._windows(self.padded, self.out_hw, self.stride)
            dweight = np.einsum("hwijnc,hwnck->ckij", windows_of_x,
                                by_channel).reshape(self.weight.shape)
        if len(self.needs_grad) == 3 and self.needs_grad[2]:
            dbias = grad.sum(axis=(0, 2, 3))
        self._give_back(outputs)
        return (dx, dweight, dbias) if len(self.needs_grad) == 3 else (dx, dweight)

    def _kernel(self, weight):
        """The weight (C·m, 1, KH, KW) as a contiguous (KH, KW, C, m): np.einsum over a view of
        it runs 7x slower (1.29 against 0.18 ms at 32×16×14×14)."""
        c = self.x.shape[1]
        return np.ascontiguousarray(
            weight.reshape(c, weight.shape[0] // c, *self.kernel).transpose(2, 3, 0, 1))

    def _windows(self, padded, out_hw, stride):
        """The strided view (OH, OW, KH, KW, ...) of every window of a padded (Hp, Wp, ...)
        map, for this conv's kernel and dilation."""
        along_h, along_w = padded.strides[:2]
        (dh, dw), (sh, sw) = self.dilation, stride
        return strided_view(
            padded, tuple(out_hw) + self.kernel + padded.shape[2:],
            (along_h * sh, along_w * sw, along_h * dh, along_w * dw) + padded.strides[2:])

    def _bordered(self, role, maps, pads):
        """maps (H, W, ...) copied into a workspace buffer with a zero border of pads
        ((top, bottom), (left, right))."""
        (top, bottom), (left, right) = pads
        h, w = maps.shape[:2]
        buffer = self._scratch(role, (top + h + bottom, left + w + right) + maps.shape[2:],
                               maps.dtype)
        _copy_inside_zero_border(buffer, maps, pads)
        return buffer

    def _scratch(self, role, shape, dtype):
        """A workspace buffer of this weight's (any old contents), remembered by its role."""
        buffer = workspace.take(self.owner, "depthwise " + role, shape, dtype)
        self._roles = getattr(self, "_roles", {})
        self._roles[id(buffer)] = role
        return buffer

    def _give_back(self, buffer):
        workspace.give_back(self.owner, "depthwise " + self._roles.pop(id(buffer)), buffer)

    def release(self):
        """Give the padded input back to the workspace for the next step, then forget the rest."""
        if getattr(self, "padded", None) is not None:
            self._give_back(self.padded)
        super().release()


def _conv_op(x, groups):
    """The Function for these groups: Conv2d, DepthwiseConv2d (groups = channels of a 4-D x)
    or GroupedConv2d."""
    if groups == 1:
        return Conv2d
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) == 4 and shape[1] == groups:
        return DepthwiseConv2d
    return GroupedConv2d


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation, as in every framework).

    x: (N, C, H, W), weight: (F, C/groups, KH, KW), bias: (F,) or None -> (N, F, OH, OW) with
    OH = floor((H + 2P − D(KH − 1) − 1) / S) + 1. padding: int, pair (rows, columns), 'valid',
    'same' (stride 1 only) or ((top, bottom), (left, right)), e.g. Keras' 'same' at stride 2.
    groups: channel groups; groups=1 takes the plain Conv2d path, groups = C (depthwise) the
    direct DepthwiseConv2d, any other GroupedConv2d.
    """
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return _conv_op(x, groups).apply(*inputs, stride=stride, padding=padding,
                                     dilation=dilation, groups=groups)


def _single(value, name: str) -> int:
    """An int, or a 1-tuple of one (PyTorch's 1-D arguments), as an int."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int or a 1-tuple of an int, got {value!r}")
    return int(value)


def _check_ncl(op: str, x: Tensor, weight: Tensor) -> None:
    if x.ndim != 3:
        raise ValueError(f"{op}: input must be (N, C, L), got shape {x.shape}")
    if weight.ndim != 3:
        raise ValueError(f"{op}: weight must be 3-D (channels, channels, K), got shape "
                         f"{weight.shape}")


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D convolution. x: (N, C, L), weight: (F, C/groups, K), bias: (F,) -> (N, F, OL),
    OL = floor((L + 2P − D(K − 1) − 1) / S) + 1. padding: int, 'valid' or 'same' (stride 1).

    Computed by conv2d on (N, C, 1, L) maps with (F, C/groups, 1, K) kernels: the same
    im2col and products (or the direct depthwise path), with a height of 1.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    _check_ncl("conv1d", x, weight)
    pads = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    inputs = (x.reshape(*x.shape[:2], 1, x.shape[2]),
              weight.reshape(*weight.shape[:2], 1, weight.shape[2]))
    inputs += () if bias is None else (bias,)
    op = _conv_op(inputs[0], groups)
    out = op.apply(*inputs, stride=(1, _single(stride, "stride")), padding=pads,
                   dilation=(1, _single(dilation, "dilation")), groups=groups, op="conv1d")
    return out.reshape(out.shape[0], out.shape[1], out.shape[3])


class ConvTranspose2d(Function):
    """x: (N, C, H, W), weight: (C, F/G, KH, KW), bias: (F,) -> (N, F, OH, OW) with
    OH = (H − 1)·S − 2P + D·(KH − 1) + output_padding + 1 (and OW alike).

    The adjoint of conv2d (what conv2d's backward does to dout, it does to x):
    forward:  cols = Wᵀ @ x (every input pixel times the whole kernel, per group), then col2im
              adds each column onto its window of an output padded by P, and P is cut off
    backward: dx = W @ im2col(dout padded by P),  dW = x @ im2col(…)ᵀ,  db = Σ dout
    output_padding only lengthens the bottom and right edges (they receive no input, only bias).
    Nothing is kept between the passes but x and W: the columns of backward come from dout.
    """

    def forward(self, x, weight, bias=None, *, stride=1, padding=0, output_padding=0, groups=1,
                dilation=1, op="conv_transpose2d"):
        check_nchw(op, x)
        if weight.ndim != 4:
            raise ValueError(f"{op}: weight must be (C, F/groups, KH, KW), got shape "
                             f"{weight.shape}")
        c, fg, kh, kw = weight.shape
        _check_groups(op, groups, x.shape[1], c, x.shape, weight.shape)
        if x.shape[1] != c:
            raise ValueError(f"{op}: input {x.shape} has {x.shape[1]} channels but weight "
                             f"{weight.shape} expects {c}")
        f = fg * groups
        if bias is not None and bias.shape != (f,):
            raise ValueError(f"{op}: bias shape {bias.shape} does not match weight {weight.shape} "
                             f"with groups={groups} (expected ({f},))")
        self.kernel, self.stride = (kh, kw), pair(stride, "stride")
        self.dilation, self.padding = pair(dilation, "dilation"), pair(padding, "padding")
        extra = pair(output_padding, "output_padding")
        if min(self.padding) < 0 or min(extra) < 0:
            raise ValueError(f"{op}: padding and output_padding must be non-negative, got "
                             f"{padding!r} and {output_padding!r}")
        if any(e >= s and e >= d for e, s, d in zip(extra, self.stride, self.dilation)):
            raise ValueError(f"{op}: output padding must be smaller than either stride or "
                             f"dilation, but got output_padding {extra}, stride {self.stride}, "
                             f"dilation {self.dilation}")
        n, _, h, w = x.shape
        self.out_hw = tuple((i - 1) * s - 2 * p + d * (k - 1) + e + 1 for i, s, p, d, k, e in
                            zip((h, w), self.stride, self.padding, self.dilation, self.kernel,
                                extra))
        if min(self.out_hw) < 1:
            raise ValueError(f"{op}: output size {self.out_hw} is too small for input {x.shape} "
                             f"and weight {weight.shape} (padding {self.padding} removes more "
                             "than the kernel adds)")
        self.x, self.weight, self.groups, self.in_hw = x, weight, groups, (h, w)
        (ph, pw), (oh, ow) = self.padding, self.out_hw
        self.padded_hw = (oh + 2 * ph, ow + 2 * pw)  # holds every window of col2im
        column_bytes = f * kh * kw * h * w * x.itemsize  # per image, in both passes
        self.chunk = max(1, COLUMN_BUDGET_BYTES // column_bytes)
        weights = _by_group(weight.reshape(c, -1), groups)           # (G, C/G, F/G·KH·KW)
        out = np.empty((n, f, oh, ow), dtype=np.result_type(x, weight))
        for batch in _batch_blocks(n, self.chunk):
            pixels = _by_group(self._channels_first(x[batch]), groups)  # (G, C/G, n·H·W)
            cols = (weights.transpose(0, 2, 1) @ pixels).reshape(f * kh * kw, -1)
            block_shape = (batch.stop - batch.start, f) + self.padded_hw
            padded = col2im(cols, block_shape, self.kernel, self.stride, self.dilation, (h, w))
            out[batch] = padded[:, :, ph:ph + oh, pw:pw + ow]
        if bias is not None:
            out += bias[:, None, None]
        return out

    @staticmethod
    def _channels_first(images):
        """(n, C, H, W) -> (C, n·H·W)."""
        return images.transpose(1, 0, 2, 3).reshape(images.shape[1], -1)

    def backward(self, grad):
        c = self.weight.shape[0]
        groups, (ph, pw) = self.groups, self.padding
        weights = _by_group(self.weight.reshape(c, -1), groups)      # (G, C/G, F/G·KH·KW)
        dx = np.empty(self.x.shape, dtype=grad.dtype) if self.needs_grad[0] else None
        dw = None
        for batch in _batch_blocks(grad.shape[0], self.chunk):
            padded = pad_sides(grad[batch], ((ph, ph), (pw, pw)))
            cols = _by_group(im2col(padded, self.kernel, self.stride, self.dilation, self.in_hw),
                             groups)                                  # (G, F/G·KH·KW, n·H·W)
            if dx is not None:
                per_channel = (weights @ cols).reshape(c, -1, *self.in_hw)  # (C, n, H, W)
                dx[batch] = per_channel.transpose(1, 0, 2, 3)
            if self.needs_grad[1]:
                pixels = _by_group(self._channels_first(self.x[batch]), groups)
                part = pixels @ cols.transpose(0, 2, 1)               # (G, C/G, F/G·KH·KW)
                dw = part if dw is None else dw + part
        dw = None if dw is None else dw.reshape(self.weight.shape)
        if len(self.needs_grad) == 2:
            return dx, dw
        db = grad.sum(axis=(0, 2, 3)) if self.needs_grad[2] else None
        return dx, dw, db


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    """Transposed 2-D convolution ("deconvolution"), PyTorch's argument order.

    x: (N, C, H, W), weight: (C, F/groups, KH, KW), bias: (F,) or None -> (N, F, OH, OW),
    OH = (H − 1)·S − 2P + D·(KH − 1) + output_padding + 1. stride, padding, output_padding,
    dilation: an int or a pair; output_padding must be smaller than the stride or the dilation.
    """
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d.apply(*inputs, stride=stride, padding=padding,
                                 output_padding=output_padding, groups=groups, dilation=dilation)


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    """Transposed 1-D convolution. x: (N, C, L), weight: (C, F/groups, K) -> (N, F, OL),
    OL = (L − 1)·S − 2P + D·(K − 1) + output_padding + 1.

    Computed by conv_transpose2d on (N, C, 1, L) maps with (C, F/groups, 1, K) kernels.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    _check_ncl("conv_transpose1d", x, weight)
    inputs = (x.reshape(*x.shape[:2], 1, x.shape[2]),
              weight.reshape(*weight.shape[:2], 1, weight.shape[2]))
    inputs += () if bias is None else (bias,)
    # the height axis: stride 1, no padding, and an output_padding of 0 (< its stride of 1)
    out = ConvTranspose2d.apply(
        *inputs, stride=(1, _single(stride, "stride")), padding=(0, _single(padding, "padding")),
        output_padding=(0, _single(output_padding, "output_padding")), groups=groups,
        dilation=(1, _single(dilation, "dilation")), op="conv_transpose1d")
    return out.reshape(out.shape[0], out.shape[1], out.shape[3])
