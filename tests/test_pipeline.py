"""End to end: the Snakemake pipeline at smoke scale, in a scratch copy of the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_pipeline_schema_rejects_unknown_settings(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("minutes: -1\n")
    result = _snakemake(ROOT, "-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert "minutes" in result.stdout + result.stderr


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_smoke_pipeline_writes_sessions_that_read_back(tmp_path):
    for name in ("Snakefile", "conf", "workflow"):
        source = ROOT / name
        target = tmp_path / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    result = _snakemake(tmp_path, "--configfile", "conf/pipeline/smoke.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    raw = sorted(p.name for p in (tmp_path / "data" / "raw").iterdir())
    sessions = ["lab_survey_paper", "lab_walk_S1", "lab_walk_S2"]
    assert raw == ["lab_dettrain_D1_paper", "lab_dettrain_D2_paper", "lab_dettrain_D3_paper", *sessions]
    for session in sessions:
        summary = json.loads((tmp_path / "results" / "inspect" / f"{session}.json").read_text())
        assert summary["rows"] > 1000 and summary["skipped"] == 0
    for session in ("lab_walk_S1", "lab_walk_S2"):
        positions = pd.read_parquet(tmp_path / "data" / "interim" / session / "positions.parquet")
        detections = pd.read_parquet(tmp_path / "data" / "interim" / session / "detections.parquet")
        assert "foot_y" in detections  # labels.refine_feet is on: detect refines the box bottoms
        detect_log = tmp_path / "results" / "logs" / "detect" / f"{session}.log"
        assert "box bottoms refined" in detect_log.read_text()
        assert len(positions) > 100 and set(positions["reason"]) <= {
            "",
            "no_person",
            "outside_region",
            "jump",
        }
    report = (tmp_path / "results" / "label_quality.md").read_text()
    assert "17.44" in report and "| bgsub |" in report
    assert (tmp_path / "results" / "figures" / "detectors_panel.png").stat().st_size > 10_000
    assert (tmp_path / "data" / "models" / "person_yolo.json").is_file()
    manifest = json.loads((tmp_path / "data" / "processed" / "lab" / "manifest.json").read_text())
    assert [e["session"] for e in manifest["sessions"]] == ["lab_walk_S1", "lab_walk_S2"]
    for entry in manifest["sessions"]:
        assert entry["frames"] > 1500 and entry["fill_method"] == "linear"
        assert entry["label_valid"] + sum(entry["unlabelled_by_reason"].values()) == entry["frames"]
    again = _snakemake(tmp_path, "--configfile", "conf/pipeline/smoke.yaml", "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
