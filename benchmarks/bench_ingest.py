"""Time CSI ingest at paper scale: 7 subjects x 5 min x 100 Hz (~210 000 CSI frames).

Set-up (not timed): CSI-only synthetic sessions (csi.csv + session.yaml) and a
positions table per session at a 30 Hz camera clock, taken from the simulator's
truth. Timed: parse + loss detection (eq. 4) + fill + alignment (eq. 5) + writing
csi.parquet, aligned.parquet and the data set, for all sessions, in a pool of one
process per core. Target: <= 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.csi.complete import CompletionOptions
from lofi.io.esp32.reader import read_csi_log
from lofi.io.session import write_yaml
from lofi.sim.session import SessionSpec, simulate_csi_only
from lofi.stages.align import run_align
from lofi.stages.csi import run_csi
from lofi.stages.dataset import SessionInputs, build_dataset
from lofi.stages.scenes import load_scene
from lofi.stages.simulate import write_csi_log

SCENE = "lab"
TARGET_S = 5.0
SINGLE_TARGET_S = 2.0
SINGLE_SECONDS = 2330.0  # 100 Hz pings, ~10 % lost: ~210 000 logged rows
CAMERA_HZ = 30.0


def make_session(args: tuple[str, float, str]) -> int:
    """Write a CSI-only session and its positions; returns the pings sent."""
    subject, seconds, out = args
    folder = Path(out)
    folder.mkdir(parents=True)
    scene = load_scene(SCENE)
    spec = SessionSpec(f"bench_{subject}", (subject,), "paper", "walk", seconds)
    truth = write_csi_log(scene, spec, simulate_csi_only(scene, spec), folder / "csi.csv")
    write_yaml(
        folder / "session.yaml",
        {"id": spec.session_id, "subjects": [subject], "csi_rate_hz": 100.0, "camera_rate_hz": CAMERA_HZ},
    )
    seen = truth[np.isfinite(truth["t_host"])]  # pings lost before the host saw them have no host time
    t = np.arange(seen["t_host"].iloc[0], seen["t_host"].iloc[-1], 1.0 / CAMERA_HZ)
    positions = pd.DataFrame(
        {
            "frame": np.arange(len(t)),
            "t_host": t,
            "x_m": np.interp(t, seen["t_host"], seen["x_m"]),
            "y_m": np.interp(t, seen["t_host"], seen["y_m"]),
            "valid": True,
            "reason": "",
        }
    )
    positions.to_parquet(folder / "positions.parquet")
    return len(truth)


def ingest_one(folder: str) -> int:
    """csi -> align for one session folder (writing into it); returns the CSI rows."""
    session = Path(folder)
    run_csi(session, CompletionOptions(), session / "csi.parquet")
    aligned = run_align(
        session, session / "csi.parquet", session / "positions.parquet", session / "aligned.parquet"
    )
    return len(aligned.table)


def time_single_file(seconds: float, repeats: int = 3) -> None:
    """``lofi csi`` end to end (process start, read, complete, write) on one long session's log."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "long"
        make_session(("S1", seconds, str(folder)))
        lofi = Path(sys.executable).with_name("lofi")
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = Path(tmp) / "interim" / "csi.parquet"  # never into the raw session (lofi refuses)
            subprocess.run([str(lofi), "csi", str(folder), "--out", str(out)], check=True,
                           capture_output=True)  # fmt: skip
            times.append(time.perf_counter() - start)
        rows = len(read_csi_log(folder / "csi.csv"))
    best = float(np.median(times))
    verdict = "meets" if best <= SINGLE_TARGET_S else "MISSES"
    print(
        f"lofi csi on one {rows:,}-row esp-radar log: {best:.2f} s end to end (median of {repeats}; "
        f"{rows / best:,.0f} rows/s; {verdict} the {SINGLE_TARGET_S:g} s target)"
    )


def run(subjects: list[str], seconds: float, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folders = [str(Path(tmp) / s) for s in subjects]
        with ProcessPoolExecutor(workers) as pool:
            sent = sum(
                pool.map(make_session, [(s, seconds, f) for s, f in zip(subjects, folders, strict=True)])
            )
            list(pool.map(_warm, range(workers)))
            start = time.perf_counter()
            rows = sum(pool.map(ingest_one, folders))
        build_dataset("bench", [SessionInputs.from_folder(f) for f in folders], Path(tmp) / "processed")
        elapsed = time.perf_counter() - start
    verdict = "meets" if elapsed <= TARGET_S else "MISSES"
    print(
        f"ingest paper scale: {len(subjects)} x {seconds:g} s -> {rows:,} CSI frames ({sent:,} pings) "
        f"parsed, loss-filled, aligned and written in {elapsed:.2f} s with {workers} processes "
        f"({rows / elapsed:,.0f} frames/s; {verdict} the {TARGET_S:g} s target)"
    )


def _warm(_: int) -> None:
    """Import the heavy modules in each worker before timing."""
    import pyarrow.parquet  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=7, help="sessions (default: 7)")
    parser.add_argument("--seconds", type=float, default=300.0, help="seconds per session (default: 300)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes")
    parser.add_argument(
        "--single-seconds",
        type=float,
        default=SINGLE_SECONDS,
        help="length of the one-file log (s; 0 skips it)",
    )
    args = parser.parse_args()
    run([f"S{i + 1}" for i in range(args.subjects)], args.seconds, args.workers)
    if args.single_seconds:
        time_single_file(args.single_seconds)


if __name__ == "__main__":
    main()
