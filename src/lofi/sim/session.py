"""Simulate one recording session: CSI pings, video frames, calibration clicks and metadata.

A session is one or more subjects moving in the floor region (a random walk, or
standing in turn at the 10 surveyed points), filmed by one camera view while the
ESP32 logs CSI of 100 Hz pings. Everything derives from one seed: the same inputs
give identical files.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from lofi import __version__
from lofi.sim import channel, receiver, timing
from lofi.sim.body import Pose, pose, scatterer_positions
from lofi.sim.camera import CameraModel
from lofi.sim.motion import Trajectory, random_walk, surveyed_walk
from lofi.sim.render import RoomRenderer
from lofi.sim.scene import Scene, Subject

HOST_EPOCH = datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC).timestamp()
NOMINAL_CAMERA_HZ = 30.0
_CHUNK = 4000


@dataclass(frozen=True)
class SessionSpec:
    """What to simulate."""

    session_id: str
    subjects: tuple[str, ...]
    camera: str
    mode: str = "walk"  # "walk" or "survey"
    duration_s: float = 300.0  # walk mode
    stand_s: float = 4.0  # survey mode: seconds at each point
    seed: int = 0
    device_clock_start_us: int | None = None  # None: drawn from the seed
    outfit_change_s: float | None = None  # video only: new random clothing colours this often (s)

    def __post_init__(self) -> None:
        if self.mode not in ("walk", "survey"):
            raise ValueError(f"mode must be 'walk' or 'survey', not {self.mode!r}")
        if not self.subjects:
            raise ValueError("at least one subject is needed")
        if self.mode == "walk" and len(self.subjects) != 1:
            raise ValueError("a walk session has exactly one subject")
        if self.duration_s <= 0 or self.stand_s <= 0:
            raise ValueError("duration_s and stand_s must be positive")
        if self.outfit_change_s is not None and self.outfit_change_s <= 0:
            raise ValueError("outfit_change_s must be positive")


@dataclass
class SessionStats:
    pings_sent: int = 0
    pings_logged: int = 0
    frames: int = 0
    frames_with_person: int = 0
    duration_s: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def loss_pct(self) -> float:
        return 100.0 * (self.pings_sent - self.pings_logged) / max(self.pings_sent, 1)


@dataclass
class _Motion:
    """Concatenated trajectories of the session's subjects, in turn."""

    track: Trajectory
    subject_index: np.ndarray  # per sample


def _rngs(spec: SessionSpec) -> dict[str, np.random.Generator]:
    salt = zlib.crc32(spec.session_id.encode())
    seq = np.random.SeedSequence([spec.seed, salt])
    names = ("motion", "channel", "receiver", "timing", "render", "calibration", "clock")
    return {name: np.random.default_rng(s) for name, s in zip(names, seq.spawn(len(names)), strict=True)}


def _motion(scene: Scene, spec: SessionSpec, subjects: list[Subject], rng: np.random.Generator) -> _Motion:
    parts = []
    for subject in subjects:
        if spec.mode == "walk":
            parts.append(random_walk(scene.region.size_m, spec.duration_s, subject.step_hz, rng))
        else:
            parts.append(surveyed_walk(scene.region.size_m, spec.stand_s, subject.step_hz, rng))
    offset, tracks, owner = 0.0, [], []
    for k, part in enumerate(parts):
        tracks.append(part.t + offset)
        owner.append(np.full(len(part.t), k))
        offset = tracks[-1][-1] + 0.01
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])  # noqa: E731
    track = Trajectory(
        np.concatenate(tracks),
        cat("xy"),
        cat("heading"),
        cat("speed"),
        cat("gait_phase"),
        cat("swing"),
        cat("point"),
    )
    return _Motion(track, np.concatenate(owner))


def _poses(scene: Scene, subjects: list[Subject], motion: Trajectory, owner: np.ndarray) -> Pose:
    """Pose of whichever subject is present at each sample."""
    joints: dict[str, np.ndarray] = {}
    forward = np.zeros((len(motion.t), 3))
    for k, subject in enumerate(subjects):
        rows = np.flatnonzero(owner == k)
        part = pose(subject, _take(motion, rows), scene.region.origin_m)
        for name, value in part.joints.items():
            joints.setdefault(name, np.zeros((len(motion.t), 3)))[rows] = value
        forward[rows] = part.forward
    return Pose(joints, forward)


def _take(track: Trajectory, rows: np.ndarray) -> Trajectory:
    return Trajectory(
        *(getattr(track, f)[rows] for f in ("t", "xy", "heading", "speed", "gait_phase", "swing", "point"))
    )


def _owner_at(motion: _Motion, times: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(motion.track.t, times), 0, len(motion.track.t) - 1)
    return motion.subject_index[idx]


@dataclass
class SessionPlan:
    """Everything drawn before rendering: subjects, generators, motion, clock starts."""

    subjects: list[Subject]
    rngs: dict[str, np.random.Generator]
    motion: _Motion
    duration: float
    host_start: float
    device_start: int


def plan_session(scene: Scene, spec: SessionSpec) -> SessionPlan:
    """Draw everything before rendering: subjects, random streams, motion and clock starts."""
    subjects = [scene.subject(s) for s in spec.subjects]
    scene.camera(spec.camera)
    rngs = _rngs(spec)
    motion = _motion(scene, spec, subjects, rngs["motion"])
    host_start = HOST_EPOCH + float(rngs["clock"].integers(0, 30 * 86400))
    device_start = int(rngs["clock"].integers(0, 2**32))
    if spec.device_clock_start_us is not None:
        device_start = spec.device_clock_start_us
    return SessionPlan(subjects, rngs, motion, float(motion.track.t[-1]), host_start, device_start)


def simulate_plan_csi(scene: Scene, spec: SessionSpec, p: SessionPlan) -> CsiSimulation:
    """The CSI part of a planned session (draws from the plan's timing, channel and receiver streams)."""
    return simulate_csi(scene, spec, p.subjects, p.motion, p.duration, p.host_start, p.device_start, p.rngs)


def simulate_csi_only(scene: Scene, spec: SessionSpec) -> CsiSimulation:
    """The CSI part of a session, without video (for studies and tests)."""
    return simulate_plan_csi(scene, spec, plan_session(scene, spec))


# -- CSI ---------------------------------------------------------------------------------


@dataclass
class CsiSimulation:
    """Every ping of a session: timing, loss, receiver output (logged pings) and truth."""

    ping: timing.PingTiming
    received: receiver.ReceiverOutput
    at_ping: Trajectory
    owner: np.ndarray


def simulate_csi(
    scene: Scene,
    spec: SessionSpec,
    subjects: list[Subject],
    motion: _Motion,
    duration: float,
    host_start: float,
    device_start: int,
    rngs: dict[str, np.random.Generator],
) -> CsiSimulation:
    """Ping timing and loss, the channel at each ping, and what the ESP32 logs."""
    radio = scene.radio
    ping = timing.simulate_pings(
        duration,
        radio.ping_hz,
        radio.loss_rate,
        radio.mean_burst,
        radio.outages_per_min,
        host_start,
        device_start,
        rngs["timing"],
    )
    at_ping = motion.track.at(ping.t_rx)
    owner = _owner_at(motion, ping.t_rx)
    logged = ~ping.lost
    H = _channel(scene, subjects, _take(at_ping, np.flatnonzero(logged)), owner[logged], rngs["channel"])
    ripple = receiver.device_ripple(zlib.crc32(scene.name.encode()))
    received = receiver.receive(
        H, radio.tx_power_dbm, radio.system_loss_db, radio.noise_floor_dbm, ripple, rngs["receiver"]
    )
    return CsiSimulation(ping, received, at_ping, owner)


def csi_log_fields(scene: Scene, sim: CsiSimulation) -> tuple[np.ndarray, dict]:
    """The logged pings of ``sim`` as esp-radar rows: int8 data (rows x 104) and the other fields."""
    ping, rx, logged = sim.ping, sim.received, ~sim.ping.lost
    fields = {
        "t_host": ping.host_s[logged],
        "local_timestamp": ping.device_us[logged],
        "rssi": rx.rssi_dbm,
        "noise_floor": rx.noise_floor_dbm,
        "channel": scene.radio.channel,
        "mac": "1a:2b:3c:4d:5e:6f",
    }
    return rx.data, fields


def ping_truth(spec: SessionSpec, sim: CsiSimulation) -> pd.DataFrame:
    """Every sent ping: true time, host and device clocks, loss, true position, subject, RSSI."""
    ping, rx, logged = sim.ping, sim.received, ~sim.ping.lost
    rssi = np.full(len(ping.t_rx), np.nan)
    rssi[logged] = rx.rssi_dbm
    return pd.DataFrame(
        {
            "ping": np.arange(len(ping.t_rx)),
            "t_true_s": ping.t_rx,
            "t_host": ping.host_s,
            "device_us": ping.device_us,
            "local_timestamp": ping.device_us % timing.WRAP_US,
            "lost": ping.lost,
            "x_m": sim.at_ping.xy[:, 0],
            "y_m": sim.at_ping.xy[:, 1],
            "subject": np.array(spec.subjects)[sim.owner],
            "rssi_dbm": rssi,
        }
    )


def _channel(scene: Scene, subjects: list[Subject], at: Trajectory, owner: np.ndarray, rng) -> np.ndarray:
    """Complex channel (pings x 52) for the person positions ``at``."""
    radio = scene.radio
    tx, rx = np.asarray(radio.tx_m), np.asarray(radio.rx_m)
    freqs = channel.subcarrier_freqs_hz(radio.channel)
    wavelength = channel.C_MPS / freqs.mean()
    # The room (clutter positions, slow drift) is the same in every session of a scene.
    room_rng = np.random.default_rng(zlib.crc32(f"{scene.name}/room".encode()))
    paths = channel.build_static_paths(scene.room, tx, rx, float(freqs.mean()), room_rng)
    per_path = channel.static_response(paths, freqs)
    drift = room_rng.normal(0, 0.0005, len(paths.delay_s)) * (np.array(paths.kind) == "clutter")
    scatter_phase = rng.uniform(0, 2 * np.pi, 6)
    poses = _poses(scene, subjects, at, owner)
    out = np.empty((len(at.t), len(freqs)), dtype=np.complex128)
    for start in range(0, len(at.t), _CHUNK):
        rows = slice(start, start + _CHUNK)
        xy_room = at.xy[rows] + np.asarray(scene.region.origin_m)
        who = owner[rows]
        loss_db = np.zeros((len(xy_room), len(paths.delay_s)))
        body = np.zeros((len(xy_room), len(freqs)), dtype=np.complex128)
        scatterers, shares = scatterer_positions(
            Pose({k: v[rows] for k, v in poses.joints.items()}, poses.forward[rows])
        )
        for k, subject in enumerate(subjects):
            mine = who == k
            if not mine.any():
                continue
            loss_db[mine] = channel.shadowing_db(
                paths, xy_room[mine], subject.width_m, subject.height_m, wavelength
            )
            phases = scatter_phase[None, :] + 0.5 * at.heading[rows][mine][:, None]
            body[mine] = channel.body_response(
                scatterers[mine], shares, subject.rcs_m2, phases, tx, rx, freqs
            )
        wander = np.exp(1j * drift[None, :] * at.t[rows][:, None])
        out[rows] = (10 ** (-loss_db / 20) * wander) @ per_path + body
    return out


# -- video ---------------------------------------------------------------------------------


def _outfits(spec: SessionSpec, subjects: list[Subject], owner: np.ndarray, t_s: np.ndarray) -> list[Subject]:
    """The subject shown in each frame; with ``outfit_change_s``, in random clothing colours
    that change every ``outfit_change_s`` seconds (for detector training: colour variety).

    Uses its own random stream, so the other streams of a session are unchanged.
    """
    if spec.outfit_change_s is None:
        return [subjects[k] for k in owner]
    rng = np.random.default_rng([spec.seed, zlib.crc32(f"{spec.session_id}/outfits".encode())])
    slot = np.floor(t_s / spec.outfit_change_s).astype(np.int64)
    colours = rng.integers(0, 256, (int(slot.max()) + 1, 2, 3))
    cache: dict[tuple[int, int], Subject] = {}
    dressed = []
    for k, s in zip(owner, slot, strict=True):
        if (k, s) not in cache:
            shirt, trousers = (tuple(int(c) for c in colours[s, j]) for j in range(2))
            cache[(k, s)] = replace(subjects[k], shirt=shirt, trousers=trousers)
        dressed.append(cache[(k, s)])
    return dressed


class VideoSimulation:
    """The session's camera: frame times, the rendered frames (lazily) and the truth per frame.

    Constructing it draws the frame times (timing stream) and the renderer's seed and
    lighting phase (render stream), so create it after the CSI has been simulated.
    Iterate :meth:`frames` once, in order; :meth:`truth` then holds the true boxes.
    """

    def __init__(self, scene: Scene, spec: SessionSpec, plan: SessionPlan) -> None:
        rngs = plan.rngs
        self.spec, self.scene = spec, scene
        self.times = timing.frame_times(plan.duration, plan.host_start, rngs["timing"])
        self.at = plan.motion.track.at(self.times.t_capture)
        self.owner = _owner_at(plan.motion, self.times.t_capture)
        self.poses = _poses(scene, plan.subjects, self.at, self.owner)
        self.renderer = RoomRenderer(scene, spec.camera, int(rngs["render"].integers(2**31)))
        phase = rngs["render"].uniform(0, 2 * np.pi)
        t = self.times.t_capture
        self.light = 1.0 + 0.04 * np.sin(2 * np.pi * t / 41.0 + phase) + 0.02 * np.sin(2 * np.pi * t / 7.3)
        self.boxes = np.full((len(self.at.t), 4), np.nan)
        self.dressed = _outfits(spec, plan.subjects, self.owner, t)

    @property
    def model(self) -> CameraModel:
        return self.renderer.model

    def __len__(self) -> int:
        return len(self.at.t)

    def frames(self) -> Iterator[np.ndarray]:
        """Render every frame (BGR images) in order, recording the true person box of each."""
        names = list(self.poses.joints)
        for i in range(len(self)):
            joints = {name: self.poses.joints[name][i] for name in names}
            image, box = self.renderer.render(joints, self.dressed[i], float(self.light[i]), i)
            if box is not None:
                self.boxes[i] = box
            yield image

    def truth(self) -> pd.DataFrame:
        """Per frame: true time, host time, position, heading, subject, point, foot pixel and box."""
        at, boxes = self.at, self.boxes
        ground = np.c_[at.xy + np.asarray(self.scene.region.origin_m), np.zeros(len(at.t))]
        foot = self.model.project(ground) if len(ground) else np.zeros((0, 2))
        return pd.DataFrame(
            {
                "frame": np.arange(len(at.t)),
                "t_true_s": self.times.t_capture,
                "t_host": self.times.host_s,
                "x_m": at.xy[:, 0],
                "y_m": at.xy[:, 1],
                "heading_rad": at.heading,
                "subject": np.array(self.spec.subjects)[self.owner],
                "point": at.point,
                "foot_u": foot[:, 0],
                "foot_v": foot[:, 1],
                "box_x0": boxes[:, 0],
                "box_y0": boxes[:, 1],
                "box_x1": boxes[:, 2],
                "box_y1": boxes[:, 3],
                "visible": np.isfinite(boxes[:, 0]),
            }
        )


# -- calibration and metadata ----------------------------------------------------------------


def calibration_record(scene: Scene, spec: SessionSpec, model: CameraModel, rng: np.random.Generator) -> dict:
    """``calibration.yaml``: four region-corner anchors as a person would click them (+-1-3 px),
    the lens and the region."""
    corners = scene.region.corners
    pixels = model.project(np.c_[scene.region.to_room(corners), np.zeros(4)])
    clicks = pixels + np.clip(rng.normal(0, 1.5, pixels.shape), -3, 3)
    k = model.K
    return {
        "camera_view": spec.camera,
        "image_size": list(model.size_px),
        "anchors": [
            {"pixel": [round(float(u), 2), round(float(v), 2)], "floor": [float(x), float(y)]}
            for (u, v), (x, y) in zip(clicks, corners, strict=True)
        ],
        "intrinsics": {
            "fx": float(k[0, 0]),
            "fy": float(k[1, 1]),
            "cx": float(k[0, 2]),
            "cy": float(k[1, 2]),
        },
        "distortion": [float(v) for v in model.dist],
        "region": {
            "x_m": [0.0, float(scene.region.size_m[0])],
            "y_m": [0.0, float(scene.region.size_m[1])],
        },
    }


def session_record(scene: Scene, spec: SessionSpec, stats: SessionStats, plan: SessionPlan) -> dict:
    """``session.yaml`` of a simulated session."""
    host_start, device_start = plan.host_start, plan.device_start
    return {
        "id": spec.session_id,
        "kind": "synthetic",
        "subjects": list(spec.subjects),
        "room": scene.name,
        "scene_file": scene.source,
        "camera_view": spec.camera,
        "mode": spec.mode,
        "csi_rate_hz": float(scene.radio.ping_hz),
        "camera_rate_hz": NOMINAL_CAMERA_HZ,
        "csv_layout": "esp-radar",
        "seed": spec.seed,
        "duration_s": round(stats.duration_s, 3),
        "host_start": datetime.fromtimestamp(host_start, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "device_clock_start_us": int(device_start),
        "stats": {
            "pings_sent": stats.pings_sent,
            "pings_logged": stats.pings_logged,
            "loss_pct": round(stats.loss_pct, 3),
            "frames": stats.frames,
            "frames_with_person": stats.frames_with_person,
            **stats.extra,
        },
        "simulator": f"lofi {__version__}",
        "written_by": "lofi simulate",
        "notes": "synthetic session; truth/ is for evaluation only",
    }
