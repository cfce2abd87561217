"""Would Winograd's F(2×2, 3×3) beat im2col + one product for minigrad's 3×3 convs? A probe of the
forward pass of mnist-cnn's 32→64 conv at batch 32, in plain numpy, against the engine's own
im2col + GEMM; it checks the two agree and times the parts.

Winograd computes each 2×2 output tile from a 4×4 input tile d as Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, so a
3×3 conv needs 16 multiplications per tile and channel pair instead of 36: 16 small batched
products (F×C by C×tiles) plus the input and output transforms (additions over the tiles).

    python benchmarks/winograd_probe.py

Runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, as benchmarks/bench.py does (it restarts itself).
"""

from __future__ import annotations


from blas_env import restart_without_blas_overrides

if __name__ == "__main__":
    restart_without_blas_overrides()

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import as_strided  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from conv_products import best_ms  # noqa: E402
from minigrad.engine.conv import im2col  # noqa: E402

N, C, F, H = 32, 32, 64, 28  # mnist-cnn's second conv: 3×3, padding 1, 28×28 maps
TILES = H // 2
G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], np.float32)


def filter_transform(w: np.ndarray) -> np.ndarray:
    """U = G g Gᵀ for every (filter, channel): (16, F, C), done once per weight update."""
    return np.einsum("ij,fcjk,lk->ilfc", G, w, G).reshape(16, F, C).copy()


def input_transform(padded: np.ndarray) -> np.ndarray:
    """V = Bᵀ d B for every 4×4 tile (stride 2) of the padded (C, N, H+2, W+2) map: (16, C, tiles)."""
    s = padded.strides
    d = as_strided(padded, (4, 4, C, N, TILES, TILES), (s[2], s[3], s[0], s[1], 2 * s[2], 2 * s[3]))
    rows = [d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]]               # Bᵀ d
    v = np.empty((4, 4, C, N, TILES, TILES), np.float32)
    for i, r in enumerate(rows):                                               # (Bᵀ d) B
        v[i, 0], v[i, 1], v[i, 2], v[i, 3] = r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3]
    return v.reshape(16, C, -1)


def output_transform(m: np.ndarray) -> np.ndarray:
    """Y = Aᵀ M A for every tile: (16, F, tiles) -> (F, N, H, W)."""
    m = m.reshape(4, 4, F, N, TILES, TILES)
    out = np.empty((F, N, TILES, 2, TILES, 2), np.float32)
    for i, a in enumerate((m[0] + m[1] + m[2], m[1] - m[2] - m[3])):
        out[:, :, :, i, :, 0] = a[0] + a[1] + a[2]
        out[:, :, :, i, :, 1] = a[1] - a[2] - a[3]
    return out.reshape(F, N, H, H)


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, H)).astype(np.float32)
    w = rng.standard_normal((F, C, 3, 3)).astype(np.float32)
    u = filter_transform(w)
    padded = np.zeros((C, N, H + 2, H + 2), np.float32)
    padded[:, :, 1:-1, 1:-1] = x.transpose(1, 0, 2, 3)
    cols = np.empty((C * 9, N * H * H), np.float32)

    def direct():
        im2col(x, (3, 3), (1, 1), (1, 1), (H, H), ((1, 1), (1, 1)), out=cols)
        return (w.reshape(F, -1) @ cols).reshape(F, N, H, H)

    def winograd():
        padded[:, :, 1:-1, 1:-1] = x.transpose(1, 0, 2, 3)
        return output_transform(np.matmul(u, input_transform(padded)))

    v = input_transform(padded)
    m = np.matmul(u, v)
    with threadpool_limits(1):
        error = np.abs(winograd() - direct()).max() / np.abs(direct()).max()
        rows = [("im2col + one product (the engine)", best_ms(direct)),
                ("  of which im2col", best_ms(lambda: im2col(x, (3, 3), (1, 1), (1, 1), (H, H),
                                                             ((1, 1), (1, 1)), out=cols))),
                ("Winograd F(2×2, 3×3)", best_ms(winograd)),
                ("  of which the input transform", best_ms(lambda: input_transform(padded))),
                ("  of which the 16 products", best_ms(lambda: np.matmul(u, v))),
                ("  of which the output transform", best_ms(lambda: output_transform(m)))]
    print(f"mnist-cnn conv 2 forward, batch 32, one thread (largest relative difference "
          f"{error:.1e})\n")
    print("| method | ms |")
    print("| --- | ---: |")
    for name, ms in rows:
        print(f"| {name} | {ms:.2f} |")


if __name__ == "__main__":
    main()
