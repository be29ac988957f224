"""An articulated walking body: joint positions over time, shared by video and radio.

Proportions follow the usual canon (head = height / 7.5). Legs swing with the gait
phase, arms swing opposite; the swing amplitude grows with walking speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lofi.sim.motion import Trajectory
from lofi.sim.scene import Subject

#: Limbs to draw: (from joint, to joint, radius as a fraction of height, colour part).
LIMBS: tuple[tuple[str, str, float, str], ...] = (
    ("hip_l", "knee_l", 0.040, "trousers"),
    ("knee_l", "ankle_l", 0.033, "trousers"),
    ("ankle_l", "toe_l", 0.022, "shoes"),
    ("hip_r", "knee_r", 0.040, "trousers"),
    ("knee_r", "ankle_r", 0.033, "trousers"),
    ("ankle_r", "toe_r", 0.022, "shoes"),
    ("shoulder_l", "elbow_l", 0.028, "shirt"),
    ("elbow_l", "hand_l", 0.023, "skin"),
    ("shoulder_r", "elbow_r", 0.028, "shirt"),
    ("elbow_r", "hand_r", 0.023, "skin"),
    ("neck", "head", 0.030, "skin"),
)
#: Radar scatterers: (joint or midpoint, share of the radar cross-section).
SCATTERERS: tuple[tuple[str, float], ...] = (
    ("chest", 0.50),
    ("head", 0.10),
    ("knee_l", 0.12),
    ("knee_r", 0.12),
    ("elbow_l", 0.08),
    ("elbow_r", 0.08),
)


@dataclass
class Pose:
    """Joint positions (room frame, m), each an (n, 3) array."""

    joints: dict[str, np.ndarray]
    forward: np.ndarray  # (n, 3) unit facing direction

    def __getitem__(self, name: str) -> np.ndarray:
        return self.joints[name]


def pose(subject: Subject, motion: Trajectory, origin_m: tuple[float, float]) -> Pose:
    """Joint positions for every sample of ``motion`` (region frame -> room frame)."""
    h = subject.height_m
    n = len(motion.t)
    base = np.c_[motion.xy + np.asarray(origin_m), np.zeros(n)]
    fwd = np.c_[np.cos(motion.heading), np.sin(motion.heading), np.zeros(n)]
    left = np.c_[-np.sin(motion.heading), np.cos(motion.heading), np.zeros(n)]
    up = np.array([0.0, 0.0, 1.0])
    phase, swing = motion.gait_phase, motion.swing
    bob = 0.012 * h * swing * np.abs(np.cos(phase))

    def at(forward: np.ndarray | float, lateral: float, height: np.ndarray | float) -> np.ndarray:
        return base + fwd * np.reshape(forward, (-1, 1)) + left * lateral + up * np.reshape(height, (-1, 1))

    joints: dict[str, np.ndarray] = {}
    hip_z = 0.53 * h + bob
    half_hip = 0.095 * h
    half_shoulder = subject.width_m / 2 - 0.035
    for side, sign in (("l", 1.0), ("r", -1.0)):
        thigh = np.radians(24.0) * swing * np.sin(phase) * sign
        knee_bend = np.radians(8.0 + 30.0 * swing * np.clip(np.sin(phase + np.pi / 2) * sign, 0, 1))
        thigh_len, shank_len = 0.245 * h, 0.245 * h
        knee_f = thigh_len * np.sin(thigh)
        knee_z = hip_z - thigh_len * np.cos(thigh)
        shank = thigh - knee_bend
        ankle_f = knee_f + shank_len * np.sin(shank)
        ankle_z = np.maximum(knee_z - shank_len * np.cos(shank), 0.045 * h)
        joints[f"hip_{side}"] = at(0.0, sign * half_hip, hip_z)
        joints[f"knee_{side}"] = at(knee_f, sign * half_hip * 0.9, knee_z)
        joints[f"ankle_{side}"] = at(ankle_f, sign * half_hip * 0.85, ankle_z)
        joints[f"toe_{side}"] = at(ankle_f + 0.14 * h / 1.75 * 1.0, sign * half_hip * 0.85, ankle_z * 0.4)
        arm = -np.radians(20.0) * swing * np.sin(phase) * sign
        upper, fore = 0.186 * h, 0.16 * h
        shoulder_z = 0.815 * h + bob
        elbow_f = upper * np.sin(arm)
        elbow_z = shoulder_z - upper * np.cos(arm)
        fore_angle = arm + np.radians(12.0 + 10.0 * swing)
        joints[f"shoulder_{side}"] = at(0.0, sign * half_shoulder, shoulder_z)
        joints[f"elbow_{side}"] = at(elbow_f, sign * (half_shoulder + 0.02), elbow_z)
        joints[f"hand_{side}"] = at(
            elbow_f + fore * np.sin(fore_angle),
            sign * (half_shoulder + 0.025),
            elbow_z - fore * np.cos(fore_angle),
        )
    joints["pelvis"] = at(0.0, 0.0, hip_z)
    joints["neck"] = at(0.0, 0.0, 0.855 * h + bob)
    joints["chest"] = at(0.0, 0.0, 0.70 * h + bob)
    joints["head"] = at(0.01 * h, 0.0, 0.935 * h + bob)
    return Pose(joints, fwd)


def scatterer_positions(p: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Radar scatterer positions (n, s, 3) and their share of the cross-section (s,)."""
    positions = np.stack([p[name] for name, _ in SCATTERERS], axis=1)
    shares = np.array([share for _, share in SCATTERERS])
    return positions, shares
