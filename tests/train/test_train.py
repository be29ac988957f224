"""Every experiment composes from the real configs and runs end to end on a tiny data set (CPU)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lofi.train.run import train
from tests.train.conftest import CONF, config

EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


def test_there_is_one_experiment_per_table_cell():
    cells = {"cnn", "resnet18", "rnn", "gru", "lstm", "csibert", "mean", "knn"}
    assert {f"table2_{c}" for c in cells} <= set(EXPERIMENTS)


def test_help_says_what_a_run_does_and_lists_every_experiment(tmp_path):
    import subprocess
    import sys

    command = [sys.executable, "-m", "lofi.train", "--help"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("python -m lofi.train: one Table II run")
    groups = next(line for line in result.stdout.splitlines() if line.startswith("experiment: "))
    assert set(groups.removeprefix("experiment: ").split(", ")) == set(EXPERIMENTS)
    assert "lofi table2 results/runs" in result.stdout  # the examples footer


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_runs(tiny_dataset, tmp_path, experiment):
    metrics = train(config(tiny_dataset, tmp_path, f"experiment={experiment}"))
    written = json.loads((tmp_path / "metrics.json").read_text())
    if written["task"] == "pretrain":  # CSI-BERT pre-training: recovery, no localisation
        assert written["recovery/burst3/mae_csibert"] > 0 and (tmp_path / "csibert_recovery.pt").is_file()
        return
    assert written["experiment"] == experiment and written["test/windows"] == metrics["test/windows"] > 0
    assert 0 <= written["test/acc6"] <= 1 and written["test/err_mean"] > 0
    assert (tmp_path / "error_cdf.png").read_bytes()[:4] == b"\x89PNG"
    trainable = written["model"] not in ("mean", "knn")
    assert (written["train_samples_per_s"] > 0) if trainable else written["train_samples_per_s"] is None
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    assert len(predictions) == metrics["test/windows"]
    assert {"x_label", "x_pred", "x_true", "region6", "region6_pred"} <= set(predictions.columns)


def test_a_seeded_run_repeats_exactly(tiny_dataset, tmp_path):
    first = train(config(tiny_dataset, tmp_path / "a", "model=gru", "seed=3"))
    second = train(config(tiny_dataset, tmp_path / "b", "model=gru", "seed=3"))
    keys = [k for k in first if k.startswith("test/")]
    np.testing.assert_equal({k: first[k] for k in keys}, {k: second[k] for k in keys})  # NaN == NaN here
    assert np.isfinite(first["test/err_mean"])


@pytest.mark.parametrize("experiment", ["table2_gru", "table2_mean"])
def test_a_run_that_fails_after_training_is_marked_failed(tiny_dataset, tmp_path, monkeypatch, experiment):
    """Lightning ends a network's MLflow run FINISHED after the test; a later failure must show."""
    from mlflow.tracking import MlflowClient

    import lofi.train.run as run_module

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = config(tiny_dataset, tmp_path / "run", f"experiment={experiment}", "logger=mlflow",
                 f"logger.tracking_uri={uri}")  # fmt: skip

    def fail(*args, **kwargs):
        raise OSError("disk full")

    def fail_while_logging(logger, *args):
        assert logger.run_id  # the MLflow run starts here: a baseline's run starts when it is logged
        fail()

    if experiment == "table2_mean":
        monkeypatch.setattr(run_module, "log_run", fail_while_logging)
    else:  # after Lightning has tested and ended the run
        monkeypatch.setattr(run_module, "_write_outputs", fail)
    with pytest.raises(OSError, match="disk full"):
        train(cfg)
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("lofi-table2").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]


def test_a_multirun_sweep_logs_each_run_to_one_fresh_store(tiny_dataset, tmp_path):
    """`python -m lofi.train --multirun`: two runs, one new SQLite store, params, tags and artifacts."""
    import os
    import re
    import subprocess
    import sys

    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    overrides = [f"data.dir={tiny_dataset}", f"paths.runs_dir={tmp_path / 'runs'}", "trainer=smoke",
                 "data.train_windows_per_epoch=64", f"logger.tracking_uri={uri}"]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    (tmp_path / "runs").mkdir()
    sweep = ["--multirun", "experiment=table2_mean,table2_gru"]
    command = [sys.executable, "-m", "lofi.train", *sweep, *overrides]
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path / "runs"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / "runs" / "mlruns").exists()  # artifacts go beside the store, not to the cwd
    assert any((tmp_path / "mlartifacts").rglob("metrics.json"))
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("lofi-table2").experiment_id])
    names = sorted(r.info.run_name for r in runs)  # the overrides above (data.dir, ...) tag both names
    assert [re.sub("-[0-9a-f]{8}-", "-TAG-", n) for n in names] == [
        "table2_gru-window-TAG-seed0",
        "table2_mean-window-TAG-seed0",
    ]
    for run in runs:
        assert run.data.tags["model"] in ("gru", "mean") and run.data.params["trainer.max_epochs"] == "2"
        assert run.info.status == "FINISHED"  # the baseline's too: no Trainer ends its run
        assert "test/err_mean" in run.data.metrics
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"metrics.json", "predictions.parquet", "config.yaml", "error_cdf.png"} <= artifacts
    gru = next(r for r in runs if r.data.tags["model"] == "gru")
    history = client.get_metric_history(gru.info.run_id, "val/loss")
    assert len(history) == 2  # one value per epoch
