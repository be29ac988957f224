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


RESULTS = Path("results")


class ProjectPath(str):
    """A default path relative to the project folder (``lofi --root``, default the current folder).

    The command line marks its path defaults with this type and rebases exactly those on the
    root; a path the user typed is a plain ``str`` and is used as given.
    """


def project_default(path: str | Path) -> ProjectPath:
    """``path`` marked as relative to the project root."""
    return ProjectPath(str(path))


#: The fill of the pipeline's interim tables; another fill's tables are named after it.
PIPELINE_FILL = "linear"


def filled_name(name: str, fill: str = PIPELINE_FILL) -> str:
    """An interim file's name for ``fill``: ``csi.parquet`` for the pipeline's linear fill,
    ``csi_csibert.parquet`` for another, so tables of two fills sit side by side."""
    if fill == PIPELINE_FILL:
        return name
    stem, dot, suffix = name.partition(".")
    return f"{stem}_{fill}{dot}{suffix}"


def interim_path(session: str | Path, name: str, root: str | Path = ".") -> Path:
    """``<root>/data/interim/<session id>/<name>``: where a session's derived tables go by default.

    The id is ``session.yaml``'s (the folder's name when it has none); the stages also check
    that their inputs belong to the session, so two sessions with one id cannot be mixed up.
    """
    from lofi.io.session import read_session_meta

    return Path(root) / INTERIM / read_session_meta(session).id / name
