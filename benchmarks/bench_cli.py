"""Time the ``lofi`` command's start-up: ``lofi --help`` builds the whole parser.

Heavy libraries (numpy, OpenCV, pandas, torch) are imported only when a command
runs, so listing the commands stays instant. Target: <= 0.4 s on 2 cores.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.4
COMMANDS = (["--help"], ["csi", "--help"], ["label-quality", "--help"])


def time_command(args: list[str], repeats: int = 5) -> float:
    """Median wall time (s) of ``lofi ARGS`` over ``repeats`` runs."""
    lofi = Path(sys.executable).with_name("lofi")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([str(lofi), *args], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    for args in COMMANDS:
        seconds = time_command(args)
        verdict = "meets" if seconds <= TARGET_S else "MISSES"
        print(f"lofi {' '.join(args)}: {seconds:.3f} s (median of 5; {verdict} the {TARGET_S:g} s target)")


if __name__ == "__main__":
    main()
