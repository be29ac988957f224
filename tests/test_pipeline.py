"""End to end: the Snakemake pipeline at smoke scale, in a scratch copy of the repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.smoke_project import ROOT, SMOKE_ROOT, environment, scratch_copy, snakemake


def test_workflow_lints_clean():
    result = snakemake(ROOT, "--lint")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_pipeline_schema_rejects_unknown_settings(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("minutes: -1\n")
    result = snakemake(ROOT, "-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert "minutes" in result.stdout + result.stderr


def detect_log_counts(log: Path) -> tuple[int, int]:
    """Frames with a box and box bottoms refined, as the detect log reports them."""
    match = re.search(r"found the person in ([\d,]+) of .* ([\d,]+) box bottoms refined", log.read_text())
    assert match, log.read_text()
    return int(match[1].replace(",", "")), int(match[2].replace(",", ""))


def test_smoke_pipeline_runs_from_raw_sessions_to_table2(smoke_project):
    root = smoke_project / SMOKE_ROOT  # the smoke scale's own root: nothing under data/ or results/
    assert not (smoke_project / "data").exists() and not (smoke_project / "results").exists()
    sessions = ["lab_survey_paper", "lab_walk_S1", "lab_walk_S2"]
    assert sorted(p.name for p in (root / "data" / "raw").iterdir()) == sessions
    for session in sessions:
        summary = json.loads((root / "results" / "inspect" / f"{session}.json").read_text())
        assert summary["rows"] > 1000 and summary["skipped"] == 0
    for session in ("lab_walk_S1", "lab_walk_S2"):
        positions = pd.read_parquet(root / "data" / "interim" / session / "positions.parquet")
        detections = pd.read_parquet(root / "data" / "interim" / session / "detections.parquet")
        found, refined = detect_log_counts(root / "results" / "logs" / "detect" / f"{session}.log")
        # labels.refine_feet is on: the log reports what the table holds, and a refined bottom
        # exists only for a kept box, at or below its top edge.
        assert found == int(detections["x0"].notna().sum())
        assert refined == int(detections["foot_y"].notna().sum()) <= found
        assert (positions["valid"] == (positions["reason"] == "")).all()
        assert len(positions) == len(detections) > 100
    quality = pd.read_csv(root / "results" / "label_quality.csv")
    bgsub = quality[(quality["detector"] == "bgsub") & (quality["experiment"] == "surveyed_points")].iloc[0]
    # bgsub loses people who stand still; a broken calibration or foot point puts labels metres off.
    assert bgsub["mean_cm"] < 60 and bgsub["detection_rate"] > 0.8
    manifest = json.loads((root / "data" / "processed" / "lab" / "manifest.json").read_text())
    assert [e["session"] for e in manifest["sessions"]] == ["lab_walk_S1", "lab_walk_S2"]
    for entry in manifest["sessions"]:
        assert entry["frames"] > 1500 and entry["fill_method"] == "linear"
        assert entry["label_valid"] + sum(entry["unlabelled_by_reason"].values()) == entry["frames"]
    runs = {
        p.parent.name: json.loads(p.read_text()) for p in (root / "results" / "runs").glob("*/metrics.json")
    }
    expected = {f"{m}-window-seed0" for m in ("cnn", "resnet18", "rnn", "gru", "lstm", "csibert")}
    expected |= {"mean-base-seed0", "knn-base-seed0", "gru-window-seed0-truth", "knn-base-seed0-truth",
                 "csibert_pretrain-window-seed0"}  # fmt: skip
    assert set(runs) == expected
    for name, metrics in runs.items():
        assert metrics["status"] == "finished" and metrics["git_commit"] is None  # a scratch copy: no repo
        assert metrics["config"]["data"]["label_source"] == ("truth" if name.endswith("-truth") else "labels")
    table = (root / "results" / "table2.md").read_text()
    for model in ("cnn", "resnet18", "rnn", "gru", "lstm", "csibert", "mean", "knn"):
        assert f"| {model}" in table, table
    for figure in ("error_cdf", "trajectory", "error_by_position", "table2"):
        assert (root / "results" / "figures" / f"{figure}.png").stat().st_size > 5_000
    again = snakemake(smoke_project, "--configfile", "conf/pipeline/smoke.yaml", "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


def _left_over(root: Path) -> list[str]:
    """Half-written files: atomic writes' temporaries and unfinished session folders."""
    return [str(p) for p in root.rglob("*") if p.name.endswith(".tmp") or ".partial-" in p.name]


def _running_runs(store: Path) -> list:
    from mlflow.tracking import MlflowClient

    if not store.is_file():
        return []
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("lofi-smoke")
    return (
        []
        if experiment is None
        else client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'")
    )


def _start_and_kill(workdir: Path, ready) -> None:
    """Start the smoke pipeline, wait until ``ready()``, then SIGKILL it and every job it started."""
    import signal
    import time

    env = environment()
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "conf/pipeline/smoke.yaml"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process = subprocess.Popen(cmd, cwd=workdir, env=env, start_new_session=True, **quiet)
    deadline = time.monotonic() + 600
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, "the pipeline ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    # a killed Snakemake leaves its lock: a user runs --unlock once before resuming
    unlock = snakemake(workdir, "--configfile", "conf/pipeline/smoke.yaml", "--unlock")
    assert unlock.returncode == 0, unlock.stderr[-2000:]


@pytest.mark.slow
def test_a_pipeline_killed_in_a_data_stage_and_in_training_resumes_to_the_same_table(tmp_path):
    scratch_copy(tmp_path)
    root = tmp_path / "scales" / "smoke"
    _start_and_kill(tmp_path, lambda: any((root / "results" / "logs" / "detect").glob("*.log")))
    assert not (root / "results" / "table2.md").exists()
    _start_and_kill(tmp_path, lambda: bool(_running_runs(tmp_path / "mlflow.db")))
    killed = {run.info.run_id for run in _running_runs(tmp_path / "mlflow.db")}
    assert killed
    result = snakemake(tmp_path, "--configfile", "conf/pipeline/smoke.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert not _left_over(tmp_path) and not _running_runs(tmp_path / "mlflow.db")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert {client.get_run(run_id).info.status for run_id in killed} <= {"KILLED", "FAILED"}
    runs = root / "results" / "runs"
    first = {p.parent.name: json.loads(p.read_text()) for p in runs.glob("*/metrics.json")}
    names = ("gru-window-seed0", "csibert_pretrain-window-seed0")
    rerun = [str((runs / name / "metrics.json").relative_to(tmp_path)) for name in names]
    again = snakemake(tmp_path, "--configfile", "conf/pipeline/smoke.yaml", "--forcerun", *rerun)
    assert again.returncode == 0, again.stderr[-3000:]
    second = {p.parent.name: json.loads(p.read_text()) for p in runs.glob("*/metrics.json")}
    assert set(first) == set(second)
    for name in names:  # seeded, deterministic on CPU: a rerun gives the same numbers
        for key in ("test/err_mean", "test/acc6", "val/best_loss", "recovery/burst3/mae_csibert"):
            assert first[name].get(key) == second[name].get(key), (name, key)


@pytest.mark.slow
def test_csibert_fill_pretrains_refills_and_trains_on_the_second_data_set(tmp_path):
    scratch_copy(tmp_path)
    fill = ["--configfile", "conf/pipeline/smoke.yaml", "--config", 'csi={"fill": "csibert"}']
    result = snakemake(tmp_path, *fill)
    assert result.returncode == 0, result.stderr[-3000:]
    root = tmp_path / "scales" / "smoke"
    linear = json.loads((root / "data" / "processed" / "lab" / "manifest.json").read_text())
    refilled = json.loads((root / "data" / "processed" / "lab_csibert" / "manifest.json").read_text())
    assert {e["fill_method"] for e in linear["sessions"]} == {"linear"}
    assert {e["fill_method"] for e in refilled["sessions"]} == {"csibert"}
    assert [e["frames"] for e in linear["sessions"]] == [e["frames"] for e in refilled["sessions"]]
    for path in (root / "results" / "runs").glob("*/metrics.json"):
        metrics = json.loads(path.read_text())
        filler = path.parent.name.startswith("csibert_fill")  # the fill's pre-training reads the linear set
        assert metrics["config"]["data"]["dir"].endswith("lab" if filler else "lab_csibert"), path
