"""Check a function's analytic gradients against central finite differences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minigrad.engine.tensor import Tensor


@dataclass(frozen=True)
class GradcheckResult:
    """The worst element found: which input, where, both gradients. True when within tolerance."""

    ok: bool
    input_index: int | None
    element: tuple[int, ...] | None
    analytic: float
    numeric: float

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.input_index is None:
            return "gradcheck: no input requires grad"
        verdict = "ok" if self.ok else "MISMATCH"
        return (f"gradcheck {verdict}: worst element is input {self.input_index} at "
                f"{self.element}: analytic {self.analytic:.8g}, numeric {self.numeric:.8g}")


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0) -> GradcheckResult:
    """Compare fn's backward with central differences, in float64.

    fn: takes the inputs as Tensors and returns a Tensor. Floating inputs are differentiated (as
    float64 copies); others (e.g. integer labels) are passed through. A non-scalar output is
    reduced with a random upstream gradient, so every output element's derivative is tested.
    An element passes when |analytic − numeric| <= atol + rtol·|numeric|.
    """
    tensors = []
    for x in inputs:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        floating = np.issubdtype(data.dtype, np.floating)
        tensors.append(Tensor(data.astype(np.float64) if floating else data, requires_grad=floating,
                              dtype=np.float64 if floating else data.dtype))
    out = fn(*tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)

    def objective() -> float:
        return float((fn(*tensors).data * upstream).sum())

    worst = GradcheckResult(True, None, None, 0.0, 0.0)
    worst_ratio = -1.0  # |analytic − numeric| / allowed error: an element passes at <= 1
    for index, t in enumerate(tensors):
        if not t.requires_grad:
            continue
        analytic = t.grad if t.grad is not None else np.zeros_like(t.data)
        for element in np.ndindex(t.shape):
            original = t.data[element]
            t.data[element] = original + eps
            plus = objective()
            t.data[element] = original - eps
            minus = objective()
            t.data[element] = original
            numeric = (plus - minus) / (2 * eps)
            ratio = abs(analytic[element] - numeric) / (atol + rtol * abs(numeric))
            if ratio > worst_ratio:
                worst_ratio = ratio
                worst = GradcheckResult(bool(ratio <= 1), index, element,
                                        float(analytic[element]), float(numeric))
    return worst
