"""Pixel -> floor mapping (paper eqs. 2-3) from floor anchors.

Exactly four anchors give the perspective transform (``cv2.getPerspectiveTransform``);
more give a least-squares homography (``cv2.findHomography``, optionally RANSAC).
With intrinsics and distortion, pixels are undistorted first. Degenerate anchor
sets are rejected with a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import cv2
import numpy as np

from lofi.io.constants import DEFAULT_REGION_M

COLLINEAR_TOLERANCE_PX = 2.0  # a point closer than this to the line through two others


class CalibrationError(ValueError):
    """The anchors cannot define a pixel-to-floor mapping."""


#: Largest plausible anchor coordinates: pixels (px) and floor points (m).
MAX_PIXEL = 1e5
MAX_FLOOR_M = 1e4


def _finite(value: object, what: str) -> float:
    """``value`` as a finite float, or a :class:`CalibrationError` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise CalibrationError(f"{what}: expected a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Lens:
    """Camera intrinsics (px) and plumb-bob distortion (k1, k2, p1, p2, k3)."""

    K: np.ndarray
    dist: np.ndarray

    @classmethod
    def from_dict(cls, intrinsics: dict, distortion: list[float]) -> Lens:
        """A lens from ``intrinsics`` {fx, fy, cx, cy} (px; fx, fy > 0) and 4, 5 or 8 distortion terms."""
        if not isinstance(intrinsics, dict):
            raise CalibrationError(f"intrinsics: expected {{fx, fy, cx, cy}}, got {intrinsics!r}")
        values = {}
        for key in ("fx", "fy", "cx", "cy"):
            if key not in intrinsics:
                raise CalibrationError(f"intrinsics.{key}: missing")
            values[key] = _finite(intrinsics[key], f"intrinsics.{key}")
            if key in ("fx", "fy") and values[key] <= 0:
                raise CalibrationError(f"intrinsics.{key}: {values[key]:g} must be > 0 (focal length in px)")
        if not isinstance(distortion, list | tuple) or len(distortion) not in (4, 5, 8):
            raise CalibrationError(
                f"distortion: expected 4, 5 or 8 numbers (k1, k2, p1, p2[, k3...]), got {distortion!r}"
            )
        dist = np.array([_finite(v, f"distortion[{i}]") for i, v in enumerate(distortion)])
        K = np.array([[values["fx"], 0.0, values["cx"]], [0.0, values["fy"], values["cy"]], [0.0, 0.0, 1.0]])
        return cls(K, dist)

    def undistort(self, pixels: np.ndarray) -> np.ndarray:
        """Distorted pixels (N x 2) -> ideal pinhole pixels (N x 2)."""
        pts = np.asarray(pixels, dtype=np.float64).reshape(-1, 1, 2)
        return cv2.undistortPoints(pts, self.K, self.dist, P=self.K).reshape(-1, 2)

    def distort(self, ideal: np.ndarray) -> np.ndarray:
        """Ideal pinhole pixels (N x 2) -> distorted pixels (N x 2), the inverse of :meth:`undistort`."""
        ideal = np.asarray(ideal, dtype=np.float64).reshape(-1, 2)
        rays = np.c_[(ideal - self.K[:2, 2]) / np.diag(self.K)[:2], np.ones(len(ideal))]
        projected, _ = cv2.projectPoints(rays.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), self.K, self.dist)
        return projected.reshape(-1, 2)


@dataclass(frozen=True)
class CameraPose:
    """Where the camera is over the floor and where vertical lines meet in the image.

    ``position`` is the camera centre in floor coordinates (m; ``abs(z)`` is its height);
    ``vertical_vanishing_point`` is the homogeneous ideal-pixel point (3,) that the
    images of all vertical lines (an upright person's axis) pass through.
    """

    position: np.ndarray
    vertical_vanishing_point: np.ndarray

    @property
    def nadir(self) -> np.ndarray:
        """The floor point (m) straight below the camera."""
        return self.position[:2]


@dataclass(frozen=True)
class Calibration:
    """Anchors (pixel <-> floor, m), optional lens, image size and the fitted homography."""

    pixels: np.ndarray
    floor: np.ndarray
    image_size: tuple[int, int] | None = None
    lens: Lens | None = None
    ransac: bool = False
    H: np.ndarray = field(init=False)
    inliers: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        pixels = np.asarray(self.pixels, dtype=np.float64).reshape(-1, 2)
        floor = np.asarray(self.floor, dtype=np.float64).reshape(-1, 2)
        object.__setattr__(self, "pixels", pixels)
        object.__setattr__(self, "floor", floor)
        validate_anchors(pixels, floor, self.image_size)
        H, inliers = fit_homography(self._ideal(pixels), floor, self.ransac)
        object.__setattr__(self, "H", H)
        object.__setattr__(self, "inliers", inliers)

    def _ideal(self, pixels: np.ndarray) -> np.ndarray:
        return self.lens.undistort(pixels) if self.lens is not None else np.asarray(pixels, np.float64)

    def to_floor(self, pixels: np.ndarray) -> np.ndarray:
        """Pixels (N x 2, NaN allowed) -> floor points (N x 2, m), eq. (3)."""
        pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        out = np.full(pixels.shape, np.nan)
        ok = np.all(np.isfinite(pixels), axis=1)
        if ok.any():
            ideal = self._ideal(pixels[ok])
            out[ok] = cv2.perspectiveTransform(ideal.reshape(-1, 1, 2), self.H).reshape(-1, 2)
        return out

    def to_pixels(self, floor: np.ndarray) -> np.ndarray:
        """Floor points (m) -> pixels (distorted if a lens is known)."""
        ideal = cv2.perspectiveTransform(
            np.asarray(floor, np.float64).reshape(-1, 1, 2), np.linalg.inv(self.H)
        )
        ideal = ideal.reshape(-1, 2)
        return ideal if self.lens is None else self.lens.distort(ideal)

    def camera_pose(self) -> CameraPose:
        """Camera centre and vertical vanishing point from the homography and the intrinsics.

        The floor-to-image homography is ``K [r1 r2 t]`` up to scale (floor at z = 0);
        its columns give the rotation's first two columns and the translation, so
        ``r3 = r1 x r2`` is the floor normal (its image ``K r3`` is the vertical
        vanishing point) and the camera centre is ``-R^T t``. With noisy anchors
        ``r1`` and ``r2`` are not exactly orthonormal; their mean length sets the
        scale. Needs intrinsics (``CalibrationError`` without them).
        """
        if self.lens is None:
            raise CalibrationError("the camera pose needs intrinsics (fx, fy, cx, cy) in calibration.yaml")
        M = np.linalg.inv(self.lens.K) @ np.linalg.inv(self.H)
        scale = 2.0 / (np.linalg.norm(M[:, 0]) + np.linalg.norm(M[:, 1]))
        r1, r2, t = (scale * M).T
        if t[2] < 0:  # the floor lies in front of the camera
            r1, r2, t = -r1, -r2, -t
        R = np.c_[r1, r2, np.cross(r1, r2)]
        position = -R.T @ t
        return CameraPose(position, self.lens.K @ R[:, 2])

    def reprojection_error_m(self) -> np.ndarray:
        """Per-anchor floor distance (m) between each anchor and where its pixel maps."""
        return np.linalg.norm(self.to_floor(self.pixels) - self.floor, axis=1)


def validate_anchors(pixels: np.ndarray, floor: np.ndarray, image_size: tuple[int, int] | None) -> None:
    """Reject anchor sets that cannot define a homography."""
    if len(pixels) != len(floor):
        raise CalibrationError(f"{len(pixels)} pixel anchors but {len(floor)} floor anchors")
    if len(pixels) < 4:
        raise CalibrationError(f"at least 4 anchors are needed, got {len(pixels)}")
    if not (np.all(np.isfinite(pixels)) and np.all(np.isfinite(floor))):
        raise CalibrationError("anchor coordinates must be finite numbers")
    for name, points, limit in (("pixel", pixels, MAX_PIXEL), ("floor", floor, MAX_FLOOR_M)):
        far = np.flatnonzero(np.abs(points).max(axis=1) > limit)
        if len(far):
            k = int(far[0])
            raise CalibrationError(
                f"anchor {k} {name} {points[k].tolist()} is beyond +-{limit:g}; not a real point"
            )
    if image_size is not None:
        width, height = image_size
        outside = np.flatnonzero(
            (pixels[:, 0] < 0) | (pixels[:, 0] > width) | (pixels[:, 1] < 0) | (pixels[:, 1] > height)
        )
        if len(outside):
            k = int(outside[0])
            raise CalibrationError(
                f"anchor {k} pixel {pixels[k].tolist()} lies outside the {width}x{height} image"
            )
    for name, points, tolerance in (("pixel", pixels, COLLINEAR_TOLERANCE_PX), ("floor", floor, 1e-3)):
        if len(points) == 4:
            triple = _collinear_triple(points, tolerance)
            if triple is not None:
                raise CalibrationError(f"anchors {triple} are collinear in {name} coordinates")
        elif not _has_general_quad(points, tolerance):
            raise CalibrationError(
                f"no 4 of the {len(points)} anchors are free of collinear triples ({name})"
            )


def _collinear_triple(points: np.ndarray, tolerance: float) -> tuple[int, int, int] | None:
    """Indices of three points within ``tolerance`` of a common line, if any."""
    for i, j, k in combinations(range(len(points)), 3):
        a, b, c = points[i], points[j], points[k]
        base = max(np.linalg.norm(b - a), np.linalg.norm(c - a), np.linalg.norm(c - b))
        area2 = abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
        if base == 0 or area2 / base < tolerance:
            return i, j, k
    return None


def _has_general_quad(points: np.ndarray, tolerance: float) -> bool:
    """True if some 4 anchors have no 3 on a line (needed for more than 4 anchors)."""
    return any(
        _collinear_triple(points[list(q)], tolerance) is None for q in combinations(range(len(points)), 4)
    )


def fit_homography(
    pixels: np.ndarray, floor: np.ndarray, ransac: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Homography pixel -> floor and the inlier mask (eq. 2)."""
    src, dst = pixels.astype(np.float32), floor.astype(np.float32)
    if len(pixels) == 4:
        H, mask = cv2.getPerspectiveTransform(src, dst).astype(np.float64), np.ones(4, dtype=bool)
    else:
        H, mask = cv2.findHomography(pixels, floor, cv2.RANSAC if ransac else 0, 0.05)
        if H is None:
            raise CalibrationError("cv2.findHomography found no homography for these anchors")
        mask = mask.ravel().astype(bool) if mask is not None else np.ones(len(pixels), dtype=bool)
    if not np.all(np.isfinite(H)) or abs(np.linalg.det(H)) < 1e-12 * np.abs(H).max() ** 3:
        raise CalibrationError("the anchors give a degenerate (singular) pixel-to-floor mapping")
    return H, mask


def calibration_from_dict(data: dict, source: str = "calibration.yaml", ransac: bool = False) -> Calibration:
    """Build a :class:`Calibration` from the ``calibration.yaml`` structure; errors name ``source``."""
    try:
        pixels, floor = _anchors(data.get("anchors"))
        lens = None
        if data.get("intrinsics") is not None:
            lens = Lens.from_dict(data["intrinsics"], data.get("distortion") or [0.0] * 5)
        return Calibration(pixels, floor, _image_size(data.get("image_size")), lens, ransac)
    except CalibrationError as err:
        raise CalibrationError(f"{source}: {err}") from err


def _anchors(anchors: object) -> tuple[np.ndarray, np.ndarray]:
    """Pixel (px) and floor (m) coordinates of ``[{pixel: [u, v], floor: [x, y]}, ...]``."""
    shape = "anchors must be a list of {pixel: [u, v], floor: [x, y]}"
    if not isinstance(anchors, list):
        raise CalibrationError(f"{shape}, got {anchors!r}")
    pixels, floor = [], []
    for k, anchor in enumerate(anchors):
        if not isinstance(anchor, dict) or "pixel" not in anchor or "floor" not in anchor:
            raise CalibrationError(f"anchors[{k}]: {shape}, got {anchor!r}")
        for key, out in (("pixel", pixels), ("floor", floor)):
            value = anchor[key]
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise CalibrationError(f"anchors[{k}].{key}: expected 2 numbers, got {value!r}")
            out.append([_finite(v, f"anchors[{k}].{key}") for v in value])
    return np.array(pixels, dtype=np.float64).reshape(-1, 2), np.array(floor, dtype=np.float64).reshape(-1, 2)


def _image_size(value: object) -> tuple[int, int] | None:
    """``image_size: [width, height]`` (px, positive integers), or None when not given."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise CalibrationError(f"image_size: expected [width, height] in px, got {value!r}")
    size = [_finite(v, "image_size") for v in value]
    if any(v < 1 or v != int(v) for v in size):
        raise CalibrationError(f"image_size: expected two positive whole numbers of px, got {value!r}")
    return int(size[0]), int(size[1])


def region_size(data: dict, source: str = "calibration.yaml") -> tuple[float, float] | None:
    """Floor region size (w, d) in m from a calibration's ``region`` entry (``hi - lo`` of its
    ``x_m`` and ``y_m``), if given; the region's own frame starts at 0 (see :class:`FloorRegion`)."""
    region = data.get("region")
    if region is None:
        return None
    if not isinstance(region, dict) or "x_m" not in region or "y_m" not in region:
        raise CalibrationError(f"{source}: region must be {{x_m: [lo, hi], y_m: [lo, hi]}}, got {region!r}")
    sizes = []
    for key in ("x_m", "y_m"):
        bounds = region[key]
        if not isinstance(bounds, list | tuple) or len(bounds) != 2:
            raise CalibrationError(f"{source}: region.{key}: expected [lo, hi] in m, got {bounds!r}")
        try:
            lo, hi = (_finite(v, f"region.{key}") for v in bounds)
        except CalibrationError as err:
            raise CalibrationError(f"{source}: {err}") from err
        if not 0 < hi - lo <= MAX_FLOOR_M:
            raise CalibrationError(f"{source}: region.{key}: [{lo:g}, {hi:g}] must have hi > lo (m)")
        sizes.append(hi - lo)
    return sizes[0], sizes[1]


def load_calibration(data: dict, source: str) -> tuple[Calibration, tuple[float, float] | None]:
    """Calibration and region size from a parsed ``calibration.yaml``."""
    return calibration_from_dict(data, source), region_size(data, source)


class RegionError(ValueError):
    """A floor point lies outside the floor region (or is not a finite point)."""


@dataclass(frozen=True)
class FloorRegion:
    """The floor region in its own frame: ``[0, w] x [0, d]`` m, origin at the region's corner.

    Labels, ``position_m`` of ``session.yaml`` and ``--at`` are all in this frame. A calibration's
    ``region: {x_m: [lo, hi], y_m: [lo, hi]}`` gives only the size ``(hi - lo)``. ``source`` says
    where the size comes from (a ``calibration.yaml``, a scene, or the default lab region).
    """

    size_m: tuple[float, float]
    source: str


#: Where the default region's size comes from, as :class:`FloorRegion` ``source`` says it.
DEFAULT_REGION_SOURCE = "the default lab region"


def default_region() -> FloorRegion:
    """The lab's floor region (:data:`~lofi.io.constants.DEFAULT_REGION_M`, m)."""
    return FloorRegion(DEFAULT_REGION_M, DEFAULT_REGION_SOURCE)


#: How far (m) a point may lie past the region's edge and still be on it: float rounding only (a
#: calibration region [1.0, 2.8] is 1.7999999999999998 m wide).
EDGE_TOLERANCE_M = 1e-9


def check_point(point_m: tuple[float, float], region: FloorRegion, where: str) -> tuple[float, float]:
    """``point_m`` (x, y in m, region frame) as floats if it lies in ``region`` (edges included, to
    :data:`EDGE_TOLERANCE_M`), else a :class:`RegionError` naming ``where`` (the option, or the file
    and field), the value and the region."""
    w, d = region.size_m
    x, y = (float(v) for v in point_m)
    tol = EDGE_TOLERANCE_M
    if not (-tol <= x <= w + tol and -tol <= y <= d + tol):  # NaN fails too
        raise RegionError(
            f"{where} = {x:g},{y:g} m lies outside the floor region x 0..{w:g} m, y 0..{d:g} m "
            f"({region.source}); a surveyed point is given in metres in the region's frame, from its corner"
        )
    return x, y
