"""Layer arithmetic: parameter sharing, a whole network's table, receptive fields.

Teaches: a conv layer reuses one small filter at every position, so it has far fewer parameters
than a dense layer that connects every input to every output; how to read a network's table
(shape, parameters, receptive field per layer); and that the receptive field (how many input
pixels one unit sees) grows with every 3x3 conv and grows faster after every pool.

Run:  python examples/03_layer_math.py        (prints only; --out and --full are accepted)
"""

from rich.console import Console

import _common
from minigrad.layers.report import print_summary
from minigrad.readers import load_spec

args = _common.parse_args(__doc__)
console = Console(width=100)

# --- 1. Parameter sharing: Conv2D(1, (2, 2)) vs Dense(4) on the same 3x3 input. -------------
conv = load_spec("input 3x3x1; conv 1 2x2").analyze()
dense = load_spec("input 3x3x1; flatten; dense 4").analyze()
conv_row, dense_row = conv.layers[0], dense.layers[-1]
print("On a 3x3 single-channel input, both layers give 4 output values:")
print(f"  Conv2D(1, (2, 2)): output {conv_row.output_shape}, "
      f"params = 2*2*1 weights + 1 bias = {conv.total_params}")
print(f"  Dense(4) on the 9 flattened inputs: output {dense_row.output_shape}, "
      f"params = 9*4 weights + 4 biases = 36 + 4 = {dense.total_params}")
print("  The conv uses the same 4 weights at all 4 positions (parameter sharing); the dense layer")
print("  has a separate weight for every (input, output) pair.")
print()

# --- 2. A whole network's table: the 8x8 triangle / square / circle classifier. --------------
spec = load_spec("shapes-cnn")
print_summary(console, spec.analyze(), spec.name, explain=False)
print()

# --- 3. Receptive fields grow with depth. -----------------------------------------------------
stack = load_spec("""
input 64x64x1
conv 8 3x3 padding=same relu
conv 8 3x3 padding=same relu
maxpool 2
conv 16 3x3 padding=same relu
conv 16 3x3 padding=same relu
maxpool 2
conv 32 3x3 padding=same relu
conv 32 3x3 padding=same relu
""").analyze()
print("Receptive field of one unit, in input pixels (jump = input pixels between neighbouring units):")
print(f"  {'layer':<16}{'description':<34}{'field':>8}{'jump':>6}")
for row in stack.layers:
    field, jump = row.receptive_field, row.jump
    print(f"  {row.name:<16}{row.description:<34}{field[0]:>4}x{field[1]:<3}{jump[0]:>6}")
print("Each 3x3 conv adds 2 x jump pixels; each 2x2 pool doubles the jump, so later convs grow "
      "the field faster.")
