"""Hand-made filters on a real photo: sharpen, blur, edge; padding; clipping to 0..255.

Teaches: a 3x3 filter slid over an image is a convolution; with one pixel of zero padding the
output keeps the input's size, without it the output loses a pixel on every side; filters like
sharpen give values outside 0..255 that must be clipped before they can be shown as a picture;
and a conv layer with several filters is just several of these maps computed at once.

Run:  python examples/02_image_filters.py [--image PATH] [--out DIR]
Writes: DIR/02_image_filters.png (DIR defaults to examples/output/)
"""

from pathlib import Path

import numpy as np

import _common
import minigrad.engine.functional as F
from cnncalc.filtering import KERNELS
from cnncalc.images import load_greyscale
from cnncalc.plots import kernel_text
from minigrad import Tensor
from minigrad.layers.shapes import output_size

PHOTO = Path(__file__).resolve().parent / "data" / "grace_hopper.png"


def add_image_option(parser):
    parser.add_argument("--image", type=Path, default=PHOTO,
                        help="a PNG or JPEG to filter (default: the bundled photo of Grace Hopper)")


args = _common.parse_args(__doc__, add_image_option)
plt = _common.pyplot()
image = load_greyscale(args.image)             # (H, W) floats in 0..255
height, width = image.shape
print(f"{args.image.name}: {width}x{height} pixels (W x H), grey values 0..255")

# The kernels of the notes, as `cnncalc filter` names them. Sharpen's weights sum to 1 and edge's
# to 0: sharpen keeps a flat area as it is, edge turns it black; blur averages the 3x3 neighbourhood.
kernels = {name: np.array(KERNELS[name]) for name in ("sharpen", "blur", "edge")}
for name, kernel in kernels.items():
    print(f"{name:<8} {kernel_text(kernel)}   (weights sum to {kernel.sum():.3g})")
print()

# --- 1. Padding decides the output size. -------------------------------------------------------
for padding in (0, 1):
    out_h, out_w = output_size(height, 3, 1, padding), output_size(width, 3, 1, padding)
    print(f"padding {padding}: output {out_w}x{out_h}   "
          f"(OH = ({height} + 2·{padding} − 3) / 1 + 1 = {out_h})")
print()

# --- 2. All three filters in one conv2d: a layer with 3 filters gives 3 feature maps. ----------
# minigrad takes batches N x C x H x W and weights F x C x KH x KW: here 1 image, 1 channel, 3 filters.
weights = np.stack(list(kernels.values()))[:, None]          # (3, 1, 3, 3)
raw = F.conv2d(Tensor(image[None, None]), Tensor(weights), padding=1).data[0]   # (3, H, W)

# --- 3. Clipping: what a filter computes is not always a valid grey value. ---------------------
print(f"{'filter':<9}{'min':>9}{'max':>9}{'below 0':>10}{'above 255':>11}")
for name, values in zip(kernels, raw):
    print(f"{name:<9}{values.min():>9.1f}{values.max():>9.1f}"
          f"{(values < 0).mean():>10.1%}{(values > 255).mean():>11.1%}")
clipped = np.clip(raw, 0, 255)
print("so each map is clipped to 0..255 before it is shown (np.clip(x, 0, 255)).")

# One pixel worked out by hand, to connect the picture with the arithmetic.
r, c = height // 2, width // 2
window = image[r - 1:r + 2, c - 1:c + 2]
by_hand = (window * kernels["sharpen"]).sum()
print(f"\nsharpen at row {r}, column {c}: 9·{window[1, 1]:g} − (sum of the 8 neighbours "
      f"{window.sum() - window[1, 1]:g}) = {by_hand:g}; conv2d gave {raw[0, r, c]:g}")
assert np.isclose(by_hand, raw[0, r, c])

# --- 4. Before and after, side by side. --------------------------------------------------------
fig, axes = plt.subplots(1, 4, figsize=(13, 4.6))
panels = [("input", image)] + [(f"{name}, padding 1, clipped", pixels)
                               for name, pixels in zip(kernels, clipped)]
for ax, (title, pixels) in zip(axes, panels):
    ax.imshow(pixels, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_title(f"{title}\n{pixels.shape[1]}x{pixels.shape[0]}", fontsize=10)
    ax.set_axis_off()
fig.suptitle("3x3 filters applied with minigrad's conv2d (one grey scale 0..255 for all)")
fig.tight_layout()
path = args.out / "02_image_filters.png"
fig.savefig(path, dpi=100)
_common.saved(path)
