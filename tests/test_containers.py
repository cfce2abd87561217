"""nn.ModuleList and nn.ModuleDict register what they hold under PyTorch's names, and a plain
list / tuple / dict of Modules assigned to a Module is warned about (its weights would not train).

The expected names below are what torch 2.13.0 prints for the same structure (PyTorch's rules:
a ModuleList's items are "0", "1", ... renumbered after insert and del, a ModuleDict's keys keep
their insertion order, parameters of a module held twice are listed once, modules without
parameters take a number but give no names).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import minigrad.engine.nn as nn
from minigrad import Tensor


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 2, 3)
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3)])
        self.blocks.append(nn.Linear(3, 2))
        self.blocks.insert(1, nn.BatchNorm2d(4))
        self.blocks.extend([nn.ReLU(), nn.Linear(2, 2)])
        del self.blocks[2]
        self.heads = nn.ModuleDict({"cls": nn.Linear(2, 3), "box": nn.Linear(2, 4)})
        self.heads["extra"] = nn.ModuleList([nn.Linear(2, 2, bias=False)])
        shared = nn.Linear(2, 2)
        self.heads["shared_a"] = shared
        self.tail = nn.ModuleList([shared, shared])


TORCH_NAMES = [
    "stem.weight", "stem.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
    "blocks.1.bias", "blocks.2.weight", "blocks.2.bias", "blocks.3.weight", "blocks.3.bias",
    "blocks.5.weight", "blocks.5.bias", "heads.cls.weight", "heads.cls.bias", "heads.box.weight",
    "heads.box.bias", "heads.extra.0.weight", "heads.shared_a.weight", "heads.shared_a.bias"]
TORCH_PARAMETER_COUNT = 108  # sum(p.numel() for p in net.parameters())


def test_names_and_counts_match_pytorch():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == TORCH_NAMES
    assert sum(p.size for p in net.parameters()) == TORCH_PARAMETER_COUNT
    assert list(net.heads.keys()) == ["cls", "box", "extra", "shared_a"]
    assert [type(m).__name__ for m in net.blocks] == ["Linear", "BatchNorm2d", "Linear", "Linear",
                                                      "ReLU", "Linear"]


def test_module_list_behaves_as_a_list():
    layers = [nn.Linear(2, 2) for _ in range(4)]
    blocks = nn.ModuleList(layers[:2])
    blocks.extend(layers[2:])
    assert len(blocks) == 4 and list(blocks) == layers
    assert blocks[-1] is layers[3] and blocks.index(layers[2]) == 2
    head = blocks[:2]
    assert isinstance(head, nn.ModuleList) and list(head) == layers[:2]
    assert [name for name, _ in head.named_parameters()] == ["0.weight", "0.bias", "1.weight",
                                                             "1.bias"]
    blocks[0] = nn.ReLU()
    assert [name for name, _ in blocks.named_parameters()][:2] == ["1.weight", "1.bias"]
    with pytest.raises(ValueError, match="not in the ModuleList"):
        blocks.index(layers[0])
    with pytest.raises(TypeError, match="item 4"):
        blocks.append(np.ones(2))
    assert len(blocks) == 4  # nothing changed on error


def test_module_dict_behaves_as_a_dict():
    heads = nn.ModuleDict([("b", nn.Linear(2, 1)), ("a", nn.Linear(2, 3))])
    assert list(heads) == ["b", "a"] and "a" in heads and len(heads) == 2
    assert [name for name, _ in heads.named_parameters()] == ["b.weight", "b.bias", "a.weight",
                                                              "a.bias"]
    removed = heads.pop("b")
    assert isinstance(removed, nn.Linear) and list(heads.keys()) == ["a"]
    assert [k for k, _ in heads.items()] == ["a"] and len(heads.values()) == 1
    with pytest.raises(KeyError):
        heads["missing"]
    with pytest.raises(KeyError, match="'.'"):
        heads["x.y"] = nn.ReLU()
    with pytest.raises(KeyError, match="attribute"):
        heads["training"] = nn.ReLU()


def test_containers_train_and_save_their_modules():
    net = Net()
    net.eval()
    assert not net.blocks[1].training and not net.heads["extra"][0].training
    state = net.state_dict()
    assert "blocks.1.running_mean" in state and "heads.extra.0.weight" in state
    x = Tensor(np.ones((1, 2)), requires_grad=True)
    net.heads["cls"](x).sum().backward()
    assert net.heads["cls"].weight.grad is not None


@pytest.mark.parametrize("value, container", [
    ([nn.Linear(2, 2), nn.ReLU()], "nn.ModuleList"),
    ((nn.ReLU(),), "nn.ModuleList"),
    ({"head": nn.Linear(2, 2)}, "nn.ModuleDict"),
])
def test_plain_containers_of_modules_warn(value, container):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = value

    with pytest.warns(UserWarning, match=f"Model.layers.*not registered.*{container}"):
        model = Model()
    assert model.parameters() == []  # what the warning is about


def test_plain_containers_without_modules_do_not_warn():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.sizes = [1, 2, 3]
            self.names = {"a": 1}
            self.blocks = nn.ModuleList([nn.ReLU()])

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Model()
