"""Every localisation run logs its model in MLflow's format: tagged, loadable through
``mlflow.pyfunc`` from the store alone, and usable by ``lofi predict --run <run id>``."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lofi.cli import main
from lofi.io.dataset_store import load_dataset
from lofi.stages.dataset import SessionInputs, build_dataset
from lofi.train.run import train
from tests.stages.conftest import make_interim
from tests.train.conftest import config

LENGTH = 100  # rows per window (data.length)
RUNS = {  # a network with the training statistics and extra inputs (dict input), and a baseline
    "gru": ("model=gru", "data.normalize=global", "data.extra=[phase,rssi]"),
    "knn": ("model=knn", "data.normalize=none"),
}
TAGS = ("model", "normalize", "split", "fold", "label_source", "seed", "dataset_sha256", "settings_sha256")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, str, dict[str, str]]:
    """The project folder (tiny data set, runs/<model>/), its store's URI and each run's MLflow id."""
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("mlflow-model")
    interim = [make_interim(root, s, seconds=20.0, seed=k) for k, s in enumerate(("S1", "S2", "S3"))]
    build_dataset("tiny", [SessionInputs.from_folder(f) for f in interim], root / "tiny")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    threads = torch.get_num_threads()
    for name, overrides in RUNS.items():
        logged = ("logger=mlflow", f"logger.tracking_uri={uri}", f"run_name={name}")
        train(config(root / "tiny", root / "runs" / name, *overrides, *logged))
    torch.set_num_threads(threads)
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("lofi-table2").experiment_id])
    return root, uri, {run.info.run_name: run.info.run_id for run in runs}


def raw_windows(root: Path, starts: np.ndarray, extra: bool) -> np.ndarray | dict[str, np.ndarray]:
    """The data set's raw windows at rows ``starts`` (as ``lofi csi`` completed them)."""
    data = load_dataset(root / "tiny")
    rows = starts[:, None] + np.arange(LENGTH)
    amplitude = np.asarray(data.amplitude, np.float32)[rows]
    if not extra:
        return amplitude
    rssi = data.frames["rssi"].to_numpy(np.float32)[rows]
    return {"amplitude": amplitude, "phase": np.asarray(data.phase, np.float32)[rows], "rssi": rssi}


def test_runs_are_finished_and_tagged_with_what_they_trained_on(store):
    from mlflow.tracking import MlflowClient

    _root, uri, ids = store
    assert set(ids) == set(RUNS)
    client = MlflowClient(tracking_uri=uri)
    for name, run_id in ids.items():
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        missing = [tag for tag in TAGS if not run.data.tags.get(tag)]
        assert not missing, (name, missing)
        assert run.data.tags["model"] == name and run.data.tags["label_source"] == "labels"
        assert run.data.tags["normalize"] == ("global" if name == "gru" else "none")


@pytest.mark.parametrize("name", list(RUNS))
def test_the_logged_model_predicts_the_runs_own_test_windows(store, name):
    """``mlflow.pyfunc.load_model("runs:/<id>/model")`` on raw windows gives the run's predictions."""
    import mlflow.pyfunc

    root, uri, ids = store
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"runs:/{ids[name]}/model")
    tested = pd.read_parquet(root / "runs" / name / "predictions.parquet")
    windows = raw_windows(root, tested["start"].to_numpy(), extra=name == "gru")
    predicted = model.predict(windows)
    assert list(predicted.columns) == ["x_m", "y_m", "region2", "region4", "region6"]
    assert len(predicted) == len(tested) > 5
    np.testing.assert_allclose(predicted[["x_m", "y_m"]], tested[["x_pred", "y_pred"]], atol=1e-5)
    for n in (2, 4, 6):
        agree = (predicted[f"region{n}"].to_numpy() == tested[f"region{n}_pred"].to_numpy()).mean()
        assert agree >= 0.95, (n, agree)  # float32 ties aside, the same argmax


def test_the_logged_model_has_a_signature_and_an_input_example(store):
    import mlflow.pyfunc

    _root, uri, ids = store
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"runs:/{ids['knn']}/model")
    inputs = model.metadata.get_input_schema().inputs
    assert [tuple(spec.shape) for spec in inputs] == [(-1, LENGTH, 52)]
    assert {spec.name for spec in model.metadata.get_output_schema().inputs} >= {"x_m", "y_m", "region6"}
    with pytest.raises(Exception, match=r"(?i)shape"):  # windows of another length are refused
        model.predict(np.zeros((2, LENGTH // 2, 52), np.float32))


def test_lofi_predict_takes_an_mlflow_run_id_without_the_run_folder(store, tmp_path, monkeypatch):
    root, uri, ids = store
    session = tmp_path / "raw" / "walk_s4"
    assert main(["simulate", "--subject", "S4", "--seconds", "12", "--out", str(session), "--quiet"]) == 0
    by_folder = tmp_path / "by_folder.parquet"
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["predict", str(session), "--run", str(root / "runs" / "knn"), "--out", str(by_folder)])
    assert code == 0
    project = tmp_path / "project"  # the store alone: no run folder anywhere under this root
    project.mkdir()
    shutil.copy(root / "mlflow.db", project / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    by_id = tmp_path / "by_id.parquet"
    with contextlib.redirect_stdout(io.StringIO()):
        args = ["--root", str(project), "predict", str(session), "--run", ids["knn"], "--out", str(by_id)]
        assert main(args) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(by_id), pd.read_parquet(by_folder))


def test_an_unknown_run_id_is_refused_in_one_line(store, tmp_path, monkeypatch, capsys):
    _root, uri, _ids = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    session = tmp_path / "raw" / "walk"
    assert main(["simulate", "--subject", "S4", "--seconds", "3", "--out", str(session), "--quiet"]) == 0
    assert main(["--root", str(tmp_path), "predict", str(session), "--run", "0" * 32]) == 2
    error = capsys.readouterr().err
    assert "no such MLflow run" in error and "Traceback" not in error
