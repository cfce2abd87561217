"""The autograd engine: tensors that record the ops applied to them (tensor.py), the fused ops
with their derivatives (functional.py), PyTorch-style modules (nn.py), optimizers (optim.py),
finite-difference checks (gradcheck.py) and pictures of a recorded graph (graph.py)."""
