"""The radio channel between router and ESP32 at the 52 LLTF subcarriers.

H(f_k, t) = sum over static paths of B_p(t) a_p exp(-j 2 pi f_k tau_p)
          + sum over body scatterers of a_i(t) exp(-j 2 pi f_k (d1_i + d2_i) / c)

Static paths are the line of sight, image-method wall/floor/ceiling reflections up
to order 2 and fixed clutter scatterers; B_p is ITU-R P.526 knife-edge shadowing
of every path segment by the body (a vertical screen). Body scatterers follow the
bistatic radar equation. Amplitudes are relative to the transmitted field
(free space: lambda / (4 pi d)).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from lofi.io.esp32.layouts import LLTF_USEFUL
from lofi.sim.scene import Room

C_MPS = 299_792_458.0
SUBCARRIER_SPACING_HZ = 312_500.0
MAX_SHADOW_DB = 20.0
# Surface -> (axis, which side): side 0 is the plane at 0, side 1 the far plane.
_PLANES = {
    "wall_x0": (0, 0),
    "wall_x1": (0, 1),
    "wall_y0": (1, 0),
    "wall_y1": (1, 1),
    "floor": (2, 0),
    "ceiling": (2, 1),
}


def subcarrier_freqs_hz(channel: int) -> np.ndarray:
    """Frequencies of subcarriers -26..-1, +1..+26 on a 2.4 GHz channel (Hz)."""
    centre = (2407 + 5 * channel) * 1e6
    return centre + LLTF_USEFUL.astype(np.float64) * SUBCARRIER_SPACING_HZ


@dataclass(frozen=True)
class StaticPaths:
    """Static propagation paths and the straight segments each one travels."""

    delay_s: np.ndarray  # (p,)
    amplitude: np.ndarray  # complex (p,), relative to the transmitted field
    seg_start: np.ndarray  # (m, 3) segment start points, room frame (m)
    seg_end: np.ndarray  # (m, 3)
    seg_path: np.ndarray  # (m,) index of the path each segment belongs to
    kind: tuple[str, ...]  # "los", "reflection", "clutter" per path


def _mirror(point: np.ndarray, surface: str, size: np.ndarray) -> np.ndarray:
    axis, side = _PLANES[surface]
    out = point.copy()
    out[axis] = 2 * (size[axis] if side else 0.0) - point[axis]
    return out


def _hit(start: np.ndarray, end: np.ndarray, surface: str, size: np.ndarray) -> np.ndarray | None:
    """Where segment start->end crosses the surface plane, if inside the room."""
    axis, side = _PLANES[surface]
    plane = size[axis] if side else 0.0
    denom = end[axis] - start[axis]
    if abs(denom) < 1e-12:
        return None
    s = (plane - start[axis]) / denom
    if not 1e-9 < s < 1 - 1e-9:
        return None
    point = start + s * (end - start)
    if np.any(point < -1e-9) or np.any(point > size + 1e-9):
        return None
    return point


def image_paths(room: Room, tx: np.ndarray, rx: np.ndarray, freq_hz: float, max_order: int = 2) -> list:
    """LOS and specular reflections up to ``max_order`` as (delay, amplitude, points, kind)."""
    size = np.asarray(room.size_m, dtype=np.float64)
    lam = C_MPS / freq_hz
    paths = []
    d = float(np.linalg.norm(rx - tx))
    paths.append((d / C_MPS, lam / (4 * np.pi * d) + 0j, [tx, rx], "los"))
    seen: set[tuple[float, ...]] = set()
    for order in range(1, max_order + 1):
        for seq in itertools.product(_PLANES, repeat=order):
            if any(a == b for a, b in itertools.pairwise(seq)):
                continue
            images = [tx]
            for surface in seq:
                images.append(_mirror(images[-1], surface, size))
            key = tuple(np.round(images[-1], 6))
            points = _reflection_points(images, seq, rx, size)
            if points is None or key in seen:
                continue
            seen.add(key)
            length = float(np.linalg.norm(images[-1] - rx))
            gamma = np.prod([-room.gamma[s] for s in seq])
            paths.append(
                (length / C_MPS, gamma * lam / (4 * np.pi * length) + 0j, [tx, *points, rx], "reflection")
            )
    return paths


def _reflection_points(images: list, seq: tuple, rx: np.ndarray, size: np.ndarray) -> list | None:
    """Bounce points of a reflection sequence, or None if the path is not realisable."""
    points = []
    target = rx
    for k in range(len(seq) - 1, -1, -1):
        hit = _hit(images[k + 1], target, seq[k], size)
        if hit is None:
            return None
        points.append(hit)
        target = hit
    return points[::-1]


def clutter_paths(
    room: Room, tx: np.ndarray, rx: np.ndarray, freq_hz: float, los_amplitude: float, rng: np.random.Generator
) -> list:
    """Fixed point scatterers (furniture), total power ``clutter_db_below_los`` under the LOS."""
    size = np.asarray(room.size_m, dtype=np.float64)
    lam = C_MPS / freq_hz
    if room.clutter_count == 0:
        return []
    points = rng.uniform([0.2, 0.2, 0.2], size - [0.2, 0.2, 0.8], size=(room.clutter_count, 3))
    sigma = rng.lognormal(np.log(0.5), 0.8, room.clutter_count)
    d1 = np.linalg.norm(points - tx, axis=1)
    d2 = np.linalg.norm(points - rx, axis=1)
    amp = lam / (4 * np.pi) * np.sqrt(sigma / (4 * np.pi)) / (d1 * d2)
    target_power = los_amplitude**2 * 10 ** (-room.clutter_db_below_los / 10)
    amp *= np.sqrt(target_power / np.sum(amp**2))
    phase = np.exp(1j * rng.uniform(0, 2 * np.pi, room.clutter_count))
    return [
        ((a + b) / C_MPS, m * ph, [tx, p, rx], "clutter")
        for a, b, m, ph, p in zip(d1, d2, amp, phase, points, strict=True)
    ]


def build_static_paths(
    room: Room, tx: np.ndarray, rx: np.ndarray, freq_hz: float, rng: np.random.Generator
) -> StaticPaths:
    """All static paths of a scene with their segments for shadowing."""
    paths = image_paths(room, tx, rx, freq_hz)
    paths += clutter_paths(room, tx, rx, freq_hz, abs(paths[0][1]), rng)
    starts, ends, owner = [], [], []
    for p, (_, _, points, _) in enumerate(paths):
        for a, b in itertools.pairwise(points):
            starts.append(a)
            ends.append(b)
            owner.append(p)
    return StaticPaths(
        np.array([p[0] for p in paths]),
        np.array([p[1] for p in paths]),
        np.array(starts),
        np.array(ends),
        np.array(owner),
        tuple(p[3] for p in paths),
    )


def knife_edge_loss_db(nu: np.ndarray) -> np.ndarray:
    """ITU-R P.526 single knife-edge diffraction loss J(nu) in dB (0 for nu <= -0.78)."""
    nu = np.asarray(nu, dtype=np.float64)
    loss = 6.9 + 20 * np.log10(np.sqrt((nu - 0.1) ** 2 + 1) + nu - 0.1)
    return np.where(nu > -0.78, np.minimum(loss, MAX_SHADOW_DB), 0.0)


def shadowing_db(
    paths: StaticPaths, body_xy: np.ndarray, width_m: float, height_m: float, wavelength_m: float
) -> np.ndarray:
    """Shadowing loss (dB) of every static path by a body at each position (n, p)."""
    a, b = paths.seg_start, paths.seg_end
    ab = b - a
    ab2 = np.maximum(np.sum(ab[:, :2] ** 2, axis=1), 1e-12)
    rel = body_xy[:, None, :] - a[None, :, :2]
    s = np.sum(rel * ab[None, :, :2], axis=2) / ab2
    inside = (s > 1e-3) & (s < 1 - 1e-3)
    s = np.clip(s, 1e-3, 1 - 1e-3)
    closest = a[None, :, :2] + s[..., None] * ab[None, :, :2]
    d_perp = np.linalg.norm(closest - body_xy[:, None, :], axis=2)
    z_ray = a[None, :, 2] + s * ab[None, :, 2]
    h = np.minimum(width_m / 2 - d_perp, height_m - z_ray)
    length = np.linalg.norm(ab, axis=1)[None, :]
    d1, d2 = s * length, (1 - s) * length
    nu = h * np.sqrt(2 * (d1 + d2) / (wavelength_m * d1 * d2))
    seg_loss = np.where(inside, knife_edge_loss_db(nu), 0.0)
    out = np.zeros((len(body_xy), len(paths.delay_s)))
    np.add.at(out.T, paths.seg_path, seg_loss.T)
    return np.minimum(out, MAX_SHADOW_DB)


def static_response(paths: StaticPaths, freqs_hz: np.ndarray) -> np.ndarray:
    """Per-path frequency response a_p exp(-j 2 pi f tau_p), shape (p, k)."""
    return paths.amplitude[:, None] * np.exp(-2j * np.pi * freqs_hz[None, :] * paths.delay_s[:, None])


def body_response(
    scatterers: np.ndarray,
    shares: np.ndarray,
    rcs_m2: float,
    phases: np.ndarray,
    tx: np.ndarray,
    rx: np.ndarray,
    freqs_hz: np.ndarray,
) -> np.ndarray:
    """Sum of the body's scattered paths (n, k) via the bistatic radar equation."""
    lam = C_MPS / freqs_hz.mean()
    d1 = np.linalg.norm(scatterers - tx, axis=2)
    d2 = np.linalg.norm(scatterers - rx, axis=2)
    amp = lam / (4 * np.pi) * np.sqrt(rcs_m2 * shares[None, :] / (4 * np.pi)) / (d1 * d2)
    coeff = amp * np.exp(1j * phases)
    delay = (d1 + d2) / C_MPS
    return np.einsum("ns,nsk->nk", coeff, np.exp(-2j * np.pi * delay[..., None] * freqs_hz[None, None, :]))
