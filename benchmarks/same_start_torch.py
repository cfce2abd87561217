"""Train a preset in PyTorch from minigrad's initial weights, fed minigrad's batches: an accuracy
yardstick for `cnncalc train` (same model, same start, same data order; only the engine differs).

    python benchmarks/same_start_torch.py mnist-cnn --batch-size 32 --epochs 5 --seed 0

Compare with `cnncalc train PRESET --dataset mnist --batch-size B --epochs E --seed S`.
Needs torch and real MNIST (CNNCALC_DATA or --data-dir).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch_twin import torch_twin

import minigrad
from minigrad.tools.build import build_model
from minigrad.tools.data import DataLoader
from minigrad.tools.datasets import load_dataset
from minigrad.readers import load_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    train = load_dataset("mnist", "train", data_dir=args.data_dir)
    test = load_dataset("mnist", "test", data_dir=args.data_dir)
    minigrad.manual_seed(args.seed)  # as cnncalc train does before building the model
    model = torch_twin(build_model(load_spec(args.preset).graph))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = DataLoader(train, args.batch_size, shuffle=True, seed=args.seed)
    for epoch in range(args.epochs):
        started = time.perf_counter()
        for x, y in loader.batches(epoch):
            loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(y))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(torch.from_numpy(test.x)).argmax(1).numpy() == test.y).mean()
        model.train()
        print(f"epoch {epoch + 1}: test accuracy {accuracy:.4f} "
              f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
