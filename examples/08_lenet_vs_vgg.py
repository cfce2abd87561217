"""LeNet-5 (1998) and VGG16 (2014), table by table.

Teaches: how two classic CNNs compare in size: LeNet-5 has about 62 thousand parameters and sees
16x16 pixels of its 32x32 digit before the dense layers; VGG16 has 138 million, most of them
in its first dense layer, and its thirteen stacked 3x3 convs and five pools reach 212 pixels.

Run:  python examples/08_lenet_vs_vgg.py        (prints only; --out and --full are accepted)
"""

from rich.console import Console

import _common
from minigrad.layers.report import print_summary
from minigrad.readers import load_spec

args = _common.parse_args(__doc__)
console = Console(width=110)

summaries = {}
for name in ("lenet5", "vgg16"):
    spec = load_spec(name)
    summaries[name] = summary = spec.analyze()
    print_summary(console, summary, spec.name, explain=False)
    print()


def last_conv_field(summary):
    """Receptive field of the last conv/pool layer, before flatten mixes everything."""
    rows = [r for r in summary.layers if r.type in ("conv", "maxpool", "avgpool")]
    return rows[-1].receptive_field[0]


def biggest_layer(summary):
    row = max(summary.layers, key=lambda r: r.params)
    return f"{row.name} {row.params:,}"


lenet, vgg = summaries["lenet5"], summaries["vgg16"]
print(f"{'':<24}{'LeNet-5':>24}{'VGG16':>28}")
for label, fn in (
        ("input", lambda s: "x".join(map(str, s.input_shape))),
        ("parameters", lambda s: f"{s.total_params:,}"),
        ("MACs per image", lambda s: f"{s.total_macs:,}"),
        ("last conv/pool field", lambda s: f"{last_conv_field(s)} pixels"),
        ("largest layer (params)", biggest_layer)):
    print(f"{label:<24}{fn(lenet):>24}{fn(vgg):>28}")
print(f"\nVGG16 has {vgg.total_params / lenet.total_params:,.0f}x the parameters of LeNet-5 and "
      f"does {vgg.total_macs / lenet.total_macs:,.0f}x the multiply-adds per image;")
print(f"{biggest_layer(vgg).split()[0]} alone holds "
      f"{max(r.params for r in vgg.layers) / vgg.total_params:.0%} of VGG16's parameters.")
