"""Pinhole camera with plumb-bob lens distortion (OpenCV conventions).

World points are metres in the room frame (z up). Pixels are (u, v) with the
origin at the top-left corner. Rendering happens on an undistorted pinhole
canvas with a margin; :meth:`CameraModel.distortion_maps` then warps it into the
distorted image the real lens would give.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Camera:
    """One camera view of a scene file: position and look-at point (m, room frame), horizontal
    field of view (degrees), image size (px) and plumb-bob distortion."""

    name: str
    position_m: tuple[float, float, float]
    look_at_m: tuple[float, float, float]
    hfov_deg: float
    size_px: tuple[int, int]
    distortion: tuple[float, float, float, float, float]  # k1, k2, p1, p2, k3 (plumb bob)


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics ``K``, distortion ``dist``, rotation ``R`` (world->camera), centre ``C``."""

    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    C: np.ndarray
    size_px: tuple[int, int]
    margin: float = 0.35  # extra canvas on each side for the undistorted render

    @classmethod
    def from_scene(cls, cam: Camera, principal_offset_px: tuple[float, float] = (0.0, 0.0)) -> CameraModel:
        """Camera looking from ``position_m`` at ``look_at_m``, no roll."""
        width, height = cam.size_px
        fx = (width / 2) / np.tan(np.radians(cam.hfov_deg) / 2)
        K = np.array(
            [
                [fx, 0.0, width / 2 + principal_offset_px[0]],
                [0.0, fx, height / 2 + principal_offset_px[1]],
                [0.0, 0.0, 1.0],
            ]
        )
        C = np.asarray(cam.position_m, dtype=np.float64)
        forward = np.asarray(cam.look_at_m, dtype=np.float64) - C
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        R = np.stack([right, down, forward])
        return cls(K, np.asarray(cam.distortion, dtype=np.float64), R, C, (width, height))

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (N x 3, m) in camera coordinates (x right, y down, z forward)."""
        return (np.asarray(points, dtype=np.float64) - self.C) @ self.R.T

    def in_front(self, points: np.ndarray, near: float = 0.1) -> np.ndarray:
        """True for points more than ``near`` metres in front of the camera."""
        return self.to_camera(points)[:, 2] > near

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (N x 3) to distorted pixels (N x 2)."""
        rvec, _ = cv2.Rodrigues(self.R)
        tvec = -self.R @ self.C
        pixels, _ = cv2.projectPoints(
            np.asarray(points, np.float64).reshape(-1, 1, 3), rvec, tvec, self.K, self.dist
        )
        return pixels.reshape(-1, 2)

    # -- undistorted canvas ---------------------------------------------------------

    @property
    def canvas_size(self) -> tuple[int, int]:
        """(width, height) of the pinhole canvas, margin included."""
        width, height = self.size_px
        return round(width * (1 + 2 * self.margin)), round(height * (1 + 2 * self.margin))

    @property
    def canvas_offset(self) -> np.ndarray:
        """Pixel offset of the image origin inside the canvas."""
        width, height = self.size_px
        return np.array([width * self.margin, height * self.margin])

    def project_canvas(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points to undistorted canvas pixels (N x 2) and their depth (m)."""
        cam = self.to_camera(points)
        z = cam[:, 2]
        safe = np.where(z > 1e-6, z, 1e-6)
        u = self.K[0, 0] * cam[:, 0] / safe + self.K[0, 2]
        v = self.K[1, 1] * cam[:, 1] / safe + self.K[1, 2]
        return np.c_[u, v] + self.canvas_offset, z

    def distortion_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """cv2.remap maps taking the undistorted canvas to the distorted image."""
        width, height = self.size_px
        grid = np.stack(np.meshgrid(np.arange(width), np.arange(height)), axis=-1).reshape(-1, 1, 2)
        normalised = cv2.undistortPoints(grid.astype(np.float64), self.K, self.dist)
        ideal = normalised.reshape(-1, 2) * [self.K[0, 0], self.K[1, 1]] + [self.K[0, 2], self.K[1, 2]]
        ideal += self.canvas_offset
        map_x = ideal[:, 0].reshape(height, width).astype(np.float32)
        map_y = ideal[:, 1].reshape(height, width).astype(np.float32)
        return cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
