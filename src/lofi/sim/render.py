"""Render webcam frames: a textured room with furniture and posters, and a shaded,
articulated walking person with a soft shadow, seen through a distorting lens.

Drawing happens on an undistorted pinhole canvas (OpenCV primitives, painter's
order), then one remap applies the lens distortion. The person's true box is the
bounding box of the pixels the person covers in the final image.
"""

from __future__ import annotations

import cv2
import numpy as np

from lofi.sim.body import LIMBS
from lofi.sim.camera import CameraModel
from lofi.sim.scene import Scene, Subject

WALL_COLORS = {
    "wall_x0": (176, 186, 196),
    "wall_x1": (168, 180, 190),
    "wall_y0": (186, 190, 194),
    "wall_y1": (172, 184, 198),
}
FLOOR_COLORS = ((112, 122, 136), (100, 110, 124))
TILE_M = 0.6
SHOES = (35, 35, 40)
_NOISE_FRAMES = 6


def clip_near(points_cam: np.ndarray, near: float = 0.05) -> np.ndarray:
    """Clip a polygon (camera coordinates) to z >= near (Sutherland-Hodgman)."""
    out = []
    n = len(points_cam)
    for i in range(n):
        a, b = points_cam[i], points_cam[(i + 1) % n]
        a_in, b_in = a[2] >= near, b[2] >= near
        if a_in:
            out.append(a)
        if a_in != b_in:
            s = (near - a[2]) / (b[2] - a[2])
            out.append(a + s * (b - a))
    return np.array(out)


class RoomRenderer:
    """Renders frames of one camera view of a scene."""

    def __init__(self, scene: Scene, camera: str, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.scene = scene
        self.model = CameraModel.from_scene(scene.camera(camera), tuple(rng.uniform(-8, 8, 2)))
        self.maps = self.model.distortion_maps()
        self.background = self._render_room(rng)
        self.focal = float(self.model.K[0, 0])
        shape = self.background.shape[:2]
        self._mask = np.zeros(shape, dtype=np.uint8)
        width, height = self.model.size_px
        self._noise = [
            (
                np.clip(rng.normal(0, 3.0, (height, width, 3)), 0, 255).astype(np.uint8),
                np.clip(-rng.normal(0, 3.0, (height, width, 3)), 0, 255).astype(np.uint8),
            )
            for _ in range(_NOISE_FRAMES)
        ]

    # -- the room, drawn once -------------------------------------------------------

    def _poly(self, canvas: np.ndarray, world: np.ndarray, color: tuple[int, ...]) -> None:
        cam = clip_near(self.model.to_camera(world))
        if len(cam) < 3:
            return
        uv = self.model.K[:2, :2] @ (cam[:, :2] / cam[:, 2:3]).T + self.model.K[:2, 2:3]
        uv = uv.T + self.model.canvas_offset
        pts = np.clip(np.round(uv * 4), -(2**28), 2**28).astype(np.int32)
        cv2.fillPoly(canvas, [pts], color, lineType=cv2.LINE_AA, shift=2)

    def _render_room(self, rng: np.random.Generator) -> np.ndarray:
        width, height = self.model.canvas_size
        canvas = np.full((height, width, 3), 120, dtype=np.uint8)
        lx, ly, lz = self.scene.room.size_m
        for i, x in enumerate(np.arange(0, lx, TILE_M)):
            for j, y in enumerate(np.arange(0, ly, TILE_M)):
                x1, y1 = min(x + TILE_M, lx), min(y + TILE_M, ly)
                shade = np.array(FLOOR_COLORS[(i + j) % 2]) + rng.integers(-4, 5)
                tile = np.array([[x, y, 0], [x1, y, 0], [x1, y1, 0], [x, y1, 0]], dtype=np.float64)
                self._poly(canvas, tile, tuple(int(c) for c in shade))
        walls = {
            "wall_x0": [[0, 0], [0, ly]],
            "wall_x1": [[lx, ly], [lx, 0]],
            "wall_y0": [[lx, 0], [0, 0]],
            "wall_y1": [[0, ly], [lx, ly]],
        }
        for name, ((xa, ya), (xb, yb)) in walls.items():
            self._poly(
                canvas,
                np.array([[xa, ya, 0], [xb, yb, 0], [xb, yb, lz], [xa, ya, lz]], float),
                WALL_COLORS[name],
            )
            base = np.array([[xa, ya, 0], [xb, yb, 0], [xb, yb, 0.1], [xa, ya, 0.1]], float)
            self._poly(canvas, base, (70, 75, 85))
        self._poly(
            canvas, np.array([[0, 0, lz], [lx, 0, lz], [lx, ly, lz], [0, ly, lz]], float), (210, 212, 214)
        )
        for poster in self.scene.room.posters:
            self._poster(canvas, poster, walls)
        for item in sorted(self.scene.room.furniture, key=self._depth_of_box, reverse=True):
            self._box(canvas, item.box_m, item.height_m, item.color)
        return cv2.GaussianBlur(canvas, (3, 3), 0)

    def _depth_of_box(self, item) -> float:
        x0, y0, x1, y1 = item.box_m
        return float(
            self.model.to_camera(np.array([[(x0 + x1) / 2, (y0 + y1) / 2, item.height_m / 2]]))[0, 2]
        )

    def _poster(self, canvas: np.ndarray, poster, walls: dict) -> None:
        (xa, ya), (xb, yb) = walls[poster.wall]
        direction = np.array([xb - xa, yb - ya], float)
        direction /= np.linalg.norm(direction)
        inward = np.array([-direction[1], direction[0]]) * 0.01
        start = np.array([xa, ya], float)
        along = poster.at_m
        w, h = poster.size_m
        for scale, color in ((1.0, poster.color), (0.7, tuple(255 - c // 2 for c in poster.color))):
            c = start + direction * along + inward
            half = direction * w * scale / 2
            z0, z1 = poster.height_m - h * scale / 2, poster.height_m + h * scale / 2
            quad = np.array([[*(c - half), z0], [*(c + half), z0], [*(c + half), z1], [*(c - half), z1]])
            self._poly(canvas, quad, color)

    def _box(self, canvas: np.ndarray, box: tuple, height: float, color: tuple) -> None:
        x0, y0, x1, y1 = box
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)
        faces = []
        for i in range(4):
            a, b = corners[i], corners[(i + 1) % 4]
            face = np.array([[*a, 0], [*b, 0], [*b, height], [*a, height]])
            faces.append((face, 0.75 + 0.08 * i))
        faces.append((np.c_[corners, np.full(4, height)], 1.1))
        faces.sort(key=lambda f: -self.model.to_camera(f[0]).mean(axis=0)[2])
        for face, shade in faces:
            self._poly(canvas, face, tuple(int(min(255, c * shade)) for c in color))

    # -- one frame --------------------------------------------------------------------

    def render(
        self, joints: dict[str, np.ndarray], subject: Subject, light_gain: float, frame_index: int
    ) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
        """A BGR frame and the person's true box (x0, y0, x1, y1) in pixels, or None."""
        canvas = self.background.copy()
        names = list(joints)
        world = np.stack([joints[n] for n in names])
        uv, depth = self.model.project_canvas(world)
        if np.all(depth < 0.2):
            return self._finish(canvas, frame_index, light_gain), None
        pts = dict(zip(names, uv, strict=True))
        z = dict(zip(names, depth, strict=True))
        roi = self._roi(uv, canvas.shape)
        self._shadow(canvas, joints, subject)
        before = canvas[roi].copy()
        self._person(canvas, pts, z, subject, joints)
        self._mask[roi] = np.any(canvas[roi] != before, axis=2).astype(np.uint8) * 255
        mask = cv2.remap(self._mask, *self.maps, cv2.INTER_NEAREST)
        self._mask[roi] = 0
        x, y, w, h = cv2.boundingRect(mask)
        box = (x, y, x + w, y + h) if w > 0 and h > 0 else None
        return self._finish(canvas, frame_index, light_gain), box

    def _finish(self, canvas: np.ndarray, frame_index: int, light_gain: float) -> np.ndarray:
        image = cv2.remap(canvas, *self.maps, cv2.INTER_LINEAR)
        image = cv2.convertScaleAbs(image, alpha=light_gain)
        plus, minus = self._noise[frame_index % _NOISE_FRAMES]
        return cv2.subtract(cv2.add(image, plus), minus)

    def _roi(self, uv: np.ndarray, shape: tuple) -> tuple[slice, slice]:
        pad = 80
        x0, y0 = np.floor(uv.min(axis=0)).astype(int) - pad
        x1, y1 = np.ceil(uv.max(axis=0)).astype(int) + pad
        return slice(max(y0, 0), min(y1, shape[0])), slice(max(x0, 0), min(x1, shape[1]))

    def _shadow(self, canvas: np.ndarray, joints: dict, subject: Subject) -> None:
        centre = (joints["ankle_l"] + joints["ankle_r"]) / 2
        angle = np.linspace(0, 2 * np.pi, 20, endpoint=False)
        ring = np.c_[centre[0] + 0.32 * np.cos(angle), centre[1] + 0.26 * np.sin(angle), np.zeros(20)]
        uv, depth = self.model.project_canvas(ring)
        if np.any(depth < 0.2):
            return
        x0, y0 = np.floor(uv.min(axis=0)).astype(int) - 6
        x1, y1 = np.ceil(uv.max(axis=0)).astype(int) + 6
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, canvas.shape[1]), min(y1, canvas.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        soft = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.fillPoly(soft, [np.round(uv - [x0, y0]).astype(np.int32)], 1.0)
        soft = cv2.GaussianBlur(soft, (0, 0), 3.0)
        patch = canvas[y0:y1, x0:x1].astype(np.float32)
        canvas[y0:y1, x0:x1] = (patch * (1 - 0.45 * soft[..., None])).astype(np.uint8)

    def _person(self, canvas: np.ndarray, pts: dict, z: dict, subject: Subject, joints: dict) -> None:
        colors = {"shirt": subject.shirt, "trousers": subject.trousers, "skin": subject.skin, "shoes": SHOES}
        h = subject.height_m
        near_side = "l" if z["shoulder_l"] < z["shoulder_r"] else "r"
        limbs = sorted(LIMBS, key=lambda limb: -(z[limb[0]] + z[limb[1]]) / 2)
        far = [limb for limb in limbs if limb[0].endswith("_" + ("r" if near_side == "l" else "l"))]
        near = [limb for limb in limbs if limb not in far and limb[0] != "neck"]
        for limb in far:
            self._limb(canvas, pts, z, limb, colors, h, shade=0.78)
        self._torso(canvas, pts, z, subject, joints)
        for limb in near:
            self._limb(canvas, pts, z, limb, colors, h, shade=1.0)
        self._limb(canvas, pts, z, ("neck", "head", 0.03, "skin"), colors, h, shade=0.9)
        self._head(canvas, pts, z, subject)

    def _limb(self, canvas, pts, z, limb, colors, height, shade) -> None:
        a, b, radius, part = limb
        depth = max((z[a] + z[b]) / 2, 0.2)
        thickness = max(round(2 * radius * height * self.focal / depth), 2)
        pa, pb = (np.round(pts[a] * 4).astype(int), np.round(pts[b] * 4).astype(int))
        dark = tuple(int(c * 0.45 * shade) for c in colors[part])
        main = tuple(int(min(255, c * shade)) for c in colors[part])
        light = tuple(int(min(255, c * shade * 1.25 + 12)) for c in colors[part])
        cv2.line(canvas, tuple(pa), tuple(pb), dark, thickness + 2, cv2.LINE_AA, shift=2)
        cv2.line(canvas, tuple(pa), tuple(pb), main, thickness, cv2.LINE_AA, shift=2)
        if thickness >= 6:
            offset = np.array([-(thickness // 4) * 4, 0])
            cv2.line(
                canvas,
                tuple(pa + offset),
                tuple(pb + offset),
                light,
                max(thickness // 4, 1),
                cv2.LINE_AA,
                shift=2,
            )

    def _torso(self, canvas, pts, z, subject: Subject, joints: dict) -> None:
        left = joints["shoulder_l"] - joints["shoulder_r"]
        forward = np.cross(left, [0.0, 0.0, 1.0])
        forward /= max(np.linalg.norm(forward), 1e-9)
        half_depth = 0.11 * subject.height_m / 1.75
        widen = left / max(np.linalg.norm(left), 1e-9) * 0.03
        corners = [
            joints[name] + sign_w * widen + sign_d * forward * half_depth
            for name, sign_w in (("shoulder_l", 1), ("shoulder_r", -1), ("hip_l", 0.3), ("hip_r", -0.3))
            for sign_d in (-1, 1)
        ]
        uv, _ = self.model.project_canvas(np.array(corners))
        hull = cv2.convexHull(np.round(uv * 4).astype(np.int32))
        cv2.fillConvexPoly(canvas, hull, tuple(int(c * 0.45) for c in subject.shirt), cv2.LINE_AA, shift=2)
        centre = uv.mean(axis=0)
        inner = cv2.convexHull(np.round((centre + (uv - centre) * 0.93) * 4).astype(np.int32))
        cv2.fillConvexPoly(canvas, inner, subject.shirt, cv2.LINE_AA, shift=2)
        crotch = (pts["hip_l"] + pts["hip_r"]) / 2 + (pts["hip_l"] - pts["shoulder_l"]) * 0.18
        pelvis = np.array([pts["hip_l"], pts["hip_r"], crotch])
        pelvis = pelvis.mean(axis=0) + (pelvis - pelvis.mean(axis=0)) * 1.3
        cv2.fillConvexPoly(
            canvas, np.round(pelvis * 4).astype(np.int32), subject.trousers, cv2.LINE_AA, shift=2
        )

    def _head(self, canvas, pts, z, subject: Subject) -> None:
        radius = subject.height_m / 15.0 * self.focal / max(z["head"], 0.2)
        centre = np.round(pts["head"] * 4).astype(int)
        r4 = max(round(radius * 4), 4)
        cv2.circle(
            canvas,
            tuple(centre),
            r4 + 4,
            tuple(int(c * 0.45) for c in subject.skin),
            -1,
            cv2.LINE_AA,
            shift=2,
        )
        cv2.circle(canvas, tuple(centre), r4, subject.skin, -1, cv2.LINE_AA, shift=2)
        axes = (r4 + 2, int(r4 * 0.75))
        hair_centre = (int(centre[0]), int(centre[1] - r4 * 0.25))
        cv2.ellipse(canvas, hair_centre, axes, 0, 180, 360, subject.hair, -1, cv2.LINE_AA, shift=2)
