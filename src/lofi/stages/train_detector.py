"""Stage ``train-detector``: the synthetic default person detector, from detector-training sessions.

Frames and true boxes come from *detector-training* sessions, whose subjects and
clothing differ from the benchmark's, so nothing leaks into evaluation. Writes the
weights as ONNX (data, not code: see :mod:`lofi.vision.detectors.yolo`) and a JSON report
beside them (their SHA-256, export settings, training settings, metrics, seconds). The
PyTorch checkpoint stays in ultralytics' run folder.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np

from lofi.io.atomic import atomic_open
from lofi.io.json_report import write_json
from lofi.io.session import SESSION_FRAMES, SESSION_VIDEO, TRUTH_FRAMES
from lofi.io.tables import read_table
from lofi.io.video import VideoFrames, read_frames_csv
from lofi.io.yolo_dataset import write_data_yaml, write_example
from lofi.vision.detectors.offline import prepare_ultralytics
from lofi.vision.detectors.yolo import ONNX
from lofi.vision.detectors.yolo_train import TrainSettings, export_onnx, train_yolo


def sampled_examples(
    sessions: list[Path], frames_per_session: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """``frames_per_session`` random frames of each session with its true person box (None: not visible)."""
    items: list[tuple[np.ndarray, np.ndarray | None]] = []
    for session in sessions:
        truth = read_table(session / TRUTH_FRAMES, "truth")
        frames = VideoFrames(session / SESSION_VIDEO, len(read_frames_csv(session / SESSION_FRAMES)))
        count = min(frames_per_session, len(truth))
        wanted = set(np.sort(rng.choice(len(truth), count, replace=False)).tolist())
        for i, image in enumerate(frames):
            if i in wanted and image is not None:
                row = truth.iloc[i]
                box = (
                    row[["box_x0", "box_y0", "box_x1", "box_y1"]].to_numpy(float) if row["visible"] else None
                )
                items.append((image, box))
    return items


def build_dataset(sessions: list[Path], out: Path, settings: TrainSettings) -> Path:
    """Write a one-class (person) YOLO data set from session frames and true boxes; returns data.yaml.

    A share ``val_fraction`` of the shuffled frames (at least one) is the validation split.
    """
    rng = np.random.default_rng(settings.seed)
    if out.exists():
        shutil.rmtree(out)
    items = sampled_examples(sessions, settings.frames_per_session, rng)
    order = rng.permutation(len(items))
    n_val = max(1, round(settings.val_fraction * len(items)))
    for rank, k in enumerate(order):
        image, box = items[k]
        write_example(out, "val" if rank < n_val else "train", f"{rank:05d}", image, box)
    return write_data_yaml(out)


def check_weights_out(weights_out: Path) -> None:
    """Refuse an output name other than ``*.onnx`` (the detector loads ONNX weights without trust)."""
    if weights_out.suffix.lower() != ONNX:
        raise ValueError(f"{weights_out}: train-detector writes ONNX weights; give an --out ending in {ONNX}")


def train_on_dataset(data: Path, weights_out: Path, settings: TrainSettings, name: str = "person") -> dict:
    """Train YOLO nano on a YOLO ``data.yaml``, export it to ``weights_out`` (.onnx) with a JSON report."""
    check_weights_out(weights_out)
    trained = train_yolo(data, settings, name)
    exported = export_onnx(trained.best, settings.imgsz)
    content = exported.path.read_bytes()
    with atomic_open(weights_out, "wb") as handle:
        handle.write(content)
    report = {
        "weights": str(weights_out),
        "sha256": hashlib.sha256(content).hexdigest(),
        "export": exported.settings,
        "epochs": settings.epochs,
        "imgsz": settings.imgsz,
        "seconds": round(trained.seconds, 1),
        **trained.metrics,
    }
    write_json(weights_out.with_suffix(".json"), report)
    return report


def run_train_detector(
    sessions: list[Path], weights_out: Path, settings: TrainSettings, name: str = "person"
) -> dict:
    """Build the data set from ``sessions`` (in ultralytics' home), train, and write ``weights_out``."""
    check_weights_out(weights_out)
    home = prepare_ultralytics()
    data = build_dataset(sessions, home / "datasets" / name, settings)
    return train_on_dataset(data, weights_out, settings, name)
