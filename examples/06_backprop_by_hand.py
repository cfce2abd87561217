"""Backpropagation through a convolution, by hand.

Teaches: for y = conv(x, w) (one channel, 3x3 filter, 5x5 input, so y is 3x3), if δ[r, c] = dL/dy[r, c]
is the gradient arriving from above, then each filter weight's gradient is

    dL/dw[i, j] = Σ over outputs (r, c) of δ[r, c] · x[r + i, c + j]

(the weight w[i, j] touched x[r + i, c + j] when it made y[r, c]). That is itself a convolution
of the input with δ. We compute it with loops, with minigrad's backward(), and with central finite
differences, and print the three side by side.

Run:  python examples/06_backprop_by_hand.py        (prints only; --out and --full are accepted)
"""

import numpy as np

import _common
import minigrad.engine.functional as F
from minigrad import Tensor

args = _common.parse_args(__doc__)
rng = np.random.default_rng(0)

x = rng.normal(size=(5, 5))        # input
w = rng.normal(size=(3, 3))        # filter
delta = rng.normal(size=(3, 3))    # dL/dy: pretend the loss is L = Σ δ[r, c] · y[r, c]


def loss(w_array):
    """L = Σ δ · conv(x, w), a scalar, so dL/dy = δ exactly."""
    y = F.conv2d(Tensor(x[None, None]), Tensor(w_array[None, None]))
    return float((y.data[0, 0] * delta).sum())


# 1. By hand: the formula above, as loops.
by_hand = np.zeros((3, 3))
for i in range(3):
    for j in range(3):
        for r in range(3):
            for c in range(3):
                by_hand[i, j] += delta[r, c] * x[r + i, c + j]

# 2. minigrad: build the graph, then backward() with δ as the upstream gradient.
w_tensor = Tensor(w[None, None], requires_grad=True)
y = F.conv2d(Tensor(x[None, None]), w_tensor)
y.backward(delta[None, None])
by_minigrad = w_tensor.grad[0, 0]

# 3. Central finite differences: nudge each weight by ±eps and watch L change.
eps = 1e-6
numeric = np.zeros((3, 3))
for i in range(3):
    for j in range(3):
        plus, minus = w.copy(), w.copy()
        plus[i, j] += eps
        minus[i, j] -= eps
        numeric[i, j] = (loss(plus) - loss(minus)) / (2 * eps)

print("dL/dw[i, j] = Σ_(r,c) δ[r, c] · x[r + i, c + j]\n")
print(f"{'(i, j)':>8}{'by hand':>14}{'minigrad':>14}{'finite diff.':>14}")
for i in range(3):
    for j in range(3):
        print(f"{f'({i}, {j})':>8}{by_hand[i, j]:>14.8f}{by_minigrad[i, j]:>14.8f}"
              f"{numeric[i, j]:>14.8f}")
agree = np.allclose(by_hand, by_minigrad) and np.allclose(by_hand, numeric, atol=1e-6)
print(f"\nmax |hand - minigrad| = {np.abs(by_hand - by_minigrad).max():.2e}, "
      f"max |hand - finite diff.| = {np.abs(by_hand - numeric).max():.2e}")
print(f"all three gradients agree: {agree}")

# The same formula is a convolution of x with δ as the filter:
assert np.allclose(by_hand, F.conv2d(Tensor(x[None, None]), Tensor(delta[None, None])).data[0, 0])
print("and dL/dw = conv(x, δ): True")
