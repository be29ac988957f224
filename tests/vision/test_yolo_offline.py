"""ultralytics trains and predicts with the network cut off, settings in the project folder."""

from __future__ import annotations

import socket
from pathlib import Path

import cv2
import numpy as np
import pytest

from lofi.io.yolo_dataset import write_example
from lofi.stages.train_detector import train_on_dataset
from lofi.vision.detectors.base import select_person
from lofi.vision.detectors.offline import ultralytics_home
from lofi.vision.detectors.yolo import WeightsNotFoundError, YoloDetector
from lofi.vision.detectors.yolo_train import TrainSettings


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to open a connection or resolve a name fails the test."""
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


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


def test_training_and_inference_run_offline(tmp_path, no_network, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tiny_dataset(tmp_path / "dataset")
    weights = tmp_path / "models" / "tiny.pt"
    report = train_on_dataset(data, weights, TrainSettings(epochs=1, imgsz=64, batch=4), name="offline-test")
    assert weights.is_file() and weights.with_suffix(".json").is_file()
    assert report["epochs"] == 1
    detector = YoloDetector(weights=weights, imgsz=64, conf=0.0001)
    frame = cv2.imread(str(next((tmp_path / "dataset" / "images" / "val").glob("*.jpg"))))
    (detections,) = list(detector.detect([frame]))
    # At a confidence floor of 1e-4 even a one-epoch model returns candidate boxes: all of the
    # one class it was trained on, inside the image, and eq. (1) keeps the most confident.
    assert len(detections) > 0 and set(detections.classes) == {"person"}
    assert np.all(detections.boxes[:, 2:] > detections.boxes[:, :2])
    assert np.all((detections.boxes >= -1) & (detections.boxes <= 129))
    kept = select_person(detections)
    assert kept is not None and kept[1] == pytest.approx(detections.scores.max())
    assert no_network == []
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()
    assert (ultralytics_home() / "Ultralytics" / "Arial.ttf").is_file()


def test_missing_weights_say_how_to_get_them(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="lofi train-detector"):
        YoloDetector(weights=tmp_path / "nope.pt")
    with pytest.raises(WeightsNotFoundError, match="cannot be downloaded offline"):
        YoloDetector(weights="yolo11n.pt")
