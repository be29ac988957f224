"""The file names of a raw session folder (DESIGN §5), importable without numpy (the CLI reads them)."""

from __future__ import annotations

from pathlib import Path

SESSION_META = "session.yaml"
SESSION_CSI = "csi.csv"
SESSION_VIDEO = "video.mp4"
SESSION_FRAMES = "frames.csv"
SESSION_CALIBRATION = "calibration.yaml"
TRUTH_FRAMES = Path("truth") / "frames.parquet"
TRUTH_PINGS = Path("truth") / "pings.parquet"


def raw_session_of(path: Path) -> Path | None:
    """The raw session folder ``path`` is or lies in (a folder holding ``session.yaml``), else None."""
    for folder in (path, *path.parents):
        if (folder / SESSION_META).is_file():
            return folder
    return None
