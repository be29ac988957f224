"""Default locations of the pipeline's files, relative to the project folder."""

from __future__ import annotations

from pathlib import Path

RAW = Path("data/raw")
INTERIM = Path("data/interim")
PROCESSED = Path("data/processed")
DETECTOR_DIR = Path("data/detector")
#: The synthetic default detector that ``lofi train-detector`` writes.
DEFAULT_WEIGHTS = DETECTOR_DIR / "person_yolo.onnx"
#: The foot-point correction that ``lofi fit-foot-offset`` writes.
DEFAULT_FOOT_OFFSET = DETECTOR_DIR / "foot_offset.json"
#: The scene shipped with the package (src/lofi/scenes/lab.yaml).
DEFAULT_SCENE = "lab"


def interim_path(session: str | Path, name: str) -> Path:
    """``data/interim/<session folder name>/<name>``: where a session's derived tables go by default."""
    return INTERIM / Path(session).name / name
