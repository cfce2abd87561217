"""Write tests/corpus/goldens/NAME.json from the real frameworks (dev only, never run by pytest).

Every corpus file is a model as tutorials and repositories write it. Its truth comes from really
running it here, with PyTorch 2.13 and Keras 3 on the torch backend; the tests in
tests/test_corpus.py then compare `cnncalc shapes` with these goldens without any framework.

Setup (once; torch comes as a CPU build from a local file, never install another version, never
torchvision):

    pip install torch==2.13.0
    pip install keras

Run (from the repository root):

    KERAS_BACKEND=torch python tests/corpus/make_goldens.py             # every file
    KERAS_BACKEND=torch python tests/corpus/make_goldens.py resnet18_cifar.py notes_net.py
    KERAS_BACKEND=torch python tests/corpus/make_goldens.py --check     # compare, write nothing

Each file runs in its own Python process (a fresh Keras session, so auto-names such as conv2d_1
are the ones that file alone produces), from a temporary directory, with `sys.argv = [file]` and
`__name__ == "__main__"`. There is no tensorflow and no torchvision here: stand-in modules make
`import tensorflow as tf` / `tf.keras` / `from tensorflow.keras.layers import *` resolve to
Keras 3, and `torchvision` datasets/transforms give a few zero images. Training does not happen:
`fit`/`evaluate`/`predict` and `load_data` are stubbed (small zero arrays of the right shapes),
DataLoaders see 4 samples with num_workers=0, `torch.save`, matplotlib, tqdm, torchsummary and
torchinfo are no-ops. Running the corpus in this script is fine (we wrote the files); the product
never runs code.

Header lines each corpus file carries near its top (for notebooks: in the code cells):

    # cnncalc: --input 3x32x32          options a user has to give cnncalc (may be empty)
    # style: pytorch/examples dcgan     the style imitated (no copied code)
    # truth: model=EXPR input=1x3x32x32 [expect=800,400] [note="nn.module typo"] [fix=A->B]

`model=EXPR` is evaluated in the file's namespace after it ran: a model object is used as it is
(a Keras model keeps the names the file gave it); anything else is evaluated again in a fresh
Keras session, and a class is instantiated with no arguments. `input=` is the input with batch
(`:long` / `:int` for token ids); Keras models that state their input omit it. `expect=` marks a
bug file: the framework must fail (an exception, or a PyTorch output whose batch differs from the
input's at batch 2) and cnncalc's error must mention those numbers. `fix=A->B` replaces text A by
B before running (the notes' `nn.module` typo: the golden records the corrected class's numbers).

Golden fields: file, framework, args, total_params, trainable_params, buffers (torch: elements of
floating-point buffers, i.e. BatchNorm running mean/var; num_batches_tracked excluded),
non_trainable_params (keras: count_params() - trainable), output_shape (batch dropped), layers
(torch: every leaf module's output in call order via forward hooks, dotted names from
named_modules(), a module used twice appears twice; keras Sequential/functional: model.layers
without InputLayers, nested models recursed with dotted names `outer.inner`, a shared layer once
per call, a custom Layer that holds layers replaced by the leaf layers it calls (`outer.inner`,
found by calling it on zeros), as the PyTorch goldens list leaf modules; keras subclassed: []),
inputs (keras: the InputLayers' names and shapes, for reference
only), error, note.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDENS = HERE / "goldens"
SUFFIXES = (".py", ".ipynb")


# ---------------------------------------------------------------------------------------------
# Reading a corpus file.
# ---------------------------------------------------------------------------------------------

def source_of(path: Path) -> str:
    """The code of a .py file, or a notebook's code cells in order without IPython % / ! lines."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return text
    cells = json.loads(text)["cells"]
    lines: list[str] = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        src = cell["source"]
        src = "".join(src) if isinstance(src, list) else src
        for line in src.splitlines():
            stripped = line.lstrip()
            lines.append("" if stripped.startswith(("%", "!")) else line)
        lines.append("")
    return "\n".join(lines) + "\n"


_FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')


def headers(source: str) -> dict:
    """The `# cnncalc:`, `# style:` and `# truth:` lines (first of each kind)."""
    found: dict = {"cnncalc": None, "style": None, "truth": {}}
    for line in source.splitlines()[:40]:
        m = re.match(r"\s*#\s*(cnncalc|style|truth):(.*)$", line)
        if not m:
            continue
        kind, rest = m.group(1), m.group(2).strip()
        if kind == "truth":
            found["truth"] = {k: v.strip('"') for k, v in _FIELD.findall(rest)}
        elif found[kind] is None:
            found[kind] = rest
    if found["cnncalc"] is None:
        raise SystemExit("no '# cnncalc:' header line")
    if "model" not in found["truth"]:
        raise SystemExit("no '# truth: model=...' header line")
    return found


# ---------------------------------------------------------------------------------------------
# Stand-ins (child process only).
# ---------------------------------------------------------------------------------------------

def install_stubs() -> None:
    from unittest import mock

    import importlib.machinery

    import keras  # the real frameworks first, before any stand-in can confuse their imports
    import numpy as np
    import torch
    import torch.utils.data

    torch.set_num_threads(1)

    def register(name, module):
        try:
            module.__spec__ = importlib.machinery.ModuleSpec(name, None)
        except AttributeError:
            pass
        sys.modules[name] = module

    # --- matplotlib, tqdm, torchsummary, torchinfo, IPython: no-ops -------------------------
    plt = mock.MagicMock(name="pyplot")
    plt.subplots.side_effect = lambda *a, **k: (mock.MagicMock(), mock.MagicMock())
    mpl = mock.MagicMock(name="matplotlib")
    mpl.pyplot = plt
    register("matplotlib", mpl)
    register("matplotlib.pyplot", plt)
    tqdm = types.ModuleType("tqdm")
    tqdm.tqdm = lambda it=None, *a, **k: it if it is not None else mock.MagicMock()
    tqdm.trange = lambda *a, **k: range(*a)
    for name in ("tqdm", "tqdm.auto", "tqdm.notebook"):
        register(name, tqdm)
    for name in ("torchsummary", "torchinfo"):
        mod = types.ModuleType(name)
        mod.summary = lambda *a, **k: None
        register(name, mod)
    ipy = mock.MagicMock(name="IPython")
    register("IPython", ipy)
    register("IPython.display", ipy.display)

    # --- torch: no saving, DataLoaders without worker processes -----------------------------
    torch.save = lambda *a, **k: None
    # TensorFlow code calls .numpy() on model outputs; Keras' torch tensors may require grad
    tensor_numpy = torch.Tensor.numpy
    torch.Tensor.numpy = lambda self, *a, **k: tensor_numpy(self.detach().cpu(), *a, **k)
    real_loader = torch.utils.data.DataLoader

    class DataLoader(real_loader):
        def __init__(self, dataset, *args, **kwargs):
            kwargs["num_workers"] = 0
            kwargs.pop("pin_memory", None)
            kwargs.pop("persistent_workers", None)
            kwargs.pop("prefetch_factor", None)
            super().__init__(dataset, *args, **kwargs)

    torch.utils.data.DataLoader = DataLoader
    torch.utils.data.dataloader.DataLoader = DataLoader

    # --- torchvision ------------------------------------------------------------------------
    tv = types.ModuleType("torchvision")
    datasets = types.ModuleType("torchvision.datasets")
    transforms = types.ModuleType("torchvision.transforms")
    tvutils = types.ModuleType("torchvision.utils")

    class _Transform:
        def __init__(self, *args, **kwargs):
            self.args, self.kwargs = args, kwargs

        def __call__(self, x):
            return x

    class Compose(_Transform):
        def __init__(self, items):
            super().__init__()
            self.items = list(items)

    for name in ("ToTensor", "Normalize", "Resize", "CenterCrop", "RandomCrop", "Lambda",
                 "RandomHorizontalFlip", "RandomVerticalFlip", "Grayscale", "RandomRotation",
                 "ColorJitter", "RandomResizedCrop", "Pad", "ToPILImage", "RandomAffine"):
        setattr(transforms, name, type(name, (_Transform,), {}))
    transforms.Compose = Compose

    def _size_from(transform, default):
        items = transform.items if isinstance(transform, Compose) else [transform]
        for t in items:
            if type(t).__name__ in ("Resize", "CenterCrop", "RandomCrop", "RandomResizedCrop") \
                    and t.args:
                s = t.args[0]
                return (s, s) if isinstance(s, int) else tuple(s)
        return default

    def make_dataset(name, shape, classes):
        class Fake(torch.utils.data.Dataset):
            def __init__(self, root=None, train=True, download=False, transform=None,
                         target_transform=None, **kwargs):
                c, h, w = shape
                if transform is not None and name in ("ImageFolder", "CelebA", "LSUN"):
                    h, w = _size_from(transform, (h, w))
                self.shape = (c, h, w)
                self.classes = [str(i) for i in range(classes)]
                self.n = 4
                self.data = np.zeros((self.n, h, w) if c == 1 else (self.n, h, w, c), np.uint8)
                self.targets = [0] * self.n

            def __len__(self):
                return self.n

            def __getitem__(self, i):
                return torch.zeros(self.shape), 0
        Fake.__name__ = name
        return Fake

    for name, shape, classes in [("MNIST", (1, 28, 28), 10), ("FashionMNIST", (1, 28, 28), 10),
                                 ("KMNIST", (1, 28, 28), 10), ("EMNIST", (1, 28, 28), 26),
                                 ("CIFAR10", (3, 32, 32), 10), ("CIFAR100", (3, 32, 32), 100),
                                 ("SVHN", (3, 32, 32), 10), ("STL10", (3, 96, 96), 10),
                                 ("ImageFolder", (3, 64, 64), 2), ("CelebA", (3, 64, 64), 2),
                                 ("LSUN", (3, 64, 64), 2)]:
        setattr(datasets, name, make_dataset(name, shape, classes))
    tvutils.save_image = lambda *a, **k: None
    tvutils.make_grid = lambda t, *a, **k: t[0] if hasattr(t, "__getitem__") else t
    tv.datasets, tv.transforms, tv.utils = datasets, transforms, tvutils
    for mod in (tv, datasets, transforms, tvutils):
        register(mod.__name__, mod)

    # --- keras: no training, fake data --------------------------------------------------------

    class History:
        def __init__(self):
            self.history = _ZeroHistory()
            self.epoch = [0]

    class _ZeroHistory(dict):
        def __missing__(self, key):
            return [0.0]

    keras.Model.fit = lambda self, *a, **k: History()
    keras.Model.evaluate = lambda self, *a, **k: [0.0, 0.0]

    def predict(self, x, *a, **k):
        x = np.asarray(x[0] if isinstance(x, (list, tuple)) else x)[:2]
        return keras.ops.convert_to_numpy(self(x))

    keras.Model.predict = predict
    keras.Model.save = lambda self, *a, **k: None
    keras.Model.save_weights = lambda self, *a, **k: None
    keras.Model.load_weights = lambda self, *a, **k: None

    def images(n, h, w, c=None, labels_2d=False):
        shape = (n, h, w) if c is None else (n, h, w, c)
        y = np.zeros((n, 1) if labels_2d else (n,), np.uint8)
        return np.zeros(shape, np.uint8), y

    keras.datasets.mnist.load_data = lambda *a, **k: (images(8, 28, 28), images(4, 28, 28))
    keras.datasets.fashion_mnist.load_data = lambda *a, **k: (images(8, 28, 28),
                                                              images(4, 28, 28))
    keras.datasets.cifar10.load_data = lambda *a, **k: (images(8, 32, 32, 3, True),
                                                        images(4, 32, 32, 3, True))
    keras.datasets.cifar100.load_data = lambda *a, **k: (images(8, 32, 32, 3, True),
                                                         images(4, 32, 32, 3, True))

    def imdb(*a, num_words=None, **k):
        seqs = np.empty(8, dtype=object)
        for i in range(8):
            seqs[i] = [1, 14, 22, 16, 43]
        y = np.zeros(8, np.int64)
        return (seqs, y), (seqs[:4], y[:4])

    keras.datasets.imdb.load_data = imdb

    class FakeTFDataset:
        def __init__(self, x=None, y=None, class_names=None):
            self.x, self.y = x, y
            self.class_names = class_names or ["a", "b", "c", "d", "e"]

        def __getattr__(self, name):
            return lambda *a, **k: self

        def __iter__(self):
            return iter([(self.x, self.y)])

    def image_dataset_from_directory(directory=None, *a, image_size=(256, 256), batch_size=32,
                                     **k):
        h, w = image_size
        return FakeTFDataset(np.zeros((2, h, w, 3), np.float32), np.zeros(2, np.int32))

    keras.utils.image_dataset_from_directory = image_dataset_from_directory
    keras.utils.get_file = lambda *a, **k: tempfile.gettempdir()

    # --- tensorflow: Keras 3 under the names tensorflow code uses ---------------------------
    tf = types.ModuleType("tensorflow")
    tf.__version__ = "2.16.1-stand-in"
    tf.keras = keras
    tf.data = types.SimpleNamespace(
        AUTOTUNE=-1, experimental=types.SimpleNamespace(AUTOTUNE=-1),
        Dataset=types.SimpleNamespace(
            from_tensor_slices=lambda t: FakeTFDataset(*(t if isinstance(t, tuple) else (t,)))))
    tf.random = types.SimpleNamespace(set_seed=keras.utils.set_random_seed,
                                      normal=keras.random.normal)
    tf.config = types.SimpleNamespace(list_physical_devices=lambda *a: [],
                                      experimental=types.SimpleNamespace(
                                          set_memory_growth=lambda *a: None))
    tf.float32, tf.int32, tf.int64 = "float32", "int32", "int64"
    tf.cast = keras.ops.cast
    tf.concat = lambda values, axis: keras.ops.concatenate(values, axis=axis)
    tf.reshape = keras.ops.reshape
    tf.nn = types.SimpleNamespace(relu=keras.ops.relu, softmax=keras.ops.softmax)
    tf.expand_dims = keras.ops.expand_dims
    register("tensorflow", tf)
    sys.modules["tensorflow.keras"] = keras
    for sub in ("layers", "models", "optimizers", "losses", "metrics", "callbacks", "datasets",
                "utils", "regularizers", "initializers", "activations", "backend", "ops",
                "preprocessing"):
        if hasattr(keras, sub):
            sys.modules[f"tensorflow.keras.{sub}"] = getattr(keras, sub)
    keras.preprocessing.image_dataset_from_directory = image_dataset_from_directory


# ---------------------------------------------------------------------------------------------
# Building the truth (child process only).
# ---------------------------------------------------------------------------------------------

def parse_input(text: str | None):
    if not text:
        return None, None
    shape_text, _, dtype = text.partition(":")
    return tuple(int(v) for v in shape_text.split("x")), (dtype or "float")


def first_line(error: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(error).__name__}: {error}".strip())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines)[:500]


def torch_truth(model, shape, dtype) -> dict:
    import torch
    if shape is None:
        raise SystemExit("a PyTorch model needs input= in its truth line")
    model.eval()
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    records: list[dict] = []
    handles = []
    for name, module in leaves:
        if name == "":  # the model itself has no children: one row named after nothing
            name = type(module).__name__

        def hook(mod, inputs, output, name=name):
            if isinstance(output, torch.Tensor):
                records.append({"name": name, "output_shape": list(output.shape[1:])})
        handles.append(module.register_forward_hook(hook))

    def sample(batch):
        if dtype in ("long", "int"):
            return torch.zeros((batch,) + shape[1:], dtype=torch.long)
        return torch.zeros((batch,) + shape[1:])

    with torch.no_grad():
        out = model(sample(shape[0]))
        for h in handles:
            h.remove()
        out2 = model(sample(2))
    if isinstance(out, (tuple, list)):
        out, out2 = out[0], out2[0]
    if out2.shape[0] != 2:
        raise BatchMismatch(f"an input batch of 2 gives an output batch of {out2.shape[0]} "
                            f"(output {tuple(out2.shape)}): a view/reshape moved values between "
                            f"the batch axis and the features")
    params = list(model.parameters())
    return {
        "framework": "torch",
        "total_params": sum(p.numel() for p in params),
        "trainable_params": sum(p.numel() for p in params if p.requires_grad),
        "buffers": sum(b.numel() for b in model.buffers() if b.is_floating_point()),
        "output_shape": list(out.shape[1:]),
        "layers": records,
    }


class BatchMismatch(Exception):
    pass


def sublayers(layer) -> list:
    return list(layer._flatten_layers(include_self=False, recursive=False))


def custom_layer_rows(layer, node, prefix: str) -> list[dict]:
    """Call a custom layer eagerly on zeros shaped like this node's inputs (batch 1) and record
    every leaf layer it calls, named outer.inner."""
    import keras
    import numpy as np
    from keras.src.layers.layer import Layer

    def zeros(t):
        if isinstance(t, keras.KerasTensor):
            return np.zeros((1,) + tuple(t.shape[1:]), dtype=t.dtype)
        return t

    args = keras.tree.map_structure(zeros, node.arguments.args)
    kwargs = keras.tree.map_structure(zeros, node.arguments.kwargs)
    rows: list[dict] = []
    stack: list[str] = []
    original = Layer.__call__

    def recording(self, *a, **k):
        stack.append(self.name)
        try:
            out = original(self, *a, **k)
        finally:
            stack.pop()
        if not sublayers(self) and hasattr(out, "shape"):
            rows.append({"name": prefix + ".".join([layer.name, *stack[1:], self.name]),
                         "output_shape": list(out.shape[1:])})
        return out

    Layer.__call__ = recording
    try:
        layer(*args, **kwargs)
    finally:
        Layer.__call__ = original
    return rows


def keras_truth(model, shape, dtype) -> dict:
    import keras
    import numpy as np
    from keras.src.models.functional import Functional

    graph = isinstance(model, (keras.Sequential, Functional))
    if graph and not model.built and shape is not None:
        model.build(shape)
    if not graph:
        if shape is None:
            raise SystemExit("a subclassed Keras model needs input= in its truth line")
        x = np.zeros(shape, np.int32 if dtype in ("int", "long") else np.float32)
        out = model(x)
        output_shape = list(out.shape[1:])
        records: list[dict] = []
        inputs: list[dict] = []
    else:
        outs = model.outputs
        output_shape = list(outs[0].shape[1:])
        records, inputs = [], []

        def graph_nodes(m):
            fn = m._functional if isinstance(m, keras.Sequential) else m
            return {id(n) for nodes in fn._nodes_by_depth.values() for n in nodes}

        def walk(m, prefix):
            # only the nodes of this model's own graph: a Sequential grown by .add() rebuilt
            # itself several times, and a layer may also sit in another model
            mine = graph_nodes(m)
            for layer in m.layers:
                if isinstance(layer, keras.layers.InputLayer):
                    inputs.append({"name": prefix + layer.name,
                                   "shape": list(layer.output.shape[1:])})
                    continue
                if isinstance(layer, (keras.Sequential, Functional)):
                    walk(layer, prefix + layer.name + ".")
                    continue
                for node in layer._inbound_nodes:
                    if id(node) not in mine:
                        continue
                    if sublayers(layer):
                        # a custom Layer holding layers: its leaves, as PyTorch goldens list
                        # leaf modules (outer.inner names, in call order)
                        records.extend(custom_layer_rows(layer, node, prefix))
                        continue
                    for t in node.output_tensors:
                        records.append({"name": prefix + layer.name,
                                        "output_shape": list(t.shape[1:])})
        walk(model, "")
        if isinstance(model, keras.Sequential) and not inputs:
            inputs.append({"name": None, "shape": list(model.inputs[0].shape[1:])})
    total = int(model.count_params())
    trainable = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    return {
        "framework": "keras",
        "total_params": total,
        "trainable_params": trainable,
        "non_trainable_params": total - trainable,
        "output_shape": output_shape,
        "layers": records,
        "inputs": inputs,
    }


def child(path: Path, out_path: Path) -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    source = source_of(path)
    head = headers(source)
    truth = head["truth"]
    if "fix" in truth:
        old, new = truth["fix"].split("->")
        source = source.replace(old, new)
    install_stubs()
    import keras
    import torch

    shape, dtype = parse_input(truth.get("input"))
    expect = truth.get("expect")
    result: dict = {"file": path.name, "args": _split_args(head["cnncalc"]),
                    "style": head["style"], "error": None, "note": truth.get("note")}
    ns: dict = {"__name__": "__main__", "__file__": str(path), "__builtins__": __builtins__}
    sys.argv = [str(path)]
    work = tempfile.mkdtemp(prefix="cnncalc-corpus-")
    os.chdir(work)
    failure = None
    try:
        code = compile(source, str(path), "exec")
        stdout = sys.stdout
        sys.stdout = open(os.devnull, "w")
        try:
            exec(code, ns)
        finally:
            sys.stdout.close()
            sys.stdout = stdout
        expr = truth["model"]
        obj = ns.get(expr) if expr.isidentifier() else None
        if not isinstance(obj, (torch.nn.Module, keras.Model)):
            keras.backend.clear_session()
            obj = eval(expr, ns)  # dev-only: evaluating our own corpus files
            if isinstance(obj, type):
                obj = obj()
        # Keras 3 models on the torch backend are torch Modules too: ask Keras first
        if isinstance(obj, keras.Model):
            result.update(keras_truth(obj, shape, dtype))
        elif isinstance(obj, torch.nn.Module):
            result.update(torch_truth(obj, shape, dtype))
        else:
            raise SystemExit(f"model={expr} is neither a torch nor a keras model: {type(obj)}")
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 - a bug file's framework error is the truth
        failure = error
    if expect:
        if failure is None:
            raise SystemExit(f"expected an error ({expect}) but the framework accepted it")
        fw = "keras" if "keras" in source and "import torch" not in source else "torch"
        result.update({"framework": result.get("framework", fw), "total_params": None,
                       "trainable_params": None, "output_shape": None, "layers": []})
        result["error"] = {"framework_message": first_line(failure),
                           "expect": expect.split(",")}
    elif failure is not None:
        import traceback
        traceback.print_exception(failure)
        raise SystemExit(f"the framework failed: {first_line(failure)}")
    out_path.write_text(json.dumps(result))


def _split_args(text: str) -> list[str]:
    import shlex
    return shlex.split(text)


# ---------------------------------------------------------------------------------------------
# The corpus README: its file table follows the goldens.
# ---------------------------------------------------------------------------------------------

README_HEAD = """# The model corpus (issue 10)

Model files written the way tutorials and repositories write them: whole scripts with argparse,
data loading and training loops, notebooks, helper- and loop-built nets, residual and U-Net graphs,
Keras in all its styles, 1-D and text models, and the shape bugs learners make. We wrote every
file ourselves in the style named on its `# style:` line; no one's code is copied.

Each file starts with

    # cnncalc: ARGS    what a user has to give `cnncalc shapes` because the file does not say it
    # style: ...       the kind of source imitated
    # truth: ...       read only by make_goldens.py: the real model and its input

`goldens/NAME.json` holds what PyTorch 2.13 and Keras 3 (torch backend) say about each file:
total and trainable parameters, buffers (PyTorch), non-trainable parameters (Keras), the output
shape, and every leaf layer's output shape by name. `tests/test_corpus.py` compares
`cnncalc shapes FILE -f json ARGS` with them, with no framework installed;
`tests/test_corpus_fuzz.py` mutates these files and demands exit 0 or 2 and never a traceback.

Regenerate the goldens (by hand, never in the default test run; this table is rewritten too):

    pip install torch==2.13.0   # CPU build from a local file; no other version, no torchvision
    pip install keras
    KERAS_BACKEND=torch python tests/corpus/make_goldens.py            # all files
    KERAS_BACKEND=torch python tests/corpus/make_goldens.py FILE ...   # some
    KERAS_BACKEND=torch python tests/corpus/make_goldens.py --check    # compare only
"""


def write_readme() -> None:
    def category(d):
        name = d["file"]
        if name.startswith("notes_"):
            return 0, "The study notes' own code"
        if name.startswith("bug_"):
            return 4, "Shape bugs learners make (each golden is an error)"
        if name.endswith(".ipynb"):
            return 3, "Notebooks"
        return (1, "PyTorch files") if d["framework"] == "torch" else (2, "Keras / tf.keras files")

    groups: dict = {}
    for path in sorted(GOLDENS.glob("*.json")):
        d = json.loads(path.read_text(encoding="utf-8"))
        if d["error"]:
            truth = "error: must mention " + ", ".join(d["error"]["expect"])
        else:
            truth = f"{d['total_params']:,} params, output {d['output_shape']}"
        args = " ".join(d["args"]) or "(nothing)"
        groups.setdefault(category(d), []).append(
            f"| `{d['file']}` | {d['framework']} | `{args}` | {truth} | {d['style']} |")
    parts = [README_HEAD]
    for (_, title), rows in sorted(groups.items()):
        parts.append(f"## {title} ({len(rows)})\n\n| file | framework | args | truth | style |\n"
                     "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    (HERE / "README.md").write_text("\n".join(parts), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# The parent: one process per file, goldens written in a fixed key order.
# ---------------------------------------------------------------------------------------------

ORDER = ["file", "framework", "args", "style", "total_params", "trainable_params", "buffers",
         "non_trainable_params", "output_shape", "layers", "inputs", "error", "note"]


def dump(golden: dict) -> str:
    ordered = {k: golden[k] for k in ORDER if k in golden}
    lines = ["{"]
    items = list(ordered.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key in ("layers", "inputs") and value:
            lines.append(f'  "{key}": [')
            for j, row in enumerate(value):
                c = "," if j < len(value) - 1 else ""
                lines.append("    " + json.dumps(row) + c)
            lines.append("  ]" + comma)
        else:
            lines.append(f'  "{key}": {json.dumps(value)}{comma}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def corpus_files(names: list[str]) -> list[Path]:
    if names:
        return [HERE / Path(n).name for n in names]
    return sorted(p for p in HERE.iterdir() if p.suffix in SUFFIXES and p.name != Path(
        __file__).name and not p.name.startswith("_"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="corpus file names (default: all)")
    parser.add_argument("--check", action="store_true", help="compare with the goldens only")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        child(Path(opts.child[0]), Path(opts.child[1]))
        return 0
    GOLDENS.mkdir(exist_ok=True)
    env = dict(os.environ, KERAS_BACKEND="torch", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONWARNINGS="ignore", TF_CPP_MIN_LOG_LEVEL="3")
    bad = 0
    for path in corpus_files(opts.files):
        start = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "golden.json"
            proc = subprocess.run([sys.executable, __file__, "--child", str(path), str(out)],
                                  env=env, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0 or not out.exists():
                bad += 1
                tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
                print(f"FAIL  {path.name}: {tail}")
                if os.environ.get("VERBOSE"):
                    print(proc.stderr)
                continue
            golden = json.loads(out.read_text())
        target = GOLDENS / (path.stem + path.suffix.replace(".", "_") + ".json") \
            if path.suffix == ".ipynb" else GOLDENS / (path.stem + ".json")
        text = dump(golden)
        status = "ok"
        if opts.check:
            status = "same" if target.exists() and target.read_text() == text else "DIFFERENT"
            bad += status != "same"
        else:
            target.write_text(text)
        if golden["error"]:
            what = f"error: {golden['error']['framework_message'][:90]}"
        else:
            what = (f"{golden['framework']:5} total={golden['total_params']:,} "
                    f"out={golden['output_shape']} rows={len(golden['layers'])}")
        print(f"{status:5} {path.name:42} {what}  ({time.time() - start:.1f} s)")
    if not opts.check:
        write_readme()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
