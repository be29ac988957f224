"""Train a YOLO nano from scratch on a YOLO data set and export it to ONNX, fully offline (ultralytics).

The export is *dynamic* (batch, height and width are free). ultralytics then letterboxes each
frame as it does for the PyTorch model (scaled to fit ``imgsz``, padded to the next multiple of
32 px, e.g. 640x480 -> 320x256 at imgsz 320), so the boxes match PyTorch's for every frame size
and every inference ``imgsz``. A fixed export instead letterboxes every frame to its one input
shape: a square 320 export moves boxes by up to 19 px on 640x480 frames, and a (256, 320) one
matches PyTorch only for frames that letterbox to 256x320 (4:3 landscape at imgsz 320).
Dynamic costs no speed: on 2 CPU cores, detect + localize of 640x480 frames at imgsz 320 ran
at 96 frames/s (fixed (256, 320): 93; the PyTorch checkpoint: 53).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from lofi.vision.detectors.offline import prepare_ultralytics

MODEL_CONFIG = "yolov8n.yaml"
#: ultralytics export settings of the project's ONNX weights (see the module docstring).
ONNX_EXPORT = {"format": "onnx", "dynamic": True, "simplify": True, "half": False, "nms": False}


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
    model.add_callback("on_fit_epoch_end", _epoch_line(settings.epochs, start))
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


def _epoch_line(epochs: int, start: float):
    """An ultralytics callback printing one line per epoch (its own output is off: verbose=False):
    epoch, elapsed minutes, validation box loss and mAP50 / mAP50-95."""

    def epoch_end(trainer) -> None:
        if trainer.epoch >= epochs:  # ultralytics calls it once more for the final validation
            return
        metrics = {k: float(v) for k, v in (getattr(trainer, "metrics", None) or {}).items()}
        print(
            f"detector epoch {trainer.epoch + 1}/{epochs} ({(time.perf_counter() - start) / 60:.1f} min): "
            f"val box loss {metrics.get('val/box_loss', float('nan')):.3f}, "
            f"mAP50 {metrics.get('metrics/mAP50(B)', float('nan')):.3f}, "
            f"mAP50-95 {metrics.get('metrics/mAP50-95(B)', float('nan')):.3f}",
            flush=True,
        )

    return epoch_end


@dataclass(frozen=True)
class OnnxExport:
    """The ``.onnx`` file ultralytics wrote and the settings it was exported with."""

    path: Path
    settings: dict[str, object]


def export_onnx(checkpoint: Path, imgsz: int) -> OnnxExport:
    """Export a PyTorch checkpoint to dynamic ONNX on the CPU, offline (``imgsz`` px: the tracing size).

    The checkpoint is a pickle and loading it can run code: only export weights you trust, such
    as the ones :func:`train_yolo` just wrote. On the CPU so that ultralytics wants plain
    ``onnxruntime`` (it asks for ``onnxruntime-gpu`` when exporting on a GPU).
    """
    prepare_ultralytics()
    import onnx
    import ultralytics
    from ultralytics import YOLO

    path = Path(YOLO(str(checkpoint)).export(imgsz=imgsz, device="cpu", verbose=False, **ONNX_EXPORT))
    graph = onnx.load(str(path), load_external_data=False)
    opset = max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx"))
    settings = {**ONNX_EXPORT, "imgsz": imgsz, "opset": opset, "ultralytics": ultralytics.__version__}
    return OnnxExport(path, settings)
