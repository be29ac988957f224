"""Where the person is: smooth random walks and the surveyed-points routine.

Trajectories are sampled every ``DT_S`` seconds on the session clock (s from the
session start) in the floor-region frame (m) and interpolated to any other times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DT_S = 0.01
SPEED_RANGE_MPS = (0.3, 1.3)
#: The 10 surveyed points, as fractions of the region's width and depth.
SURVEY_POINTS_FRAC = np.array(
    [
        [0.25, 0.1],
        [0.75, 0.1],
        [0.25, 0.3],
        [0.75, 0.3],
        [0.5, 0.5],
        [0.25, 0.7],
        [0.75, 0.7],
        [0.25, 0.9],
        [0.75, 0.9],
        [0.5, 0.2],
    ]
)


@dataclass
class Trajectory:
    """Samples of one person's motion (region frame, session clock)."""

    t: np.ndarray  # s
    xy: np.ndarray  # m, (n, 2)
    heading: np.ndarray  # rad, facing direction (unwrapped)
    speed: np.ndarray  # m/s
    gait_phase: np.ndarray  # rad (unwrapped), one cycle per stride
    swing: np.ndarray  # 0..1, limb swing amplitude
    point: np.ndarray  # surveyed point index while standing at one, else -1

    def at(self, times: np.ndarray) -> Trajectory:
        """The trajectory linearly interpolated at ``times`` (s); ``point`` by nearest sample."""
        times = np.asarray(times, dtype=np.float64)

        def lerp(values: np.ndarray) -> np.ndarray:
            return np.interp(times, self.t, values)

        idx = np.clip(np.round((times - self.t[0]) / DT_S).astype(np.int64), 0, len(self.t) - 1)
        return Trajectory(
            times,
            np.c_[lerp(self.xy[:, 0]), lerp(self.xy[:, 1])],
            lerp(self.heading),
            lerp(self.speed),
            lerp(self.gait_phase),
            lerp(self.swing),
            self.point[idx],
        )


def survey_points(region_size_m: tuple[float, float]) -> np.ndarray:
    """The 10 surveyed points (region frame, m)."""
    return SURVEY_POINTS_FRAC * np.asarray(region_size_m)


def random_walk(
    region_size_m: tuple[float, float], duration_s: float, step_hz: float, rng: np.random.Generator
) -> Trajectory:
    """A smooth random walk (0.3-1.3 m/s, pauses, turns) that stays in the region."""
    n = int(np.ceil(duration_s / DT_S)) + 1
    size = np.asarray(region_size_m, dtype=np.float64)
    margin = 0.2
    pos = rng.uniform(margin, size - margin)
    heading = rng.uniform(-np.pi, np.pi)
    turn_rate, speed, target = 0.0, 0.0, rng.uniform(*SPEED_RANGE_MPS)
    next_target, pause_left = rng.exponential(5.0), 0.0
    xy, headings, speeds = np.empty((n, 2)), np.empty(n), np.empty(n)
    for i in range(n):
        if pause_left > 0:
            pause_left -= DT_S
            speed *= np.exp(-DT_S / 0.3)
        else:
            speed += (target - speed) * DT_S / 0.7
            if rng.random() < DT_S / 12.0:
                pause_left = rng.uniform(1.0, 4.0)
        next_target -= DT_S
        if next_target <= 0:
            target, next_target = rng.uniform(*SPEED_RANGE_MPS), rng.exponential(5.0)
        turn_rate += -turn_rate * DT_S / 1.0 + 1.2 * np.sqrt(DT_S) * rng.normal()
        heading += (turn_rate + _steer_inside(pos, heading, size, margin)) * DT_S
        pos = np.clip(pos + speed * DT_S * np.array([np.cos(heading), np.sin(heading)]), 0.05, size - 0.05)
        xy[i], headings[i], speeds[i] = pos, heading, speed
    return _with_gait(np.arange(n) * DT_S, xy, headings, speeds, step_hz, np.full(n, -1))


def _steer_inside(pos: np.ndarray, heading: float, size: np.ndarray, margin: float) -> float:
    """Turn rate (rad/s) toward the centre when the look-ahead point leaves the region."""
    ahead = pos + 0.8 * np.array([np.cos(heading), np.sin(heading)])
    if np.all(ahead > margin) and np.all(ahead < size - margin):
        return 0.0
    to_centre = np.arctan2(*(size / 2 - pos)[::-1])
    return 3.0 * float(np.angle(np.exp(1j * (to_centre - heading))))


def surveyed_walk(
    region_size_m: tuple[float, float],
    stand_s: float,
    step_hz: float,
    rng: np.random.Generator,
    walk_speed_mps: float = 0.8,
) -> Trajectory:
    """Walk to each of the 10 surveyed points in turn and stand there ``stand_s`` seconds."""
    points = survey_points(region_size_m)
    pieces_xy, pieces_point, pieces_heading = [], [], []
    pos = np.array([region_size_m[0] / 2, 0.05])
    heading = np.pi / 2
    for k, target in enumerate(points):
        leg = target - pos
        dist = float(np.linalg.norm(leg))
        if dist > 1e-6:
            heading = float(np.arctan2(leg[1], leg[0]))
            steps = max(int(np.ceil(dist / walk_speed_mps / DT_S)), 1)
            frac = np.arange(1, steps + 1)[:, None] / steps
            pieces_xy.append(pos + frac * leg)
            pieces_point.append(np.full(steps, -1))
            pieces_heading.append(np.full(steps, heading))
        standing = round(stand_s / DT_S)
        sway = rng.normal(0, 0.004, size=(standing, 2)).cumsum(axis=0) * 0.1
        pieces_xy.append(target + sway)
        pieces_point.append(np.full(standing, k))
        pieces_heading.append(np.full(standing, heading + rng.normal(0, 0.3)))
        pos = target
    xy = np.concatenate(pieces_xy)
    point = np.concatenate(pieces_point)
    t = np.arange(len(xy)) * DT_S
    speed = np.r_[0.0, np.linalg.norm(np.diff(xy, axis=0), axis=1) / DT_S]
    speed = np.convolve(speed, np.ones(25) / 25, mode="same")
    return _with_gait(t, xy, np.concatenate(pieces_heading), speed, step_hz, point)


def _with_gait(
    t: np.ndarray, xy: np.ndarray, heading: np.ndarray, speed: np.ndarray, step_hz: float, point: np.ndarray
) -> Trajectory:
    """Add the gait: stride rate grows mildly with speed, swing with speed up to 1 m/s."""
    stride_hz = step_hz * (0.6 + 0.4 * np.clip(speed, 0, 1.5))
    phase = np.cumsum(2 * np.pi * stride_hz * DT_S)
    swing = np.clip(speed / 1.0, 0.0, 1.0)
    return Trajectory(t, xy, heading, speed, phase, swing, point)
