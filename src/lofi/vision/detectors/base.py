"""The detector interface: candidate boxes of a frame, and the paper's eq. (1) selection."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

PERSON = "person"


@dataclass(frozen=True)
class Detections:
    """Candidate boxes of one frame: xyxy pixels (n x 4), confidence (n,), class names."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: tuple[str, ...]

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4)), np.zeros(0), ())

    def __len__(self) -> int:
        return len(self.scores)


def select_person(detections: Detections) -> tuple[np.ndarray, float] | None:
    """Eq. (1): the most confident box of class ``person``; ``None`` if there is none."""
    best, best_score = None, -np.inf
    for box, score, name in zip(detections.boxes, detections.scores, detections.classes, strict=True):
        if name == PERSON and score > best_score:
            best, best_score = box, float(score)
    return None if best is None else (np.asarray(best, dtype=np.float64), best_score)


class Detector(Protocol):
    """Turns frames into candidate boxes; ``detect`` may keep state across a video."""

    name: str

    def detect(self, frames: Iterable[np.ndarray]) -> Iterator[Detections]: ...
