"""Video files and their frame timestamps: ``video.mp4`` (OpenCV) and ``frames.csv``.

``frames.csv`` holds one row per frame of ``video.mp4``: ``frame`` (index) and
``t_host`` (s since 1970, host clock).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from lofi.io.atomic import atomic_open

FRAMES_COLUMNS = ("frame", "t_host")


def write_frames_csv(path: str | os.PathLike[str], host_times_s: np.ndarray) -> None:
    """``frames.csv``: frame index in ``video.mp4`` and its host timestamp (s since 1970)."""
    frame = pd.DataFrame({"frame": np.arange(len(host_times_s)), "t_host": host_times_s})
    with atomic_open(path, "w") as handle:
        frame.to_csv(handle, index=False, float_format="%.6f")


class VideoWriter:
    """``video.mp4`` through OpenCV's writer (MPEG-4 part 2), frame by frame."""

    def __init__(self, path: str | os.PathLike[str], fps: float, size_px: tuple[int, int]) -> None:
        self.path = Path(path)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size_px)
        if not self._writer.isOpened():
            raise OSError(f"{self.path}: OpenCV cannot open an MPEG-4 video writer")
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        self._writer.write(image)
        self.frames += 1

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_video_frames(path: str | os.PathLike[str], indices: list[int] | None = None) -> list[np.ndarray]:
    """Decode frames of a video (all, or the given indices in increasing order)."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise OSError(f"{path}: cannot open video")
    wanted = None if indices is None else set(indices)
    frames, index = [], 0
    try:
        while True:
            if wanted is None or index in wanted:
                ok, image = capture.read()
                if ok:
                    frames.append(image)
            else:
                ok = capture.grab()  # decode only: skips the colour conversion of unwanted frames
            if not ok:
                break
            index += 1
            if wanted is not None and index > max(wanted):
                break
    finally:
        capture.release()
    return frames


class VideoError(OSError):
    """A session's video cannot be read, or disagrees with its frames.csv."""


def read_frames_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``frames.csv`` as a table (frame, t_host), validated.

    Host times must be finite and strictly increasing (a camera never delivers a frame
    before the one it follows); the error names the row as a text editor counts it (the
    header is line 1).
    """
    try:
        frames = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise VideoError(f"{path}: cannot read frame timestamps ({err})") from err
    missing = [c for c in FRAMES_COLUMNS if c not in frames.columns]
    if missing:
        raise VideoError(f"{path}: missing column(s) {', '.join(missing)}")
    t = pd.to_numeric(frames["t_host"], errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~np.isfinite(t))
    if len(bad):
        value = frames["t_host"].iloc[bad[0]]
        raise VideoError(f"{path}: line {int(bad[0]) + 2}: t_host {_shown(value)} is not a finite number (s)")
    index = pd.to_numeric(frames["frame"], errors="coerce").to_numpy(np.float64)
    off = np.flatnonzero(index != np.arange(len(index)))
    if len(off):
        k = int(off[0])
        raise VideoError(
            f"{path}: line {k + 2}: frame {_shown(frames['frame'].iloc[k])} should be {k} "
            "(one row per video frame, counted from 0)"
        )
    back = np.flatnonzero(np.diff(t) <= 0)
    if len(back):
        k = int(back[0]) + 1
        raise VideoError(
            f"{path}: line {k + 2}: t_host {t[k]:.6f} does not follow {t[k - 1]:.6f} (line {k + 1}); "
            "frame times must increase"
        )
    return frames.assign(t_host=t)


def _shown(value: object) -> str:
    """A value as the user wrote it: text quoted, numbers plain (no numpy type names)."""
    return repr(value) if isinstance(value, str) else str(value.item() if hasattr(value, "item") else value)


class VideoFrames:
    """Decoded frames of ``video.mp4``; corrupt frames come out as ``None`` and are counted."""

    def __init__(self, path: str | os.PathLike[str], expected: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: no such video")
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise VideoError(f"{self.path}: OpenCV cannot open this video")
        self.count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        if expected is not None and self.count != expected:
            raise VideoError(
                f"{self.path}: the video has {self.count} frames but frames.csv lists {expected}"
            )
        self.corrupt = 0

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[np.ndarray | None]:
        capture = cv2.VideoCapture(str(self.path))
        try:
            for _ in range(self.count):
                ok, image = capture.read()
                if not ok or image is None:
                    self.corrupt += 1
                    yield None
                    continue
                yield image
        finally:
            capture.release()
