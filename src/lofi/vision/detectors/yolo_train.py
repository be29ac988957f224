"""Train a YOLO nano from scratch on a YOLO data set, fully offline (ultralytics)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from lofi.vision.detectors.offline import prepare_ultralytics

MODEL_CONFIG = "yolov8n.yaml"


@dataclass(frozen=True)
class TrainSettings:
    """Detector training: epochs, image size (px), batch, frames sampled per session, validation
    share, seed, data-loader workers and device (``cpu``, ``0``, ``cuda:0``)."""

    epochs: int = 30
    imgsz: int = 320
    batch: int = 4
    frames_per_session: int = 100
    val_fraction: float = 0.2
    seed: int = 0
    workers: int = 0
    device: str = "cpu"


@dataclass(frozen=True)
class TrainedYolo:
    """The best weights ultralytics kept, its validation metrics and the training time (s)."""

    best: Path
    metrics: dict[str, float]
    seconds: float


def train_yolo(data: Path, settings: TrainSettings, name: str = "person") -> TrainedYolo:
    """Train YOLO nano from scratch on a YOLO ``data.yaml`` (ultralytics keeps its runs in its home)."""
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
    return TrainedYolo(best, metrics, seconds)
