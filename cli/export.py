"""`cnncalc export`: framework code for any model cnncalc reads, or a trained model with its weights.

    SOURCE a spec (preset, file, layer text)  -> --to pytorch | keras | layers: code (random weights)
    SOURCE a model file from `cnncalc train`  -> --to pytorch | keras: code + a weights .npz;
                                                 --to onnx: an .onnx file

The translation lives in minigrad.export; this module picks the source and the target, writes the
files and reports the warnings (what the target cannot express exactly) on stderr.
"""

from __future__ import annotations

from pathlib import Path

from minigrad.errors import SpecError
from minigrad.export import for_spec, for_trained

from . import render

CODE_SUFFIX = {"pytorch": ".py", "keras": ".py", "layers": ".txt", "onnx": ".onnx"}


def is_model_file(source: str) -> bool:
    """A model file from `cnncalc train --save` (an .npz), not a description to read."""
    return source.lower().endswith(".npz") and Path(source).is_file()


def weights_path(out: Path) -> Path:
    """Where a trained export's weights go: beside the code, named after it."""
    return out.with_name(f"{out.stem}_weights.npz")


def run_export(source: str, target: str, out: str | None, name: str, load_spec, console,
               err) -> None:
    """Export `source` (load_spec reads a spec the way `cnncalc shapes` does) to `target`."""
    trained = is_model_file(source)
    if trained:
        from minigrad.tools.modelfile import load_model
        exportable = for_trained(load_model(source), name)
    elif target == "onnx":
        raise SpecError("ONNX export carries a trained model's weights: train it first "
                        f"(cnncalc train {source} --save model.npz), then export model.npz "
                        "--to onnx")
    else:
        exportable = for_spec(load_spec(), name)
    if (trained and target != "layers" or target == "onnx") and out is None:
        raise SpecError(f"--out FILE is needed: a trained model's {target} export is "
                        + ("a binary file" if target == "onnx" else "code and a weights file")
                        + f", e.g. --out model{CODE_SUFFIX[target]}")
    out_path = Path(out) if out is not None else None
    if target == "onnx":
        from minigrad.export import onnx
        proto, warnings = onnx.model_proto(exportable)
        out_path.write_bytes(proto.SerializeToString())
        _warn(err, warnings)
        console.print(f"wrote {out_path}; run it with onnxruntime:", markup=False)
        console.print(onnx.usage(exportable, str(out_path)), markup=False, highlight=False)
        return
    export = _code(exportable, target, out_path)
    _warn(err, export.warnings)
    if out_path is None:
        print(export.code, end="")
        return
    out_path.write_text(export.code, encoding="utf-8")
    wrote = [str(out_path)]
    if export.weights is not None:
        import numpy as np
        with open(weights_path(out_path), "wb") as handle:
            np.savez(handle, **export.weights)
        wrote.append(str(weights_path(out_path)))
    run = {"pytorch": f"python {out_path}", "keras": f"KERAS_BACKEND=torch python {out_path}",
           "layers": f"cnncalc shapes {out_path}"}[target]
    console.print(f"wrote {' and '.join(wrote)}; try: {run}", markup=False, highlight=False)


def _code(exportable, target: str, out_path: Path | None):
    weights = weights_path(out_path).name if out_path is not None and exportable.trained else None
    if target == "pytorch":
        from minigrad.export import pytorch
        return pytorch.export(exportable, weights)
    if target == "keras":
        from minigrad.export import keras
        return keras.export(exportable, weights)
    from minigrad.export import layers
    return layers.export(exportable)


def _warn(err, warnings: list[str]) -> None:
    for warning in warnings:
        err.print(f"warning: {render.printable(warning)}", markup=False, highlight=False)
