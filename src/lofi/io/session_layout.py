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
