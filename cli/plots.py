"""Pictures saved as PNG: training curves (`train --plot`), a filtered image next to its input
(`filter`) and a model's first filters with their feature maps (`visualize`).

matplotlib is optional (`pip install "cnncalc[plot]"`), so it is imported only when a picture is
drawn. Figures are drawn on the Agg canvas directly, never through pyplot: no display is needed
and no global figure state is left behind.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from .render import PLOT_HINT


class PlotError(ValueError):
    """A picture that cannot be drawn, e.g. because matplotlib is missing."""


def require_matplotlib(what: str) -> None:
    """Fail early (before a long training run, say) when matplotlib is not installed."""
    try:
        missing = importlib.util.find_spec("matplotlib") is None
    except ValueError:  # a module entry of None (blocked, as the tests do) counts as missing
        missing = True
    if missing:
        raise PlotError(f"{what} needs matplotlib: {PLOT_HINT}")


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path) -> None:
    figure.savefig(path, format="png")


def save_history(path, history, title: str) -> None:
    """Loss and accuracy per epoch (training, and validation when it was measured)."""
    require_matplotlib("--plot")
    epochs = [row.epoch for row in history]
    validated = any(row.val_loss is not None for row in history)
    figure = _figure(10, 4)
    figure.suptitle(title)
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        axes.plot(epochs, [getattr(row, metric) for row in history], "o-", label="training")
        if validated:
            axes.plot(epochs, [getattr(row, f"val_{metric}") for row in history], "s--",
                      label="validation")
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.set_xticks(epochs)  # whole epochs only: 1.5 epochs means nothing here
        axes.grid(alpha=0.3)
        axes.legend()
    _save(figure, path)


def kernel_text(kernel: np.ndarray) -> str:
    """[[-1, -1, -1], [-1, 9, -1], ...] with numbers written as briefly as they allow."""
    return "[" + ", ".join("[" + ", ".join(f"{v:g}" for v in row) + "]" for row in kernel) + "]"


SHOWN_PIXELS = 1024  # the most pixels along a side that `filter` draws of an image


def save_filtered(path, image: np.ndarray, filtered: np.ndarray, title: str) -> None:
    """The input and the filtered image side by side, both on the same 0..255 grey scale."""
    require_matplotlib("cnncalc filter")
    figure = _figure(10, 5.4)
    figure.suptitle(title)
    for axes, pixels, name in zip(figure.subplots(1, 2), (image, filtered), ("input", "output")):
        # A panel is about 500 dots wide: a big image is drawn from every step-th pixel (what
        # nearest-neighbour drawing shows anyway), not copied whole into matplotlib's buffers.
        step = max(1, -(-max(pixels.shape) // SHOWN_PIXELS))
        axes.imshow(pixels[::step, ::step], cmap="gray", vmin=0, vmax=255,
                    interpolation="nearest")
        axes.set_title(f"{name}: {pixels.shape[1]}×{pixels.shape[0]} (W×H)")
        axes.set_axis_off()
    _save(figure, path)


def _grid(figure, count: int, title: str):
    """A sub-figure with `count` square panels in a near-square grid; unused panels hidden."""
    columns = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    figure.suptitle(title)
    panels = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for axes in panels:
        axes.set_axis_off()
    return panels[:count]


def save_filters(path, weights: np.ndarray, sample: np.ndarray, maps: np.ndarray,
                 conv_name: str, sample_name: str, activation: str) -> None:
    """The first conv layer's filters, the sample, and its feature maps.

    weights: (F, C, KH, KW); sample: (C, H, W) as the model takes it; maps: (F, OH, OW).
    Each filter is scaled to its own min..max (so its pattern shows whatever its magnitude), its
    input channels side by side; the feature maps share one scale, so they can be compared.
    """
    require_matplotlib("cnncalc visualize")
    count, channels, kh, kw = weights.shape
    figure = _figure(12, 6.5)
    left, middle, right = figure.subfigures(1, 3, width_ratios=[4, 2, 4])
    channel_note = f", {channels} input channels left to right" if channels > 1 else ""
    for i, axes in enumerate(_grid(left, count, f"{conv_name}: {count} filters, "
                                                f"{kh}×{kw}{channel_note}\n(each scaled to "
                                                "its own min..max; light = large)")):
        w = weights[i]
        spread = w.max() - w.min()
        scaled = (w - w.min()) / spread if spread > 0 else np.zeros_like(w)
        # Channels side by side, a blank column between them.
        gap = np.full((kh, 1), np.nan)
        tiles = [part for c in range(channels) for part in (scaled[c], gap)][:-1]
        axes.imshow(np.hstack(tiles), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes.set_title(f"filter {i}", fontsize=9)
    axes = middle.subplots()
    shown = sample[0] if channels == 1 else np.clip(sample.transpose(1, 2, 0), 0, 1)
    axes.imshow(shown, cmap="gray", interpolation="nearest")
    axes.set_title(f"sample\n{sample_name}", fontsize=10)
    axes.set_axis_off()
    low, high = float(maps.min()), float(maps.max())
    for i, axes in enumerate(_grid(right, count, f"feature maps after {conv_name}"
                                                 f"{' + ' + activation if activation else ''}"
                                                 f"\n{maps.shape[2]}×{maps.shape[1]}, "
                                                 f"one scale {low:.2g}..{high:.2g}")):
        axes.imshow(maps[i], cmap="viridis", vmin=low, vmax=high, interpolation="nearest")
        axes.set_title(f"map {i}", fontsize=9)
    _save(figure, path)
