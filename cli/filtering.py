"""`cnncalc filter`: run one hand-written kernel over a greyscale image with minigrad's conv2d,
to see what a convolution does before a network learns its own kernels.
"""

from __future__ import annotations

import numpy as np

from minigrad.engine import functional as F
from minigrad.layers.shapes import output_size
from minigrad.engine.tensor import Tensor, no_grad

from . import plots
from .images import load_greyscale

# The classic 3x3 kernels. blur is the box filter (the mean of the 3x3 neighbourhood), the
# simplest to reason about; a Gaussian can be given as text: "1,2,1;2,4,2;1,2,1" scaled by 1/16
# is "0.0625,0.125,0.0625;0.125,0.25,0.125;0.0625,0.125,0.0625".
KERNELS = {
    "sharpen": [[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]],
    "blur": [[1 / 9] * 3] * 3,
    "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}
SIZE = 3  # kernels are 3x3, like the named ones


class KernelError(ValueError):
    """Kernel text that is not a 3x3 matrix of numbers."""


def parse_kernel(text: str) -> np.ndarray:
    """A named kernel or "a,b,c;d,e,f;g,h,i" (rows separated by ';') as a (3, 3) array."""
    name = text.strip().lower()
    if name in KERNELS:
        return np.array(KERNELS[name], dtype=np.float32)
    example = "such as '0,-1,0;-1,5,-1;0,-1,0'"
    rows = [row.split(",") for row in text.split(";")]
    if len(rows) == 1 and len(rows[0]) == 1:  # one word: most likely a misspelt name
        raise KernelError(f"unknown kernel {text!r}: choose {', '.join(KERNELS)} or give "
                          f"3 rows of 3 numbers, {example}")
    lengths = {len(row) for row in rows}
    if len(lengths) > 1:
        raise KernelError(f"kernel {text!r}: rows of unequal length "
                          f"({', '.join(str(len(row)) for row in rows)} numbers); give 3 rows "
                          f"of 3 numbers, {example}")
    if len(rows) != SIZE or lengths != {SIZE}:
        raise KernelError(f"kernel {text!r}: {len(rows)} rows of {lengths.pop()} numbers; give "
                          f"3 rows of 3 numbers separated by ';', {example}")
    try:
        values = [[float(v) for v in row] for row in rows]
    except ValueError:
        bad = next(v for row in rows for v in row if not _is_number(v))
        raise KernelError(f"kernel {text!r}: {bad.strip()!r} is not a number") from None
    kernel = np.array(values, dtype=np.float32)
    if not np.isfinite(kernel).all():
        raise KernelError(f"kernel {text!r}: the numbers must be finite")
    return kernel


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def apply_kernel(image: np.ndarray, kernel: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """conv2d of an (H, W) image with one (KH, KW) kernel (zero padding), clipped to 0..255."""
    with no_grad():
        out = F.conv2d(Tensor(image[None, None]), Tensor(kernel[None, None]), stride=stride,
                       padding=padding).data[0, 0]
    return np.clip(out, 0, 255)


def run_filter(image_path: str, kernel_text: str, stride: int, padding: int, out_path: str,
               console) -> None:
    kernel = parse_kernel(kernel_text)
    plots.require_matplotlib("cnncalc filter")  # before the work, not after it
    image = load_greyscale(image_path)
    height, width = image.shape
    try:  # also the check that the kernel fits: it raises when it does not
        out_h, out_w = (output_size(n, SIZE, stride, padding) for n in (height, width))
    except ValueError as error:
        raise KernelError(f"{image_path} is {width}x{height}: {error}") from None
    filtered = apply_kernel(image, kernel, stride, padding)
    assert filtered.shape == (out_h, out_w)  # minigrad.layers.shapes and conv2d must agree
    shown = plots.kernel_text(kernel)
    name = kernel_text.strip().lower() if kernel_text.strip().lower() in KERNELS else "kernel"
    plots.save_filtered(out_path, image, filtered,
                        f"{name} {shown}, stride {stride}, padding {padding}")
    formula = "floor(({n} + 2·{p} − {k}) / {s}) + 1 = {o}"
    lines = [f"input   {width}x{height} (W x H)",
             f"output  {out_w}x{out_h}",
             "  height " + formula.format(n=height, p=padding, k=SIZE, s=stride, o=out_h),
             "  width  " + formula.format(n=width, p=padding, k=SIZE, s=stride, o=out_w),
             f"kernel  {name} {shown} (cross-correlation, zero padding, output clipped to 0..255)",
             f"saved to {out_path}"]
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)
