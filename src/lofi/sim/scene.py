"""Scenes: room, floor region, radios, cameras, subjects (``src/lofi/scenes/*.yaml`` or a file of
your own, read by :func:`lofi.stages.scenes.load_scene`).

Parsing validates every field and raises :class:`SceneError` naming the file, the
field and the reason. Units: metres, degrees, dBm, Hz; colours are BGR 0..255.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np

from lofi.sim.camera import Camera, CameraModel

SURFACES = ("wall_x0", "wall_x1", "wall_y0", "wall_y1", "floor", "ceiling")


class SceneError(ValueError):
    """A scene file is missing, malformed or physically impossible."""


@dataclass(frozen=True)
class Furniture:
    name: str
    box_m: tuple[float, float, float, float]  # x0, y0, x1, y1 in the room frame
    height_m: float
    color: tuple[int, int, int]


@dataclass(frozen=True)
class Poster:
    wall: str
    at_m: float
    height_m: float
    size_m: tuple[float, float]
    color: tuple[int, int, int]


@dataclass(frozen=True)
class Room:
    size_m: tuple[float, float, float]
    gamma: dict[str, float]  # |reflection coefficient| per surface
    clutter_count: int
    clutter_db_below_los: float
    furniture: tuple[Furniture, ...]
    posters: tuple[Poster, ...]


@dataclass(frozen=True)
class Region:
    origin_m: tuple[float, float]
    size_m: tuple[float, float]

    def to_room(self, xy: np.ndarray) -> np.ndarray:
        """Region-frame floor points (m) to room-frame floor points (m)."""
        return np.asarray(xy, dtype=np.float64) + np.asarray(self.origin_m)

    @property
    def corners(self) -> np.ndarray:
        """The four corners in the region frame, counter-clockwise from the origin."""
        w, d = self.size_m
        return np.array([[0.0, 0.0], [w, 0.0], [w, d], [0.0, d]])


@dataclass(frozen=True)
class Radio:
    channel: int
    tx_m: tuple[float, float, float]
    rx_m: tuple[float, float, float]
    tx_power_dbm: float
    system_loss_db: float
    noise_floor_dbm: int
    ping_hz: float
    loss_rate: float
    mean_burst: float
    outages_per_min: float


@dataclass(frozen=True)
class Subject:
    id: str
    height_m: float
    width_m: float
    rcs_m2: float
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    step_hz: float


@dataclass(frozen=True)
class Scene:
    name: str
    room: Room
    region: Region
    radio: Radio
    cameras: dict[str, Camera]
    subjects: tuple[Subject, ...]
    detector_subjects: tuple[Subject, ...]
    source: str

    def subject(self, subject_id: str) -> Subject:
        """The subject (benchmark or detector-training) with this id."""
        for s in self.subjects + self.detector_subjects:
            if s.id == subject_id:
                return s
        known = ", ".join(s.id for s in self.subjects + self.detector_subjects)
        raise SceneError(f"{self.source}: no subject {subject_id!r} (known: {known})")

    def camera(self, name: str) -> Camera:
        """The camera view with this name."""
        if name not in self.cameras:
            raise SceneError(f"{self.source}: no camera {name!r} (known: {', '.join(self.cameras)})")
        return self.cameras[name]


# -- loading -------------------------------------------------------------------------


class _Fields:
    """Typed access to a YAML mapping that names the field in every error.

    Every mapping made from one scene shares ``registry``, and each remembers the keys the
    parser asked for, so :meth:`check_unknown` can reject misspelled fields afterwards.
    """

    def __init__(self, data: Any, path: str, source: str, registry: list[_Fields] | None = None) -> None:
        if not isinstance(data, dict):
            raise SceneError(f"{source}: {path or 'scene'}: expected a mapping")
        self.data, self.path, self.source = data, path, source
        self.asked: set[str] = set()
        self.registry = [] if registry is None else registry
        self.registry.append(self)

    def child(self, data: Any, path: str) -> _Fields:
        """A mapping below this one (same source and registry)."""
        return _Fields(data, path, self.source, self.registry)

    def check_unknown(self) -> None:
        """Raise on the first key, in any mapping of the scene, that the parser never asked for."""
        for fields in self.registry:
            for key in sorted(set(map(str, fields.data)) - fields.asked):
                close = difflib.get_close_matches(key, sorted(fields.asked), n=1)
                hint = (
                    f"; did you mean {close[0]!r}?"
                    if close
                    else f" (known: {', '.join(sorted(fields.asked))})"
                )
                raise fields.fail(key, f"unknown field{hint}")

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, reason: str) -> SceneError:
        return SceneError(f"{self.source}: {self._where(key)}: {reason}")

    def raw(self, key: str, default: Any = ...) -> Any:
        self.asked.add(key)
        if key not in self.data:
            if default is ...:
                close = difflib.get_close_matches(key, [str(k) for k in self.data], n=1)
                raise self.fail(
                    key, f"missing (is {close[0]!r} a misspelling of it?)" if close else "missing"
                )
            return default
        return self.data[key]

    def sub(self, key: str) -> _Fields:
        return self.child(self.raw(key), self._where(key))

    def number(self, key: str, lo: float = -np.inf, hi: float = np.inf, default: Any = ...) -> float:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            raise self.fail(key, f"expected a number, got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(key, f"{value} is outside [{lo}, {hi}]")
        return float(value)

    def vector(self, key: str, n: int, lo: float = -np.inf, hi: float = np.inf) -> tuple[float, ...]:
        value = self.raw(key)
        if not isinstance(value, list) or len(value) != n:
            raise self.fail(key, f"expected a list of {n} numbers, got {value!r}")
        holder = self.child({str(i): v for i, v in enumerate(value)}, self._where(key))
        return tuple(holder.number(str(i), lo, hi) for i in range(n))

    def color(self, key: str) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.vector(key, 3, 0, 255))  # type: ignore[return-value]

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value


def parse_scene(data: Any, source: str = "<scene>") -> Scene:
    """Build a :class:`Scene` from parsed YAML, validating every field."""
    top = _Fields(data, "", source)
    room = _room(top.sub("room"))
    region = _region(top.sub("region"))
    radio = _radio(top.sub("radio"))
    cams = top.sub("cameras")
    cameras = {name: _camera(cams.sub(name), name) for name in cams.data}
    if not cameras:
        raise top.fail("cameras", "at least one camera is needed")
    subjects = _subjects(top, "subjects")
    detector_subjects = _subjects(top, "detector_subjects", required=False)
    scene = Scene(top.text("name"), room, region, radio, cameras, subjects, detector_subjects, source)
    top.check_unknown()
    _check_geometry(scene, top)
    return scene


def _room(f: _Fields) -> Room:
    size = f.vector("size_m", 3, 1.0, 100.0)
    surfaces = f.sub("surfaces")
    gamma = {name: _surface_gamma(surfaces.sub(name)) for name in SURFACES}
    clutter = f.sub("clutter")
    furniture = tuple(
        Furniture(
            g.text("name"),
            g.vector("box_m", 4, 0.0, 100.0),  # type: ignore[arg-type]
            g.number("height_m", 0.05, size[2]),
            g.color("color"),
        )
        for g in _items(f, "furniture")
    )
    posters = tuple(
        Poster(
            _choice(g, "wall", SURFACES[:4]),
            g.number("at_m", 0.0, 100.0),
            g.number("height_m", 0.0, size[2]),
            g.vector("size_m", 2, 0.05, 10.0),  # type: ignore[arg-type]
            g.color("color"),
        )
        for g in _items(f, "posters")
    )
    return Room(
        size,  # type: ignore[arg-type]
        gamma,
        int(clutter.number("count", 0, 500)),
        clutter.number("power_db_below_los", 0.0, 60.0),
        furniture,
        posters,
    )


def _surface_gamma(f: _Fields) -> float:
    """|Gamma| of one surface; ``material`` is an optional note for the reader (e.g. concrete)."""
    if not isinstance(f.raw("material", ""), str):
        raise f.fail("material", "expected text (a note such as concrete)")
    return f.number("gamma", 0.0, 1.0)


def _items(f: _Fields, key: str) -> list[_Fields]:
    value = f.raw(key, [])
    if not isinstance(value, list):
        raise f.fail(key, "expected a list")
    return [f.child(item, f"{f._where(key)}[{i}]") for i, item in enumerate(value)]


def _choice(f: _Fields, key: str, options: tuple[str, ...]) -> str:
    value = f.text(key)
    if value not in options:
        raise f.fail(key, f"{value!r} is not one of {', '.join(options)}")
    return value


def _region(f: _Fields) -> Region:
    return Region(f.vector("origin_m", 2, 0.0, 100.0), f.vector("size_m", 2, 0.3, 50.0))  # type: ignore[arg-type]


def _radio(f: _Fields) -> Radio:
    return Radio(
        channel=int(f.number("channel", 1, 13)),
        tx_m=f.vector("tx_m", 3, 0.0, 100.0),  # type: ignore[arg-type]
        rx_m=f.vector("rx_m", 3, 0.0, 100.0),  # type: ignore[arg-type]
        tx_power_dbm=f.number("tx_power_dbm", -10.0, 36.0),
        system_loss_db=f.number("system_loss_db", 0.0, 60.0),
        noise_floor_dbm=int(f.number("noise_floor_dbm", -110, -60)),
        ping_hz=f.number("ping_hz", 1.0, 1000.0),
        loss_rate=f.number("loss_rate", 0.0, 0.9),
        mean_burst=f.number("mean_burst", 1.0, 100.0),
        outages_per_min=f.number("outages_per_min", 0.0, 10.0),
    )


def _camera(f: _Fields, name: str) -> Camera:
    size = f.vector("size_px", 2, 64, 4096)
    return Camera(
        name=name,
        position_m=f.vector("position_m", 3, -100.0, 100.0),  # type: ignore[arg-type]
        look_at_m=f.vector("look_at_m", 3, -100.0, 100.0),  # type: ignore[arg-type]
        hfov_deg=f.number("hfov_deg", 20.0, 150.0),
        size_px=(int(size[0]), int(size[1])),
        distortion=f.vector("distortion", 5, -2.0, 2.0),  # type: ignore[arg-type]
    )


def _subjects(top: _Fields, key: str, required: bool = True) -> tuple[Subject, ...]:
    items = _items(top, key)
    if required and not items:
        raise top.fail(key, "at least one subject is needed")
    subjects = tuple(
        Subject(
            id=g.text("id"),
            height_m=g.number("height_m", 1.2, 2.2),
            width_m=g.number("width_m", 0.25, 0.7),
            rcs_m2=g.number("rcs_m2", 0.05, 3.0),
            shirt=g.color("shirt"),
            trousers=g.color("trousers"),
            skin=g.color("skin"),
            hair=g.color("hair"),
            step_hz=g.number("step_hz", 0.5, 1.5),
        )
        for g in items
    )
    ids = [s.id for s in subjects]
    if len(set(ids)) != len(ids):
        raise top.fail(key, f"subject ids must be unique, got {ids}")
    return subjects


def _check_geometry(scene: Scene, top: _Fields) -> None:
    lx, ly, lz = scene.room.size_m
    (ox, oy), (w, d) = scene.region.origin_m, scene.region.size_m
    if ox + w > lx or oy + d > ly:
        raise top.fail("region", f"the region ({ox}..{ox + w} x {oy}..{oy + d} m) lies outside the room")
    radio = top.sub("radio")
    for key in ("tx_m", "rx_m"):
        x, y, z = getattr(scene.radio, key)
        if not (0 < x < lx and 0 < y < ly and 0 < z < lz):
            raise radio.fail(key, f"({x}, {y}, {z}) is outside the room")
    if np.linalg.norm(np.subtract(scene.radio.tx_m, scene.radio.rx_m)) < 0.1:
        raise radio.fail("rx_m", "the receiver is at the transmitter's position (TX equals RX)")
    cams = top.sub("cameras")
    for name, cam in scene.cameras.items():
        model = CameraModel.from_scene(cam)
        pixels = model.project(np.c_[scene.region.to_room(scene.region.corners), np.zeros(4)])
        width, height = cam.size_px
        inside = (pixels[:, 0] >= 0) & (pixels[:, 0] < width) & (pixels[:, 1] >= 0) & (pixels[:, 1] < height)
        if (
            not inside.all()
            or not model.in_front(np.c_[scene.region.to_room(scene.region.corners), np.zeros(4)]).all()
        ):
            raise cams.sub(name).fail("look_at_m", "the camera cannot see the whole floor region")
