"""Scene files: read a ``conf/scene/*.yaml`` and validate it into a :class:`~lofi.sim.scene.Scene`."""

from __future__ import annotations

from pathlib import Path

from lofi.io.session import SessionFileError, read_yaml
from lofi.sim.scene import Scene, SceneError, parse_scene


def load_scene(path: str | Path) -> Scene:
    """Load and validate a scene file; every problem is a :class:`SceneError` naming the file and field."""
    try:
        data = read_yaml(path)
    except SessionFileError as err:
        raise SceneError(str(err)) from err
    return parse_scene(data, str(path))
