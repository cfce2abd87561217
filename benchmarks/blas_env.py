"""Run a benchmark on the OpenBLAS kernel a user's machine gets. An environment that sets
OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE (this machine's can pin the AVX2 "Haswell" kernel on an
AVX-512 CPU, half the GEMM speed) is dropped from the benchmark's own process: OpenBLAS reads
them once, when numpy loads it, so the script starts itself again without them. Only that
process (and those it starts) loses them; tests and CI keep theirs.

Call restart_without_blas_overrides() at the top of a script, before numpy is imported.
"""

from __future__ import annotations

import os
import sys

BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def restart_without_blas_overrides(*extra_args: str) -> None:
    """Start this script again without the overrides, if any is set, passing extra_args plus
    the removed settings as "NAME=VALUE NAME=VALUE" when extra_args is given (so the new
    process can record what it dropped); return if none is set."""
    removed = " ".join(f"{name}={os.environ[name]}" for name in BLAS_OVERRIDES
                       if name in os.environ)
    if not removed:
        return
    clean = {name: value for name, value in os.environ.items() if name not in BLAS_OVERRIDES}
    arguments = [*sys.orig_argv, *extra_args, removed] if extra_args else sys.orig_argv
    os.execve(sys.executable, arguments, clean)
