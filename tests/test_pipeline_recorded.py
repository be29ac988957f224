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


# -- which raw folders are sessions (parsed by workflow/rules/common.smk: dry runs, seconds each) ------

POINT_META = "id: {name}\nsubjects: [S1]\nposition_m: [0.9, 2.4]\nstatus: complete\n"


def _dry_run(tmp_path: Path, folders: dict[str, dict[str, str]], *config: str) -> subprocess.CompletedProcess:
    """``snakemake -n`` (smoke scale, source=recorded) in a scratch copy whose raw folder holds
    ``folders``: folder name -> {file name: text}."""
    project = scratch_copy(tmp_path)
    raw = project / SMOKE_ROOT / "data" / "raw"
    for name, files in folders.items():
        (raw / name).mkdir(parents=True)
        for file, text in files.items():
            (raw / name / file).write_text(text)
    return snakemake(project, "-n", "--configfile", SMOKE_CONFIG, "--config", "source=recorded", *config)


def test_a_point_session_whose_name_is_not_a_plain_regex_is_planned_and_stray_folders_are_skipped(tmp_path):
    """``p0.9+2.4`` matches itself only as an escaped wildcard constraint; ``notes`` (no session.yaml,
    no csi.csv) is not a session."""
    point = "p0.9+2.4"
    result = _dry_run(tmp_path, {point: {"session.yaml": POINT_META.format(name=point), "csi.csv": "x\n"},
                                 "notes": {"readme.txt": "not a session\n"}})  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"lofi align scales/smoke/data/raw/{point} " in result.stdout
    assert "notes" not in result.stdout


@pytest.mark.parametrize(
    ("files", "config", "said"),
    [
        ({"csi.csv": "x\n"}, (), ["holds csi.csv but no session.yaml"]),
        (
            {"session.yaml": POINT_META.format(name="p").replace("complete", "recording")},
            (),
            ["status: recording", "did not end"],
        ),
        ({"session.yaml": POINT_META.format(name="p").replace("complete", "failed")}, (), ["status: failed"]),
        ({"session.yaml": "id: p\nposition_m: null\n"}, (), ["needs video.mp4", "position_m"]),
        ({"session.yaml": "id: p\nposition_m: [1, nan]\n"}, (), ["session.yaml: position_m", "two finite"]),
        (
            {"session.yaml": POINT_META.format(name="p")},
            ("csi={fill: csibert}",),
            ["csi.fill: csibert is not supported for surveyed-point sessions yet"],
        ),
    ],
)
def test_a_raw_folder_that_cannot_be_a_session_is_refused_naming_it(tmp_path, files, config, said):
    result = _dry_run(tmp_path, {"p": files}, *config)
    message = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Error in file" in message and "Building DAG" not in message, message[
        -3000:
    ]  # refused at parse time
    for text in said:
        assert text in message, message[-3000:]
    if "csibert" not in said[0]:
        assert "scales/smoke/data/raw/p" in message
