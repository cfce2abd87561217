"""The sane ranges of the training settings, shared by the command-line options (checked before
any work starts) and by the checkpoints `cnncalc train --resume` reads back."""

from __future__ import annotations

import os

CORES = os.cpu_count() or 1
MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 1_000_000
MAX_SEED = 2**32 - 1          # numpy's classic seed range
MAX_LIMIT = 2**40             # --limit: more images than any dataset
