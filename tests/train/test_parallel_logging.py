"""Six training jobs at once log to one SQLite store (as `snakemake --cores 6` runs them)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lofi.cli import main

#: Six runs of one experiment, each its own process: baselines and tiny networks.
JOBS = (
    ("experiment=table2_mean", "seed=0"), ("experiment=table2_mean", "seed=1"),
    ("experiment=table2_knn", "seed=0"), ("experiment=table2_knn", "seed=1"),
    ("experiment=table2_gru", "seed=0"), ("experiment=table2_rnn", "seed=0"),
)  # fmt: skip


@pytest.mark.slow
def test_six_jobs_at_once_log_to_one_sqlite_store_and_all_finish(tiny_dataset, tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert (
        main(["mlflow-init", "--uri", uri, "--experiment", "lofi-parallel"]) == 0
    )  # the pipeline's first job
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    common = [f"data.dir={tiny_dataset}", "trainer=smoke", "trainer.threads=1", f"logger.tracking_uri={uri}",
              "logger.experiment=lofi-parallel", "data.train_windows_per_epoch=32",
              "data.batch_size=16"]  # fmt: skip
    processes = []
    for k, job in enumerate(JOBS):
        command = [sys.executable, "-m", "lofi.train", *job, *common, f"hydra.run.dir={tmp_path / f'run{k}'}"]
        processes.append(
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    outputs = [p.communicate(timeout=900)[0] for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]
        assert "database is locked" not in output
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("lofi-parallel").experiment_id])
    assert len(runs) == len(JOBS)
    assert {run.info.status for run in runs} == {"FINISHED"}
    assert all("test/err_mean" in run.data.metrics for run in runs)
