"""Time the simulator at smoke scale (2 subjects x 20 s) and paper scale (7 x 5 min).

Sessions run in a pool of one process per core (2 on the reference machine), each
writing video + CSI + truth to a temporary folder. Prints wall-clock seconds and
throughput. Targets: smoke <= 15 s, paper scale <= 300 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from lofi.sim.session import SessionSpec
from lofi.stages.scenes import load_scene
from lofi.stages.simulate import simulate_session

SCENE = "lab"
TARGETS_S = {"smoke": 15.0, "paper": 300.0}


def _one(args: tuple[str, float, str]) -> tuple[int, int]:
    import cv2

    cv2.setNumThreads(1)
    subject, seconds, out = args
    stats = simulate_session(
        load_scene(SCENE), SessionSpec(f"bench_{subject}", (subject,), "paper", "walk", seconds), out, False
    )
    return stats.pings_logged, stats.frames


def run(name: str, subjects: list[str], seconds: float, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(s, seconds, str(Path(tmp) / s)) for s in subjects]
        start = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_one, jobs))
        elapsed = time.perf_counter() - start
    rows = sum(r[0] for r in results)
    frames = sum(r[1] for r in results)
    verdict = "meets" if elapsed <= TARGETS_S[name] else "MISSES"
    print(
        f"simulate {name}: {len(subjects)} x {seconds:g} s -> {rows:,} CSI rows, {frames:,} frames "
        f"in {elapsed:.1f} s with {workers} processes ({frames / elapsed:.0f} frames/s; "
        f"{verdict} the {TARGETS_S[name]:.0f} s target)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes (default: cores)")
    parser.add_argument("--skip-paper", action="store_true", help="only the smoke scale")
    args = parser.parse_args()
    run("smoke", ["S1", "S2"], 20.0, args.workers)
    if not args.skip_paper:
        run("paper", [f"S{i}" for i in range(1, 8)], 300.0, args.workers)


if __name__ == "__main__":
    main()
