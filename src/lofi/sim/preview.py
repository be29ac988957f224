"""A picture of a scene: one rendered frame per camera view, region outline drawn in.

Use it to check a scene file by eye (``lofi preview-scene``): every view should
see the whole floor region (green) and the person standing in it.
"""

from __future__ import annotations

import cv2
import numpy as np

from lofi.sim.body import pose
from lofi.sim.motion import Trajectory
from lofi.sim.render import RoomRenderer
from lofi.sim.scene import Scene


def _standing_at(xy: tuple[float, float], heading: float, phase: float) -> Trajectory:
    one = np.ones(1)
    return Trajectory(
        np.zeros(1), np.array([xy]), heading * one, 0.8 * one, phase * one, 0.8 * one, -one.astype(int)
    )


def preview_views(scene: Scene, seed: int = 0) -> np.ndarray:
    """A BGR montage with one labelled frame per camera view (side by side, 2 per row)."""
    w, d = scene.region.size_m
    subject = scene.subjects[0]
    body = pose(subject, _standing_at((w * 0.45, d * 0.55), 2.3, 1.0), scene.region.origin_m)
    tiles = []
    for view in scene.cameras:
        renderer = RoomRenderer(scene, view, seed)
        image, _ = renderer.render({k: v[0] for k, v in body.joints.items()}, subject, 1.0, 0)
        outline = np.array(
            [
                scene.region.corners[i % 4]
                + s * (scene.region.corners[(i + 1) % 4] - scene.region.corners[i % 4])
                for i in range(4)
                for s in np.linspace(0, 1, 20)
            ]
        )
        pixels = renderer.model.project(np.c_[scene.region.to_room(outline), np.zeros(len(outline))])
        cv2.polylines(image, [np.round(pixels).astype(np.int32)], True, (60, 200, 60), 2, cv2.LINE_AA)
        cv2.putText(
            image,
            f"{scene.name} / {view}",
            (10, 28),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.8,
            (255, 255, 255),
            2,
            cv2.LINE_AA,
        )
        tiles.append(image)
    if len(tiles) % 2:
        tiles.append(plan_view(scene, tiles[0].shape[1], tiles[0].shape[0]))
    rows = [np.hstack(tiles[i : i + 2]) for i in range(0, len(tiles), 2)]
    return np.vstack(rows)


def plan_view(scene: Scene, width: int, height: int) -> np.ndarray:
    """Top-down map: room, floor region, router (TX), ESP32 (RX), cameras and their view."""
    image = np.full((height, width, 3), 245, np.uint8)
    lx, ly, _ = scene.room.size_m
    scale = 0.85 * min(width / ly, height / lx)
    origin = np.array([(width - ly * scale) / 2, (height - lx * scale) / 2])

    def px(x: float, y: float) -> tuple[int, int]:  # room y runs right, room x runs down
        return tuple(np.round(origin + scale * np.array([y, x])).astype(int))

    cv2.rectangle(image, px(0, 0), px(lx, ly), (90, 90, 90), 2)
    (ox, oy), (w, d) = scene.region.origin_m, scene.region.size_m
    cv2.rectangle(image, px(ox, oy), px(ox + w, oy + d), (60, 200, 60), 2)
    for item in scene.room.furniture:
        x0, y0, x1, y1 = item.box_m
        cv2.rectangle(image, px(x0, y0), px(x1, y1), tuple(int(c) for c in item.color), -1)
    tx, rx = scene.radio.tx_m, scene.radio.rx_m
    cv2.line(image, px(*tx[:2]), px(*rx[:2]), (150, 150, 150), 1, cv2.LINE_AA)
    for (x, y, _), colour, label in ((tx, (40, 40, 220), "TX"), (rx, (220, 90, 30), "RX")):
        cv2.circle(image, px(x, y), 7, colour, -1, cv2.LINE_AA)
        cv2.putText(
            image, label, np.add(px(x, y), (9, 5)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2, cv2.LINE_AA
        )
    for name, cam in scene.cameras.items():
        pos, target = np.array(cam.position_m[:2]), np.array(cam.look_at_m[:2])
        direction = (target - pos) / np.linalg.norm(target - pos)
        for sign in (-1, 1):
            a = np.radians(sign * cam.hfov_deg / 2)
            ray = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ direction
            cv2.line(image, px(*pos), px(*(pos + 1.2 * ray)), (30, 30, 30), 1, cv2.LINE_AA)
        cv2.circle(image, px(*pos), 5, (30, 30, 30), -1, cv2.LINE_AA)
        cv2.putText(
            image,
            name,
            np.add(px(*pos), (-20, -10)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (30, 30, 30),
            1,
            cv2.LINE_AA,
        )
    cv2.putText(
        image,
        "plan view (x down, y right)",
        (10, 28),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.7,
        (30, 30, 30),
        2,
        cv2.LINE_AA,
    )
    return image
