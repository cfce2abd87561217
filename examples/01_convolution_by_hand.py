"""What a convolution computes, one output value at a time.

Teaches: an output value is the elementwise product of a 3x3 window of the image and the 3x3
filter, summed; sliding the window gives the whole output map (the same thing minigrad's conv2d
computes); and how the stride decides how many positions the filter visits.

Run:  python examples/01_convolution_by_hand.py        (prints only; --out and --full are accepted)
"""

import numpy as np

import _common
import minigrad.engine.functional as F
from minigrad.layers.shapes import output_size

args = _common.parse_args(__doc__)

# A small 5x5 "image" and a 3x3 filter that responds to vertical edges (left bright, right dark).
image = np.array([[3, 0, 1, 2, 7],
                  [1, 5, 8, 9, 3],
                  [2, 7, 2, 5, 1],
                  [0, 1, 3, 1, 7],
                  [4, 2, 1, 6, 2]], dtype=float)
kernel = np.array([[1, 0, -1],
                   [1, 0, -1],
                   [1, 0, -1]], dtype=float)

# --- 1. One output value, step by step: the window at row 0, column 0. -----------------------
window = image[0:3, 0:3]
products = window * kernel          # elementwise, not a matrix product
print("window (top-left 3x3 of the image):\n", window)
print("filter:\n", kernel)
print("window * filter, elementwise:\n", products)
terms = " + ".join(f"({p:g})" for p in products.ravel())
print(f"sum = {terms} = {products.sum():g}")
print()

# --- 2. The whole map: slide the window over every position (stride 1, no padding). ----------
out_h = image.shape[0] - kernel.shape[0] + 1
out_w = image.shape[1] - kernel.shape[1] + 1
by_hand = np.zeros((out_h, out_w))
for r in range(out_h):
    for c in range(out_w):
        by_hand[r, c] = (image[r:r + 3, c:c + 3] * kernel).sum()
print("output map by the hand loop:\n", by_hand)

# minigrad works on batches N x C x H x W, with weights F x C x KH x KW.
by_minigrad = F.conv2d(image[None, None], kernel[None, None]).data[0, 0]
print("output map by minigrad.engine.functional.conv2d:\n", by_minigrad)
assert np.allclose(by_hand, by_minigrad)
print("the hand loop and conv2d agree: True")
print()
# (Deep-learning "convolution" does not flip the filter: strictly it is cross-correlation.)

# --- 3. How many positions does a 3x3 filter visit on a 100x100 image? -----------------------
for stride in (1, 10):
    n = output_size(100, kernel=3, stride=stride)   # floor((100 - 3) / stride) + 1
    print(f"stride {stride:2d}: {n} x {n} = {n * n} positions "
          f"(floor((100 - 3) / {stride}) + 1 = {n} per axis)")
