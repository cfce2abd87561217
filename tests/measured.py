"""Run one `python -m cnncalc` command in a child process and measure that command alone: its
exit status, output, wall and CPU seconds, and peak resident memory.

The command runs under a small wrapper process that reports getrusage of its own children. The
wrapper is needed: Linux carries a process's peak RSS over fork and exec, so a command started
straight from pytest would report pytest's own peak (a gigabyte after the engine's tests), not
its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SECONDS = 10          # a reproducer's bound: CPU seconds (a loaded machine gets 3× on the wall)
PEAK_BYTES = 2**30    # and 1 GiB of peak memory

MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # KiB except on macOS
open(sys.argv[1], "w").write(json.dumps({"status": done.returncode, "peak": peak,
                                         "cpu": usage.ru_utime + usage.ru_stime}))
"""


@dataclass
class Run:
    status: int
    out: str
    err: str
    seconds: float
    cpu: float
    peak: int     # bytes


def run_cnncalc(tmp_path: Path, *args) -> Run:
    """`python -m cnncalc ARGS` in `tmp_path`, wide output without colour, no --debug."""
    report = tmp_path / "measure.json"
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("CNNCALC_DEBUG", None)
    start = time.monotonic()
    child = subprocess.Popen([sys.executable, "-c", MEASURE, str(report), sys.executable, "-m",
                              "cnncalc", *map(str, args)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=tmp_path,
                             env=env, start_new_session=True)
    try:
        out, err = child.communicate(timeout=SECONDS * 3)
    except subprocess.TimeoutExpired:  # stop the command too, not only the wrapper
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        pytest.fail(f"{args}: still running after {SECONDS * 3} s")
    measured = json.loads(report.read_text())
    return Run(measured["status"], out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
               time.monotonic() - start, measured["cpu"], measured["peak"])
