"""A one-class (person) YOLO data set: ``images/<split>/*.jpg``, ``labels/<split>/*.txt``, ``data.yaml``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_example(root: Path, split: str, stem: str, image: np.ndarray, box: np.ndarray | None) -> None:
    """One image and its label file (class 0, normalised centre and size of the xyxy ``box`` in px;
    empty for a frame without a person)."""
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / "images" / split / f"{stem}.jpg"), image)
    lines = ""
    if box is not None:
        h, w = image.shape[:2]
        x0, y0, x1, y1 = box
        lines = f"0 {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}\n"
    (root / "labels" / split / f"{stem}.txt").write_text(lines)


def write_data_yaml(root: Path) -> Path:
    """``root/data.yaml`` naming the train and val splits and the single class ``person``."""
    data_yaml = root / "data.yaml"
    data_yaml.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: person\n")
    return data_yaml
