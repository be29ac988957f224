"""Bad input to ``lofi predict``: runs without a usable model.pt, sessions it cannot be applied to."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from lofi.cli import main
from lofi.io.run_model import FORMAT, load_run_model, save_run_model
from lofi.stages.dataset import SessionInputs, build_dataset
from lofi.train.run import train
from tests.stages.conftest import make_interim
from tests.train.conftest import config

LENGTH = 50  # the run's windows: 0.5 s at 100 Hz


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """``run/``: a k-NN trained on 50-row windows of a tiny data set; ``walk/``: a 3-s session."""
    root = tmp_path_factory.mktemp("predict_bad")
    interim = [make_interim(root, s, seconds=20.0, seed=k) for k, s in enumerate(("S1", "S2"))]
    build_dataset("tiny", [SessionInputs.from_folder(f) for f in interim], root / "tiny")
    train(config(root / "tiny", root / "run", "model=knn", "data.normalize=none", f"data.length={LENGTH}"))
    walk = ["simulate", "--subject", "S4", "--seconds", "3", "--out", str(root / "walk"), "--quiet"]
    assert main(walk) == 0
    return root


@pytest.fixture
def run_copy(project, tmp_path) -> Path:
    """A copy of the run folder to damage."""
    return Path(shutil.copytree(project / "run", tmp_path / "run"))


def outputs(root: Path) -> list[Path]:
    """Prediction files written under ``root``."""
    return sorted(root.rglob("predictions_*"))


def test_the_run_applies_to_the_session(lofi, project, tmp_path):
    """The reference for the cases below: a clean run and session predict."""
    done = lofi("--root", tmp_path, "predict", project / "walk", "--run", project / "run")
    assert done.code == 0, done.err
    assert f"windows of {LENGTH} rows" in done.out and len(outputs(tmp_path)) == 2


def test_a_run_folder_without_model_pt(lofi, project, run_copy, tmp_path):
    (run_copy / "model.pt").unlink()
    lofi("--root", tmp_path, "predict", project / "walk", "--run", run_copy).refused(
        str(run_copy / "model.pt"), "no such file", "retrain"
    )
    assert outputs(tmp_path) == []


def test_run_is_not_a_folder(lofi, project, tmp_path):
    lofi("--root", tmp_path, "predict", project / "walk", "--run", tmp_path / "nowhere").refused(
        "nowhere", "no such run folder"
    )


def test_a_run_trained_on_another_window_length_than_requested(lofi, project, tmp_path):
    lofi(
        "--root", tmp_path, "predict", project / "walk", "--run", project / "run", "--length", "100"
    ).refused("model.pt", f"windows of {LENGTH} rows", "not the 100 requested", "--length")
    assert outputs(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not a run-model file readable without running code"),
        (b"\x80\x04this is not a torch file", "not a run-model file readable without running code"),
        (b"PK\x03\x04 truncated zip", "not a run-model file readable without running code"),
    ],
)
def test_a_corrupt_model_pt(lofi, project, run_copy, tmp_path, content, reason):
    (run_copy / "model.pt").write_bytes(content)
    lofi("--root", tmp_path, "predict", project / "walk", "--run", run_copy).refused(
        str(run_copy / "model.pt"), reason
    )
    assert outputs(tmp_path) == []


def test_a_truncated_model_pt(lofi, project, run_copy, tmp_path):
    path = run_copy / "model.pt"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    lofi("--root", tmp_path, "predict", project / "walk", "--run", run_copy).refused(
        str(path), "not a run-model file"
    )


def test_a_model_pt_of_another_format_version(lofi, project, run_copy, tmp_path):
    payload = torch.load(run_copy / "model.pt", weights_only=True)
    torch.save(payload | {"format": "lofi-run-model/0"}, run_copy / "model.pt")
    lofi("--root", tmp_path, "predict", project / "walk", "--run", run_copy).refused(
        str(run_copy / "model.pt"), "'lofi-run-model/0'", repr(FORMAT), "retrain"
    )


def test_a_lightning_checkpoint_renamed_model_pt(lofi, project, run_copy, tmp_path):
    torch.save({"state_dict": {}, "epoch": 3}, run_copy / "model.pt")
    lofi("--root", tmp_path, "predict", project / "walk", "--run", run_copy).refused(
        str(run_copy / "model.pt"), "names no format", "Lightning"
    )


def test_a_model_pt_whose_weights_do_not_fit_the_model(lofi, project, run_copy, tmp_path):
    record = load_run_model(run_copy / "model.pt")
    record.model = "gru"  # the k-NN's buffers are no GRU's weights
    save_run_model(run_copy / "model.pt", record)
    lofi("--root", tmp_path, "predict", project / "walk", "--run", run_copy).refused(
        str(run_copy / "model.pt"), "do not fit model 'gru'"
    )


def test_a_run_for_another_subcarrier_count(lofi, project, run_copy, tmp_path):
    record = load_run_model(run_copy / "model.pt")
    record.n_subcarriers = 64
    save_run_model(run_copy / "model.pt", record)
    lofi("--root", tmp_path, "predict", project / "walk", "--run", run_copy).refused(
        str(project / "walk"), "52 subcarriers", "reads 64"
    )
    assert outputs(tmp_path) == []


def test_a_session_without_csi_csv(lofi, project, tmp_path):
    session = Path(shutil.copytree(project / "walk", tmp_path / "walk"))
    (session / "csi.csv").unlink()
    lofi("--root", tmp_path, "predict", session, "--run", project / "run").refused(str(session), "csi.csv")
    assert outputs(tmp_path) == []


def test_a_session_shorter_than_one_window(lofi, project, tmp_path):
    short = tmp_path / "short"
    assert main(["simulate", "--subject", "S4", "--seconds", "0.3", "--out", str(short), "--quiet"]) == 0
    lofi("--root", tmp_path, "predict", short, "--run", project / "run").refused(
        str(short), f"no window of {LENGTH} rows", "longest stretch"
    )
    assert outputs(tmp_path) == []


def test_output_into_the_raw_session_or_over_the_model(lofi, project, tmp_path):
    walk, run = project / "walk", project / "run"
    lofi("predict", walk, "--run", run, "--out", walk / "p.parquet").refused("lies in the raw session folder")
    lofi("predict", walk, "--run", run, "--out", run / "model.pt").refused("which `lofi predict` reads")
    lofi(
        "predict", walk, "--run", run, "--out", tmp_path / "p.parquet", "--plot", tmp_path / "p.parquet"
    ).refused("cannot be one file")
    assert load_run_model(run / "model.pt").length == LENGTH
