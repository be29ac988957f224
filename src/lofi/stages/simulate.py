"""Stage ``simulate``: write one synthetic recording session in the raw session format.

The folder holds exactly what a real recording has (``session.yaml``, ``csi.csv``,
``video.mp4`` + ``frames.csv``, ``calibration.yaml``) plus ``truth/`` for
evaluation. It is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm import tqdm

from lofi.io.esp32.writer import write_esp_radar_csv
from lofi.io.session import SESSION_CSI, TRUTH_FRAMES, TRUTH_PINGS, session_folder, write_yaml
from lofi.io.tables import write_table
from lofi.io.video import VideoWriter, write_frames_csv
from lofi.sim.scene import Scene
from lofi.sim.session import (
    NOMINAL_CAMERA_HZ,
    CsiSimulation,
    SessionSpec,
    SessionStats,
    VideoSimulation,
    calibration_record,
    csi_log_fields,
    ping_truth,
    plan_session,
    session_record,
    simulate_plan_csi,
)


def write_csi_log(scene: Scene, spec: SessionSpec, sim: CsiSimulation, path: str | Path) -> pd.DataFrame:
    """Write the logged pings of ``sim`` as an esp-radar ``csi.csv``; returns the truth per ping."""
    data, fields = csi_log_fields(scene, sim)
    write_esp_radar_csv(path, data, fields)
    return ping_truth(spec, sim)


def simulate_session(
    scene: Scene, spec: SessionSpec, out_dir: str | Path, progress: bool = True, force: bool = False
) -> SessionStats:
    """Simulate ``spec`` in ``scene`` and write the session folder ``out_dir``.

    An existing ``out_dir`` is refused unless an earlier ``lofi simulate`` wrote it (or ``force``);
    either way only the session's own files are replaced, each atomically.
    """
    plan = plan_session(scene, spec)
    stats = SessionStats(duration_s=plan.duration)
    with session_folder(out_dir, "lofi simulate", force) as folder:
        sim = simulate_plan_csi(scene, spec, plan)
        stats.pings_sent, stats.pings_logged = len(sim.ping.t_rx), int((~sim.ping.lost).sum())
        stats.extra["drift_ppm"] = round(sim.ping.drift_ppm, 3)
        pings = write_csi_log(scene, spec, sim, folder / SESSION_CSI)
        video = VideoSimulation(scene, spec, plan)
        _write_video(video, folder, progress)
        frames = video.truth()
        stats.frames, stats.frames_with_person = len(frames), int(frames["visible"].sum())
        stats.extra["camera_fps"] = round(video.times.fps, 3)
        (folder / "truth").mkdir()
        write_table(folder / TRUTH_PINGS, pings)
        write_table(folder / TRUTH_FRAMES, frames)
        write_yaml(
            folder / "calibration.yaml",
            calibration_record(scene, spec, video.model, plan.rngs["calibration"]),
        )
        write_yaml(folder / "session.yaml", session_record(scene, spec, stats, plan))
    return stats


def _write_video(video: VideoSimulation, folder: Path, progress: bool) -> None:
    """``video.mp4`` (rendered frame by frame) and ``frames.csv`` (host time per frame)."""
    bar = tqdm(
        video.frames(),
        total=len(video),
        desc=f"render {video.spec.session_id}",
        unit="frame",
        disable=not progress or None,
        leave=False,
    )
    with VideoWriter(folder / "video.mp4", NOMINAL_CAMERA_HZ, video.model.size_px) as writer:
        for image in bar:
            writer.write(image)
    write_frames_csv(folder / "frames.csv", video.times.host_s)
