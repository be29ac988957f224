"""Refine the bottom edge of a person box against the empty room (static camera).

A detector's box bottom is a regression and is often a few pixels, sometimes
tens of pixels, off the feet; far from the camera one pixel is several
centimetres on the floor, so the box bottom dominates the label error. With a
fixed webcam the empty room is known: the per-pixel temporal median of frames
spread over the session (the person keeps moving, so the median is the room).
Around the detected bottom, pixels that differ from that background are the
person, except cast shadows, which only darken the floor. The refined bottom is
the end of the run of person rows that comes down from the legs.

The shadow test is the usual one of background subtraction (as in OpenCV's
MOG2 with ``detectShadows``): darker than the background by a bounded ratio and
not far from it in colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class FootRefineError(ValueError):
    """The background cannot be estimated (too few readable frames, or mismatched sizes)."""


@dataclass(frozen=True)
class FootRefineOptions:
    """Settings of the box-bottom refinement.

    ``band``: search this fraction of the box height above and below the detected
    bottom. ``min_diff``: grey levels (largest channel difference from the
    background) that make a pixel differ. ``shadow_ratio``: brightness ratios to
    the background that a shadow can have; a darker-than-background pixel inside
    it whose difference is under ``shadow_max_diff`` is shadow, not person.
    ``min_pixels``: differing pixels that make a row a person row. ``max_gap_rows``:
    rows without person allowed inside the run. ``max_extensions``: how often a run
    that reaches the end of the search window is followed further down. ``samples``:
    frames in the median.
    """

    band: float = 0.15
    min_diff: float = 40.0
    shadow_ratio: tuple[float, float] = (0.5, 1.0)
    shadow_max_diff: float = 70.0
    min_pixels: int = 2
    max_gap_rows: int = 3
    max_extensions: int = 3
    samples: int = 60


def background_indices(n_frames: int, samples: int = 60) -> list[int]:
    """Indices of ``samples`` frames spread evenly over a video of ``n_frames`` frames."""
    return sorted({int(i) for i in np.linspace(0, n_frames - 1, min(samples, n_frames))}) if n_frames else []


def median_background(frames: list[np.ndarray], wanted: int, source: str = "video") -> np.ndarray:
    """Per-pixel median (float32, BGR) of the decoded background ``frames`` (``wanted`` were asked for).

    ``source`` names the video in errors.
    """
    if wanted < 1:
        raise FootRefineError(f"{source}: no frames to estimate the background from")
    if len(frames) < min(5, wanted):
        raise FootRefineError(f"{source}: only {len(frames)} of {wanted} background frames decoded")
    if len({f.shape for f in frames}) != 1:
        raise FootRefineError(f"{source}: frames of different sizes")
    return np.median(np.stack(frames), axis=0).astype(np.float32)


def person_rows(patch: np.ndarray, background: np.ndarray, options: FootRefineOptions) -> np.ndarray:
    """Per row of a BGR patch, whether it holds at least ``min_pixels`` person (non-shadow) pixels."""
    patch = patch.astype(np.float32)
    diff = np.abs(patch - background).max(axis=2)
    ratio = (patch.sum(axis=2) + 1.0) / (background.sum(axis=2) + 1.0)
    low, high = options.shadow_ratio
    shadow = (ratio > low) & (ratio < high) & (diff < options.shadow_max_diff)
    person = (diff > options.min_diff) & ~shadow
    return person.sum(axis=1) >= options.min_pixels


def run_end(rows: np.ndarray, max_gap: int) -> int | None:
    """End (exclusive) of the run of True rows starting at row 0, bridging gaps up to ``max_gap``."""
    if not rows.size or not rows[0]:
        return None
    hits = np.flatnonzero(rows)
    breaks = np.flatnonzero(np.diff(hits) > max_gap + 1)
    last = hits[breaks[0]] if breaks.size else hits[-1]
    return int(last) + 1


def refine_bottom(
    image: np.ndarray, box: np.ndarray, background: np.ndarray, options: FootRefineOptions
) -> float:
    """The refined bottom (px, exclusive edge like the box's y1) of one xyxy box, or NaN.

    The search starts ``band`` x box height above the detected bottom and reaches as
    far below it; a run of person rows that reaches the end of the search window
    (a box that stops well above the feet) is followed further down, one window
    length at a time, up to ``max_extensions`` times. NaN when the box is NaN or
    the run of person rows does not start at the top of the window (nothing there
    to follow down to the feet).
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    if not np.isfinite([x0, y0, x1, y1]).all() or y1 <= y0:
        return float("nan")
    height, width = image.shape[:2]
    reach = max(options.band * (y1 - y0), 2.0)
    top = int(max(0, round(y1 - reach)))
    left, right = int(max(0, np.floor(x0))), int(min(width, np.ceil(x1)))
    bottom = int(min(height, round(y1 + reach)))
    if bottom <= top or right <= left:
        return float("nan")
    for _ in range(options.max_extensions + 1):
        rows = person_rows(image[top:bottom, left:right], background[top:bottom, left:right], options)
        end = run_end(rows, options.max_gap_rows)
        if end is None:
            return float("nan")
        if top + end < bottom or bottom >= height:
            break
        bottom = int(min(height, bottom + round(2 * reach)))
    return float(top + end)


@dataclass(frozen=True)
class FootRefiner:
    """The empty-room background of one session and the refinement settings."""

    background: np.ndarray
    options: FootRefineOptions

    def bottom(self, image: np.ndarray, box: np.ndarray) -> float:
        """Refined bottom (px) of ``box`` in ``image``, or NaN (see :func:`refine_bottom`)."""
        return refine_bottom(image, box, self.background, self.options)
