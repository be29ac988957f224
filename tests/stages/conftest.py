"""A short synthetic session run through csi -> align, shared by the data-set tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lofi.csi.complete import CompletionOptions
from lofi.io.json_report import write_json
from lofi.io.session import write_yaml
from lofi.io.tables import write_csi_table
from lofi.sim.session import SessionSpec, simulate_csi_only
from lofi.stages.align import align_session
from lofi.stages.csi import complete_session_csi, write_completed
from lofi.stages.scenes import load_scene
from lofi.stages.simulate import write_csi_log


def make_interim(root: Path, subject: str, seconds: float = 20.0, seed: int = 0) -> Path:
    """Raw CSI-only session + positions from truth, then csi and align into ``root/interim/<id>``."""
    scene = load_scene("lab")
    session_id = f"t_{subject}"
    spec = SessionSpec(session_id, (subject,), "paper", "walk", seconds, seed=seed)
    raw = root / "raw" / session_id
    raw.mkdir(parents=True)
    truth = write_csi_log(scene, spec, simulate_csi_only(scene, spec), raw / "csi.csv")
    write_yaml(raw / "session.yaml", {"id": session_id, "subjects": [subject], "csi_rate_hz": 100.0,
                                      "camera_rate_hz": 30.0})  # fmt: skip
    seen = truth[np.isfinite(truth["t_host"])]
    t = np.arange(seen["t_host"].iloc[0], seen["t_host"].iloc[-1], 1 / 30)
    positions = pd.DataFrame({"frame": np.arange(len(t)), "t_host": t,
                              "x_m": np.interp(t, seen["t_host"], seen["x_m"]),
                              "y_m": np.interp(t, seen["t_host"], seen["y_m"]),
                              "valid": True, "reason": ""})  # fmt: skip
    interim = root / "interim" / session_id
    interim.mkdir(parents=True)
    positions.to_parquet(interim / "positions.parquet")
    completed, report = complete_session_csi(raw, CompletionOptions())
    write_completed(interim / "csi.parquet", completed, report)
    aligned = align_session(raw, interim / "csi.parquet", interim / "positions.parquet")
    write_csi_table(interim / "aligned.parquet", aligned.table, aligned.amplitude, aligned.phase)
    write_json(interim / "aligned.json", aligned.summary)
    return interim


@pytest.fixture(scope="module")
def two_sessions(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("ingest")
    return [make_interim(root, "S1", seed=1), make_interim(root, "S3", seed=2)]
