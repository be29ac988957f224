"""ultralytics trains, exports to ONNX and predicts with the network cut off; ONNX weights load as data.

One module-scoped tiny model (one epoch on ten 96x128 images) serves every test: its boxes are
junk, but its ONNX export must give the same junk as its PyTorch checkpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import pickle
import socket
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from lofi.io.yolo_dataset import write_example
from lofi.stages.train_detector import train_on_dataset
from lofi.vision.detectors.base import select_person
from lofi.vision.detectors.offline import prepare_ultralytics, ultralytics_home
from lofi.vision.detectors.yolo import (
    WeightsError,
    WeightsNotFoundError,
    YoloDetector,
    checked_weights,
    letterbox_shape,
)
from lofi.vision.detectors.yolo_train import TrainSettings

RUN = "offline-test"


def refuse_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every attempt to open a connection or resolve a name fail; returns the attempts."""
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to open a connection or resolve a name fails the test."""
    return refuse_network(monkeypatch)


def tiny_dataset(root: Path) -> Path:
    """Ten 96x128 images with one dark upright 'person' rectangle each."""
    rng = np.random.default_rng(0)
    for k in range(10):
        image = np.full((96, 128, 3), 200, np.uint8)
        x, y = int(rng.integers(10, 90)), int(rng.integers(5, 30))
        cv2.rectangle(image, (x, y), (x + 18, y + 55), (40, 40, 160), -1)
        box = np.array([x, y, x + 18, y + 55], float)
        write_example(root, "val" if k < 2 else "train", f"{k:03d}", image, box)
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: person\n")
    return data


@dataclass
class TinyModel:
    """The exported weights, the PyTorch checkpoint they came from, the report, and what training did."""

    onnx: Path
    checkpoint: Path
    report: dict
    network_attempts: list[str]
    root: Path
    printed: str = ""

    def images(self) -> list[np.ndarray]:
        return [cv2.imread(str(p)) for p in sorted((self.root / "dataset" / "images").rglob("*.jpg"))]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> TinyModel:
    """Train and export a tiny model through ``train_on_dataset``, offline, in a fresh folder."""
    root = tmp_path_factory.mktemp("tiny-yolo")
    with pytest.MonkeyPatch.context() as mp:
        attempts = refuse_network(mp)
        mp.chdir(root)
        data = tiny_dataset(root / "dataset")
        onnx = root / "models" / "tiny.onnx"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            report = train_on_dataset(data, onnx, TrainSettings(epochs=1, imgsz=64, batch=4), name=RUN)
    checkpoint = ultralytics_home() / "runs" / RUN / "weights" / "best.pt"
    return TinyModel(onnx, checkpoint, report, attempts, root, printed.getvalue())


def test_training_prints_one_line_per_epoch(tiny):
    lines = [line for line in tiny.printed.splitlines() if line.startswith("detector epoch ")]
    assert len(lines) == 1 and lines[0].startswith("detector epoch 1/1 (") and "mAP50" in lines[0]


def test_training_and_export_run_offline(tiny):
    assert tiny.network_attempts == []
    assert not (tiny.root / "mlflow.db").exists() and not (tiny.root / "mlruns").exists()
    assert (ultralytics_home() / "Ultralytics" / "Arial.ttf").is_file()
    content = tiny.onnx.read_bytes()
    assert content[:2] != b"PK" and content[:1] != b"\x80"  # neither a torch zip nor a pickle
    report = json.loads(tiny.onnx.with_suffix(".json").read_text())
    assert report == tiny.report
    assert report["sha256"] == hashlib.sha256(content).hexdigest()
    assert report["export"]["format"] == "onnx" and report["export"]["dynamic"] is True
    assert report["export"]["imgsz"] == 64 and report["epochs"] == 1


def test_onnx_inference_runs_offline(tiny, no_network):
    detector = YoloDetector(weights=tiny.onnx, imgsz=64, conf=0.0001)
    (detections,) = list(detector.detect(tiny.images()[:1]))
    # At a confidence floor of 1e-4 even a one-epoch model returns candidate boxes: all of the
    # one class it was trained on, inside the image, and eq. (1) keeps the most confident.
    assert len(detections) > 0 and set(detections.classes) == {"person"}
    assert np.all(detections.boxes[:, 2:] > detections.boxes[:, :2])
    assert np.all((detections.boxes >= -1) & (detections.boxes <= 129))
    kept = select_person(detections)
    assert kept is not None and kept[1] == pytest.approx(detections.scores.max())
    assert no_network == []


def every_candidate(detector: YoloDetector, frames: list[np.ndarray]) -> list[np.ndarray]:
    """All boxes (xyxy px) the model outputs for each frame: no confidence floor, NMS suppresses nothing."""
    results = detector.model.predict(
        frames, imgsz=detector.imgsz, conf=0.0, iou=1.0, max_det=100_000, verbose=False
    )
    return [r.boxes.xyxy.cpu().numpy() for r in results]


def largest_difference(a: np.ndarray, b: np.ndarray) -> float:
    """The largest coordinate difference (px) between two box sets, paired one-to-one at least cost."""
    assert a.shape == b.shape
    cost = np.abs(a[:, None, :] - b[None, :, :]).max(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max())


SIZES = {"640x480": (640, 480), "1280x720": (1280, 720), "480x640": (480, 640)}


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_onnx_gives_the_pytorch_boxes(tiny, size):
    """Every candidate box, not eq. (1)'s pick: a one-epoch model's scores are near ties, where which
    box survives NMS or the floor is float rounding; comparing all boxes is stricter and stable."""
    frames = [cv2.resize(image, size) for image in tiny.images()[:3]]
    onnx = YoloDetector(weights=tiny.onnx, imgsz=320)
    pytorch = YoloDetector(weights=tiny.checkpoint, imgsz=320, trust_weights=True)
    for a, b in zip(every_candidate(onnx, frames), every_candidate(pytorch, frames), strict=True):
        assert len(a) > 0
        assert largest_difference(a, b) <= 0.5


def unpickling_trap(monkeypatch: pytest.MonkeyPatch) -> type[Exception]:
    """Make torch.load, torch.jit.load and pickle's loaders raise; returns the error they raise."""
    import ultralytics.nn.tasks
    import ultralytics.utils.patches

    class UnpicklingAttemptedError(Exception):
        pass

    def trap(*args, **kwargs):
        raise UnpicklingAttemptedError(f"unpickling attempted: {args[:1]!r}")

    for owner, name in [
        (torch, "load"),
        (torch.serialization, "load"),
        (torch.jit, "load"),
        (pickle, "load"),
        (pickle, "loads"),
        (pickle, "Unpickler"),
        (ultralytics.nn.tasks, "torch_load"),
        (ultralytics.utils.patches, "torch_load"),
    ]:
        monkeypatch.setattr(owner, name, trap)
    return UnpicklingAttemptedError


def test_onnx_weights_never_reach_a_pickle_loader(tiny, monkeypatch):
    prepare_ultralytics()
    trapped = unpickling_trap(monkeypatch)
    detector = YoloDetector(weights=tiny.onnx, imgsz=320, conf=0.0001)
    frames = [cv2.resize(image, (640, 480)) for image in tiny.images()[:2]]
    assert all(len(d) > 0 for d in detector.detect(frames))
    # The trap works: the PyTorch checkpoint, trusted, cannot load under it.
    with pytest.raises(WeightsError) as refused:
        YoloDetector(weights=tiny.checkpoint, trust_weights=True)
    assert isinstance(refused.value.__cause__, trapped)


def test_a_fixed_size_export_refuses_frames_it_would_letterbox_differently(tiny, tmp_path):
    prepare_ultralytics()
    from ultralytics import YOLO

    fixed = Path(YOLO(str(tiny.checkpoint)).export(format="onnx", imgsz=(256, 320), device="cpu"))
    detector = YoloDetector(weights=fixed, imgsz=320, conf=0.0001)
    assert detector.fixed_input == (256, 320)
    landscape = [cv2.resize(image, (640, 480)) for image in tiny.images()[:1]]
    assert len(next(detector.detect(landscape))) > 0
    portrait = [cv2.resize(image, (480, 640)) for image in tiny.images()[:1]]
    with pytest.raises(WeightsError, match=r"fixed 256x320 .*480x640 frames .*320x256.*dynamic=True"):
        next(detector.detect(portrait))


@pytest.mark.parametrize("height, width", [(480, 640), (720, 1280), (640, 480), (96, 128), (1080, 1920)])
def test_letterbox_shape_is_ultralytics_own(height, width):
    prepare_ultralytics()
    from ultralytics.data.augment import LetterBox

    image = np.zeros((height, width, 3), np.uint8)
    expected = LetterBox((320, 320), auto=True, stride=32)(image=image).shape[:2]
    assert letterbox_shape((height, width), 320) == expected


def test_pytorch_weights_need_trust_and_other_formats_are_refused(tmp_path):
    pt = tmp_path / "model.pt"
    pt.write_bytes(b"not even opened")
    with pytest.raises(WeightsError, match=r"model\.pt.*--trust-weights.*pickle"):
        checked_weights(pt)
    assert checked_weights(pt, trust_weights=True) == pt
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"")
    with pytest.raises(WeightsError, match="unsupported"):
        checked_weights(engine, trust_weights=True)


def test_broken_onnx_files_are_refused_with_their_name(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(WeightsError, match=r"broken\.onnx: cannot be loaded"):
        YoloDetector(weights=broken)
    renamed = tmp_path / "model_qnn.onnx"  # ultralytics reads this name as a Qualcomm export
    renamed.write_bytes(b"")
    with pytest.raises(WeightsError, match="rename"):
        YoloDetector(weights=renamed)


def test_missing_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="lofi train-detector"):
        YoloDetector(weights=tmp_path / "nope.onnx")
    with pytest.raises(WeightsNotFoundError, match="cannot be downloaded offline"):
        YoloDetector(weights="yolo11n.pt")


def test_train_detector_writes_only_onnx(tmp_path):
    with pytest.raises(ValueError, match=r"\.onnx"):
        train_on_dataset(tmp_path / "data.yaml", tmp_path / "person.pt", TrainSettings(epochs=1))
