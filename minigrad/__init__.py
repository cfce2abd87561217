"""minigrad: a small tensor autograd engine for learning how CNNs compute and learn.

`minigrad.shapes` holds the layer arithmetic (output sizes, parameters, receptive fields, cost);
`minigrad.spec` reads model descriptions (layer language, pasted Keras or PyTorch code, presets).
"""

from .errors import SpecError
from .shapes import Network, Summary, analyze

__all__ = ["Network", "SpecError", "Summary", "analyze"]
