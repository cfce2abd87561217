"""Helpers shared by the examples: the command line every example accepts, and data loading.

Not an example itself (the leading underscore keeps it out of the example list)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "output"


def parse_args(doc: str, extra=None) -> argparse.Namespace:
    """--out DIR (where PNGs go) and --full (the complete run instead of the quick one)."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"directory for the pictures (default {DEFAULT_OUT})")
    parser.add_argument("--full", action="store_true", help="the complete (slower) run")
    if extra:
        extra(parser)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def pyplot():
    """matplotlib.pyplot drawing to files only (no window: works on a headless machine), or a
    one-line message saying what to install."""
    try:
        import matplotlib
    except ImportError:
        print('error: this example draws pictures and needs matplotlib: '
              'pip install "cnncalc[plot]"', file=sys.stderr)
        sys.exit(2)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def one_blas_thread() -> None:
    """Run numpy's matrix products on one thread, as `cnncalc train` does by default: on a
    2-core machine two BLAS threads made training slower (see the README's Speed section)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def add_dataset_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist", "shapes"],
                        help="mnist (default; files under $CNNCALC_DATA/mnist), fashion-mnist, or "
                             "the synthetic shapes (no download)")
    parser.add_argument("--download", action="store_true",
                        help="download MNIST into $CNNCALC_DATA (or ~/.cache/cnncalc) if missing")


def load_or_skip(name: str, download: bool):
    """(train, test) datasets; for MNIST-likes without their files, print why and exit 0."""
    from minigrad.tools.data import DataError
    from minigrad.tools.datasets import load_dataset

    try:
        return load_dataset(name, "train", download=download), \
            load_dataset(name, "test", download=download)
    except DataError as error:
        print(f"skipped: {name} is not available ({error}).")
        print("Set CNNCALC_DATA to a directory with mnist/ in it, pass --download, "
              "or try --dataset shapes.")
        sys.exit(0)


def saved(path: Path) -> None:
    print(f"saved {path}")
