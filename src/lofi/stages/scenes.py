"""Scene files: a scene by name (shipped with the package) or by path, read and validated.

``lab`` names the default room, ``src/lofi/scenes/lab.yaml`` (installed with the package, so
``lofi simulate --scene lab`` works from any folder). Any other value is a path to a scene file
of your own.

It also says where a session's floor region comes from (:func:`floor_region`,
:func:`session_region`): ``lofi record`` and ``lofi align`` check surveyed points against it.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from lofi.io.session import SESSION_CALIBRATION, SessionFileError, read_session_meta, read_yaml
from lofi.sim.scene import Scene, SceneError, parse_scene
from lofi.vision.calibration import FloorRegion, default_region, region_size


def packaged_scenes() -> list[str]:
    """Names of the scenes shipped with the package."""
    return sorted(p.name.removesuffix(".yaml") for p in resources.files("lofi.scenes").iterdir()
                  if p.name.endswith(".yaml"))  # fmt: skip


def scene_path(scene: str | Path) -> Path:
    """The file of ``scene``: the packaged scene of that name, else an existing path (a name that is
    both is refused: ``./lab`` is the file, ``lab`` the packaged scene)."""
    path = Path(scene)
    if str(scene) in packaged_scenes():
        if path.is_file():  # a stray file must not silently replace the packaged scene
            raise SceneError(
                f"{scene}: names both the packaged scene and a file in the current folder; "
                f"pass ./{scene} for the file, or move it away for the packaged scene"
            )
        return Path(str(resources.files("lofi.scenes") / f"{scene}.yaml"))
    if path.is_file():
        return path
    names = packaged_scenes()
    close = difflib.get_close_matches(str(scene), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise SceneError(f"{scene}: no such scene file, and no packaged scene of that name (packaged: "
                     f"{', '.join(names)}){hint}")  # fmt: skip


def load_scene(scene: str | Path) -> Scene:
    """Load and validate a scene by name or path; every problem is a :class:`SceneError` naming the
    file and the field. The scene's ``source`` is ``scene`` as given (a packaged scene: its name)."""
    try:
        data = read_yaml(scene_path(scene))
    except SessionFileError as err:
        raise SceneError(str(err)) from err
    return parse_scene(data, str(scene))


def floor_region(calibration: str | Path | None, scene: str | Path | None) -> FloorRegion:
    """The floor region (w, d in m, region frame: origin at its corner) of a session: the
    ``region`` of ``calibration`` (a ``calibration.yaml``) when it has one, else the region of
    ``scene`` (a packaged scene's name or a scene file), else the default lab region.

    A malformed calibration region or scene is a ``ValueError`` naming the file and the field.
    """
    if calibration is not None:
        size = region_size(read_yaml(calibration), str(calibration))
        if size is not None:
            return FloorRegion(size, str(calibration))
    if scene is not None:
        width, depth = load_scene(scene).region.size_m
        return FloorRegion((float(width), float(depth)), f"scene {scene}")
    return default_region()


def session_region(session: str | Path) -> FloorRegion:
    """The floor region of a session folder (see :func:`floor_region`): from its ``calibration.yaml``,
    else the scene its ``session.yaml`` names (``scene_file``, as ``lofi record --scene`` and
    ``lofi simulate`` write it), else the default lab region."""
    folder = Path(session)
    calibration = folder / SESSION_CALIBRATION
    meta = read_session_meta(folder)
    try:
        return floor_region(calibration if calibration.is_file() else None, meta.scene_file)
    except SceneError as err:
        raise SceneError(f"{meta.path}: scene_file: {err}") from err
