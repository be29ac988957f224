"""Raw session folders: their YAML files, the typed ``session.yaml`` record, atomic folders.

A session folder holds ``session.yaml``, ``csi.csv`` (ESP32 log), ``video.mp4`` +
``frames.csv`` (:mod:`lofi.io.video`), ``calibration.yaml`` and, for synthetic
sessions only, ``truth/`` (parquet). ``session.yaml`` is read once, into
:class:`SessionMeta`; every problem with it is a :class:`SessionFileError` naming
the file and the field.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lofi.io.atomic import atomic_open
from lofi.io.esp32.reader import CsiReadError
from lofi.io.names import check_name
from lofi.io.session_layout import (  # noqa: F401  (the names the rest of the package imports from here)
    SESSION_CALIBRATION,
    SESSION_CSI,
    SESSION_FRAMES,
    SESSION_META,
    SESSION_VIDEO,
    TRUTH_FRAMES,
    TRUTH_PINGS,
)


class SessionFileError(ValueError):
    """A session's YAML file is missing or malformed."""


def read_yaml(path: str | os.PathLike[str]) -> dict:
    """A YAML mapping from a file, or a clear error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise SessionFileError(f"{path}: no such file")
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise SessionFileError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(data, dict):
        raise SessionFileError(f"{path}: expected a mapping at the top level")
    return data


def write_yaml(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Write a YAML file atomically (keys in the given order)."""
    with atomic_open(path, "w") as handle:
        yaml.safe_dump(data, handle, sort_keys=False, default_flow_style=None, width=100)


class SessionFolderError(FileExistsError):
    """An output folder exists and holds files this command did not write."""


def written_by(folder: str | os.PathLike[str]) -> str | None:
    """The ``lofi`` command that wrote a session folder (``written_by`` of its ``session.yaml``;
    sessions simulated before that field existed name their ``simulator``), or None."""
    path = Path(folder) / SESSION_META
    try:
        data = read_yaml(path)
    except SessionFileError:
        return None
    if isinstance(data.get("written_by"), str):
        return data["written_by"]
    return "lofi simulate" if str(data.get("simulator", "")).startswith("lofi ") else None


@contextlib.contextmanager
def session_folder(out_dir: str | os.PathLike[str], command: str, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder next to ``out_dir`` to write a session into; on success its files
    move into ``out_dir``, each replacing its namesake atomically.

    Files already in ``out_dir`` that the new session does not write are never touched. An
    existing, non-empty ``out_dir`` that ``command`` did not write (see :func:`written_by`) is
    refused before anything is written, unless ``force``.
    """
    out = Path(out_dir)
    _check_replaceable(out, command, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        if out.exists():
            _move_files_into(tmp, out)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_replaceable(out: Path, command: str, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise SessionFolderError(f"{out}: exists and is not a folder")
    holds_files = out.is_dir() and any(not p.is_dir() for p in out.rglob("*"))  # empty folders: ours to fill
    if holds_files and written_by(out) != command and not force:
        raise SessionFolderError(
            f"{out}: the folder exists and was not written by `{command}`; nothing was changed. Choose "
            "a new folder, or pass --force to write the session's files into it (other files stay)"
        )


def _move_files_into(source: Path, target: Path) -> None:
    """Move every file below ``source`` to the same place below ``target`` (``os.replace`` each)."""
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, destination)


@dataclass(frozen=True)
class SessionMeta:
    """What ``session.yaml`` says about one recording.

    ``csi_rate_hz`` is the nominal ping rate f2 (Hz) and ``camera_rate_hz`` the
    nominal frame rate (Hz); ``None`` when the file does not give them (they are
    then estimated from the data). ``position_m`` is the surveyed floor point ``(x, y)`` (m, in
    the region frame) of a session recorded standing at one marked point: every CSI row takes
    it as its label; ``None`` for other sessions. ``scene_file`` is the scene the session was
    recorded or simulated in, as ``lofi record --scene`` / ``lofi simulate --scene`` gave it (a
    packaged scene's name or a scene file's path), or ``None``. ``status`` is what ``lofi record``
    says of the recording (``recording`` until it ends cleanly, then ``complete``; ``failed``),
    ``None`` when not given. ``path`` is the file read, ``None`` when the folder has no
    ``session.yaml`` (every field then has its default and ``id`` is the folder's name).
    """

    id: str
    kind: str = "real"
    subjects: tuple[str, ...] = ()
    room: str | None = None
    camera_view: str | None = None
    mode: str | None = None
    csi_rate_hz: float | None = None
    camera_rate_hz: float | None = None
    csv_layout: str | None = None
    position_m: tuple[float, float] | None = None
    scene_file: str | None = None
    status: str | None = None
    path: Path | None = None


def read_session_meta(folder: str | os.PathLike[str]) -> SessionMeta:
    """The typed ``session.yaml`` of a session folder (defaults when the folder has none)."""
    folder = Path(folder)
    path = folder / SESSION_META
    if not path.is_file():
        return SessionMeta(id=check_name(folder.resolve().name, f"{folder}: session id (the folder's name)"))
    data = read_yaml(path)
    return SessionMeta(
        id=check_name(_text(data, "id", path) or folder.name, f"{path}: id"),
        kind=_text(data, "kind", path) or "real",
        subjects=_subjects(data, path),
        room=_text(data, "room", path),
        camera_view=_text(data, "camera_view", path),
        mode=_text(data, "mode", path),
        csi_rate_hz=_rate(data, "csi_rate_hz", path),
        camera_rate_hz=_rate(data, "camera_rate_hz", path),
        csv_layout=_text(data, "csv_layout", path),
        position_m=_point(data, "position_m", path),
        scene_file=_text(data, "scene_file", path),
        status=_text(data, "status", path),
        path=path,
    )


def _text(data: dict, key: str, path: Path) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise SessionFileError(f"{path}: {key}: expected text, got {value!r}")


def _subjects(data: dict, path: Path) -> tuple[str, ...]:
    value = data.get("subjects") or []
    if not isinstance(value, list) or any(isinstance(v, dict | list) for v in value):
        raise SessionFileError(f"{path}: subjects: expected a list of subject ids, got {value!r}")
    return tuple(str(v) for v in value)


def _rate(data: dict, key: str, path: Path) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise SessionFileError(f"{path}: {key}: expected a positive number of Hz or null, got {value!r}")
    return float(value)


def _point(data: dict, key: str, path: Path) -> tuple[float, float] | None:
    """``[x, y]``: a floor point in m (two finite numbers), or None when the key is absent or null."""
    value = data.get(key)
    if value is None:
        return None
    numbers = isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value
    )
    if not numbers or len(value) != 2:
        raise SessionFileError(
            f"{path}: {key}: expected [x, y], two finite numbers of metres in the floor region's frame, "
            f"got {value!r}"
        )
    return float(value[0]), float(value[1])


def session_csi_path(path: str | os.PathLike[str]) -> Path:
    """The CSI log to read for PATH: the file itself, or a session folder's ``csi.csv``."""
    path = Path(path)
    if not path.exists():
        raise CsiReadError(f"{path}: no such file or folder")
    if not path.is_dir():
        return path
    csv = path / SESSION_CSI
    if not csv.is_file():
        raise CsiReadError(f"{path}: a session folder must hold {SESSION_CSI}")
    return csv
