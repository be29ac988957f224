"""Train the synthetic default person detector: a YOLO nano from scratch, offline.

Frames and true boxes come from *detector-training* sessions, whose subjects and
clothing differ from the benchmark's, so nothing leaks into evaluation.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from lofi.io.atomic import atomic_open
from lofi.io.session import VideoFrames, read_frames_csv
from lofi.vision.offline import prepare_ultralytics

MODEL_CONFIG = "yolov8n.yaml"


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 30
    imgsz: int = 320
    batch: int = 4
    frames_per_session: int = 100
    val_fraction: float = 0.2
    seed: int = 0
    workers: int = 0
    device: str = "cpu"


def build_dataset(sessions: list[Path], out: Path, settings: TrainSettings) -> Path:
    """Write a one-class (person) YOLO data set from session frames and true boxes; returns data.yaml."""
    rng = np.random.default_rng(settings.seed)
    if out.exists():
        shutil.rmtree(out)
    items: list[tuple[np.ndarray, np.ndarray | None]] = []
    for session in sessions:
        truth = pd.read_parquet(session / "truth" / "frames.parquet")
        frames = VideoFrames(session / "video.mp4", len(read_frames_csv(session / "frames.csv")))
        wanted = set(
            np.sort(
                rng.choice(len(truth), min(settings.frames_per_session, len(truth)), replace=False)
            ).tolist()
        )
        for i, image in enumerate(frames):
            if i in wanted and image is not None:
                row = truth.iloc[i]
                box = (
                    None
                    if not row["visible"]
                    else row[["box_x0", "box_y0", "box_x1", "box_y1"]].to_numpy(float)
                )
                items.append((image, box))
    order = rng.permutation(len(items))
    n_val = max(1, round(settings.val_fraction * len(items)))
    for rank, k in enumerate(order):
        split = "val" if rank < n_val else "train"
        image, box = items[k]
        _write_example(out, split, f"{rank:05d}", image, box)
    data_yaml = out / "data.yaml"
    data_yaml.write_text(f"path: {out}\ntrain: images/train\nval: images/val\nnames:\n  0: person\n")
    return data_yaml


def _write_example(root: Path, split: str, stem: str, image: np.ndarray, box: np.ndarray | None) -> None:
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / "images" / split / f"{stem}.jpg"), image)
    lines = ""
    if box is not None:
        h, w = image.shape[:2]
        x0, y0, x1, y1 = box
        lines = f"0 {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}\n"
    (root / "labels" / split / f"{stem}.txt").write_text(lines)


def train_detector(
    sessions: list[Path], weights_out: Path, settings: TrainSettings, name: str = "person"
) -> dict:
    """Train YOLO nano from scratch on the sessions; copy the best weights to ``weights_out``."""
    home = prepare_ultralytics()
    data = build_dataset(sessions, home / "datasets" / name, settings)
    return train_on_dataset(data, weights_out, settings, name)


def train_on_dataset(data: Path, weights_out: Path, settings: TrainSettings, name: str = "person") -> dict:
    """Train YOLO nano from scratch on a YOLO ``data.yaml``; write weights and a JSON report."""
    home = prepare_ultralytics()
    from ultralytics import YOLO

    start = time.perf_counter()
    model = YOLO(MODEL_CONFIG)
    model.train(
        data=str(data),
        epochs=settings.epochs,
        imgsz=settings.imgsz,
        batch=settings.batch,
        device=settings.device,
        workers=settings.workers,
        seed=settings.seed,
        deterministic=True,
        amp=False,
        plots=False,
        pretrained=False,
        project=str(home / "runs"),
        name=name,
        exist_ok=True,
        verbose=False,
    )
    seconds = time.perf_counter() - start
    best = Path(model.trainer.best)
    if not best.is_file():
        best = Path(model.trainer.last)
    metrics = {
        k.replace("metrics/", ""): float(v) for k, v in model.trainer.metrics.items() if "metrics/" in k
    }
    weights_out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(weights_out, "wb") as handle:
        handle.write(best.read_bytes())
    report = {
        "weights": str(weights_out),
        "epochs": settings.epochs,
        "imgsz": settings.imgsz,
        "seconds": round(seconds, 1),
        **metrics,
    }
    with atomic_open(weights_out.with_suffix(".json"), "w") as handle:
        json.dump(report, handle, indent=2)
    return report
