"""Would an FFT convolution beat im2col + one product for minigrad's 3×3 convs? A probe of the
forward pass of three presets' convs at batch 32 in plain numpy (numpy ≥ 2 transforms float32 as
float32), against the engine's im2col + GEMM and PyTorch's conv2d when torch is installed; it
checks that the FFT result agrees with the engine's and times the parts.

By the convolution theorem a conv is a product per frequency: pad each map to P×P (P ≥ H + 2, so
the circular convolution does not wrap), Y(ω) = Σ_c X_c(ω)·K_c(ω) for every output channel,
one (N×C) @ (C×F) complex product per frequency, then back. The kernel's transform is made once,
as a trained layer's would be.

    python benchmarks/fft_probe.py

Runs without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, as benchmarks/bench.py does (it restarts itself).
"""

from __future__ import annotations


from blas_env import restart_without_blas_overrides

if __name__ == "__main__":
    restart_without_blas_overrides()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from conv_products import best_ms  # noqa: E402
from minigrad.engine.conv import im2col  # noqa: E402

try:
    import torch
except ImportError:  # the probe runs without PyTorch, only without its column
    torch = None

# (preset conv, input channels, filters, map side): 3×3, padding 1, batch 32
CONVS = [("mnist-cnn conv 2", 32, 64, 28), ("resnet-mini conv 2", 16, 16, 28),
         ("resnet-mini conv 5", 32, 32, 14)]
N = 32


def kernel_spectrum(w: np.ndarray, p: int) -> np.ndarray:
    """(F, C, 3, 3) -> (frequencies, C, F): the transform of the kernel placed so that the
    circular convolution computes the cross-correlation with padding 1 (tap (a, b) at
    ((1 − a) mod P, (1 − b) mod P))."""
    f, c = w.shape[:2]
    k = np.zeros((f, c, p, p), np.float32)
    for a in range(3):
        for b in range(3):
            k[:, :, (1 - a) % p, (1 - b) % p] = w[:, :, a, b]
    return np.fft.rfft2(k).transpose(2, 3, 1, 0).reshape(-1, c, f).copy()


def probe(name: str, c: int, f: int, h: int) -> list[tuple[str, float]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, c, h, h)).astype(np.float32)
    w = rng.standard_normal((f, c, 3, 3)).astype(np.float32)
    p = 1 << (h + 1).bit_length()  # a power of two ≥ h + 2
    spectrum = kernel_spectrum(w, p)
    cols = np.empty((c * 9, N * h * h), np.float32)

    def engine():
        im2col(x, (3, 3), (1, 1), (1, 1), (h, h), ((1, 1), (1, 1)), out=cols)
        return (w.reshape(f, -1) @ cols).reshape(f, N, h, h).transpose(1, 0, 2, 3)

    def forward_transform():
        return np.fft.rfft2(x, s=(p, p))                                 # (N, C, P, P/2 + 1)

    def by_frequency(x_hat):
        return np.ascontiguousarray(x_hat.transpose(2, 3, 0, 1).reshape(-1, N, c))

    def back(y_hat):
        y_hat = y_hat.reshape(p, p // 2 + 1, N, f).transpose(2, 3, 0, 1)
        return np.fft.irfft2(y_hat, s=(p, p))[:, :, :h, :h]

    def fft_conv():
        return back(np.matmul(by_frequency(forward_transform()), spectrum))

    x_hat = forward_transform()
    x_freq = by_frequency(x_hat)
    y_hat = np.matmul(x_freq, spectrum)
    with threadpool_limits(1):
        error = np.abs(fft_conv() - engine()).max() / np.abs(engine()).max()
        rows = [(f"{name}: {c}→{f} channels, {h}×{h}, batch {N} (largest relative difference "
                 f"{error:.1e})", None),
                ("im2col + one product (the engine)", best_ms(engine)),
                ("FFT convolution", best_ms(fft_conv)),
                ("  of which the forward transforms", best_ms(forward_transform)),
                ("  of which the copy to frequency-major", best_ms(lambda: by_frequency(x_hat))),
                ("  of which the products per frequency", best_ms(lambda: np.matmul(x_freq,
                                                                                    spectrum))),
                ("  of which the inverse transforms", best_ms(lambda: back(y_hat)))]
        if torch is not None:
            torch.set_num_threads(1)
            xt, wt = torch.from_numpy(x), torch.from_numpy(w)
            with torch.no_grad():
                rows.append(("PyTorch conv2d", best_ms(
                    lambda: torch.nn.functional.conv2d(xt, wt, padding=1))))
    return rows


def main() -> None:
    print("Forward pass, one thread, ms (best of 7)\n")
    print("| method | ms |")
    print("| --- | ---: |")
    for conv in CONVS:
        for label, ms in probe(*conv):
            print(f"| **{label}** | |" if ms is None else f"| {label} | {ms:.2f} |")


if __name__ == "__main__":
    main()
