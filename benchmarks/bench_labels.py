"""Frames per second of detect + localize on 640x480 video, per detector, on this machine.

Simulates a short walking session (or uses --session), then times each detector
over its frames (decode + detect + eq. 1 + floor mapping). The default detector is
also timed with its box bottoms refined against the empty room (that adds one
pass over the video for the median background, a fixed cost per session, which a
short benchmark session makes look larger than in a 5-minute one). YOLO uses the trained
synthetic detector (ONNX weights made by the pipeline, data/detector/; a PyTorch .pt only with
--trust-weights, e.g. to compare runtimes). Target for
the default detector: >= 30 frames/s on 2 CPU cores (real time for a 30 Hz webcam).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from lofi.io.session import read_yaml
from lofi.io.video import read_video_frames
from lofi.sim.session import SessionSpec
from lofi.stages.detect import detect_session
from lofi.stages.paths import DEFAULT_WEIGHTS
from lofi.stages.scenes import load_scene
from lofi.stages.simulate import simulate_session
from lofi.vision.calibration import load_calibration
from lofi.vision.detectors import make_detector
from lofi.vision.detectors.yolo import WeightsError, WeightsNotFoundError
from lofi.vision.foot_refine import FootRefineOptions
from lofi.vision.localize import localize

ROOT = Path(__file__).resolve().parents[1]
TARGET_FPS = 30.0


def time_detector(
    session: Path,
    name: str,
    weights: str,
    foot_point: str = "upright",
    refine: bool = False,
    trust_weights: bool = False,
) -> tuple[float, int]:
    """Frames/s (and frame count) of detect (+ refinement) + localize over ``session``."""
    options = {"weights": weights, "trust_weights": trust_weights} if name == "yolo" else {}
    detector = make_detector(name, **options)
    list(detector.detect(read_video_frames(session / "video.mp4", [0])))  # warm-up: lazy model setup
    start = time.perf_counter()
    run = detect_session(session, detector, progress=False, refine=FootRefineOptions() if refine else None)
    calibration, region = load_calibration(read_yaml(session / "calibration.yaml"), "calibration.yaml")
    positions = localize(run.table, calibration, region, foot_point=foot_point)
    elapsed = time.perf_counter() - start
    assert isinstance(positions, pd.DataFrame)
    return len(run.table) / elapsed, len(run.table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--session", help="an existing session folder (default: simulate 12 s)")
    parser.add_argument("--weights", default=str(ROOT / DEFAULT_WEIGHTS), help="(default: %(default)s)")
    parser.add_argument(
        "--trust-weights", action="store_true", help="allow a .pt (a pickle: it can run code when loaded)"
    )
    parser.add_argument("--detectors", default="yolo,bgsub,haar,hog")
    parser.add_argument(
        "--foot-point", choices=("bottom_middle", "upright"), default="upright", help="(default: %(default)s)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        session = Path(args.session) if args.session else Path(tmp) / "bench"
        if not args.session:
            simulate_session(
                load_scene("lab"),
                SessionSpec("bench", ("S2",), "paper", "walk", 12.0),
                session,
                False,
            )
        runs = [(name, False) for name in args.detectors.split(",")]
        runs.insert(1, (runs[0][0], True))
        for name, refine in runs:
            try:
                fps, frames = time_detector(
                    session, name, args.weights, args.foot_point, refine, args.trust_weights
                )
            except (WeightsNotFoundError, WeightsError) as err:
                print(f"labels {name}: skipped ({err})")
                continue
            verdict = (
                ""
                if name != "yolo"
                else (" (meets" if fps >= TARGET_FPS else " (MISSES")
                + f" the {TARGET_FPS:.0f} frames/s target)"
            )
            what = "detect + refine bottoms + localize" if refine else "detect + localize"
            print(f"labels {name}: {what} {frames} frames of 640x480 at {fps:.1f} frames/s{verdict}")


if __name__ == "__main__":
    main()
