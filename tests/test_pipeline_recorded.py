"""source: recorded: sessions made by `lofi record` (a replayed serial log and a video file as the
camera) go through the pipeline to a Table II, with no truth and no label-quality branch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.smoke_project import SMOKE_CONFIG, SMOKE_ROOT, environment, scratch_copy, snakemake
from tests.stages.test_record import Replayer

SESSIONS = ("lab_walk_S1", "lab_walk_S2")  # the smoke scale's walks, 20 s each


def record(source: Path, out: Path, subject: str) -> None:
    """``lofi record OUT`` from a replay of ``source``'s csi.csv (a pty) and its video as the camera."""
    replay = Replayer(source / "csi.csv", out / "session.yaml")
    replay.start()
    lofi = str(Path(sys.executable).with_name("lofi"))
    command = [lofi, "record", str(out), "--serial", replay.port, "--camera", str(source / "video.mp4"),
               "--subject", subject, "--calibration", str(source / "calibration.yaml"),
               "--csi-rate-hz", "100", "--duration", "22", "--quiet"]  # fmt: skip
    try:
        result = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=120)
        replay.join(timeout=5)
    finally:
        replay.close()
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_recorded_sessions_go_through_the_pipeline_to_table2(smoke_project, tmp_path):
    (tmp_path / "project").mkdir()
    project = scratch_copy(tmp_path / "project")
    raw = project / SMOKE_ROOT / "data" / "raw"
    for name in SESSIONS:
        record(
            smoke_project / SMOKE_ROOT / "data" / "raw" / name, raw / f"rec_{name}", name.rsplit("_", 1)[1]
        )
    result = snakemake(project, "--configfile", SMOKE_CONFIG, "--config", "source=recorded")
    assert result.returncode == 0, result.stderr[-3000:]
    results = project / SMOKE_ROOT / "results"
    assert not (results / "label_quality.md").exists()  # no truth: no label-quality study
    assert sorted(p.name for p in raw.iterdir()) == [f"rec_{n}" for n in SESSIONS]  # nothing simulated
    manifest = json.loads((project / SMOKE_ROOT / "data" / "processed" / "lab" / "manifest.json").read_text())
    assert [e["session"] for e in manifest["sessions"]] == [f"rec_{n}" for n in SESSIONS]
    table = (results / "table2.md").read_text()
    assert "truth: not known to any run" in table and "vs truth" not in table
    for model in ("cnn", "resnet18", "rnn", "gru", "lstm", "csibert", "mean", "knn"):
        assert f"| {model}" in table, table
    runs = {p.parent.name for p in (results / "runs").glob("*/metrics.json")}
    assert not any(name.endswith("-truth") for name in runs)  # no truth to train on
