"""The MLflow dashboard (``lofi mlflow-ui``, ``make mlflow-ui``) on the smoke pipeline's store:
its REST API lists every run FINISHED with its metrics and files, and a logged model loads."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.smoke_project import SMOKE_ROOT, environment

EXPERIMENT = "lofi-smoke"  # conf/pipeline/smoke.yaml train.experiment
#: Seconds the server may take to answer (its start imports MLflow's whole server stack).
START_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(base: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server(smoke_project) -> Iterator[str]:
    """``lofi mlflow-ui`` serving the smoke project's store; its base URL. Stopped after the tests."""
    port = _free_port()
    command = [str(Path(sys.executable).with_name("lofi")), "mlflow-ui", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=smoke_project, env=environment(), start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            assert process.poll() is None, process.stdout.read()[-3000:]
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, f"no answer from {base} within {START_TIMEOUT_S} s"
                time.sleep(1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_the_rest_api_lists_every_pipeline_run_finished_with_metrics_and_files(server, smoke_project):
    experiment = _get(server, f"/api/2.0/mlflow/experiments/get-by-name?experiment_name={EXPERIMENT}")
    experiment_id = experiment["experiment"]["experiment_id"]
    found = _get(
        server, "/api/2.0/mlflow/runs/search", {"experiment_ids": [experiment_id], "max_results": 100}
    )
    runs = {run["info"]["run_name"]: run for run in found["runs"]}
    folders = {
        p.parent.name for p in (smoke_project / SMOKE_ROOT / "results" / "runs").glob("*/metrics.json")
    }
    assert set(runs) == folders  # one MLflow run per run folder, named alike
    for name, run in runs.items():
        assert run["info"]["status"] == "FINISHED", name
        metrics = {m["key"]: m["value"] for m in run["data"].get("metrics", [])}
        tags = {t["key"]: t["value"] for t in run["data"].get("tags", [])}
        assert tags["model"] and tags["dataset_sha256"] and tags["pipeline_config_sha256"], name
        recorded = json.loads(
            (smoke_project / SMOKE_ROOT / "results" / "runs" / name / "metrics.json").read_text()
        )
        key = "recovery/burst3/mae_csibert" if "pretrain" in name else "test/err_mean"
        assert np.isclose(metrics[key], recorded[key]), name  # the store holds what the run wrote
        files = _get(server, f"/api/2.0/mlflow/artifacts/list?run_id={run['info']['run_id']}")
        assert "metrics.json" in {f["path"] for f in files["files"]}, name


@pytest.mark.slow
def test_a_logged_model_loads_through_the_server_and_predicts(server, smoke_project):
    import mlflow
    import pandas as pd

    from lofi.io.dataset_store import load_dataset

    mlflow.set_tracking_uri(server)
    client = mlflow.tracking.MlflowClient(tracking_uri=server)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    (run,) = client.search_runs([experiment.experiment_id], "attributes.run_name = 'gru-window-seed0'")
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    results = smoke_project / SMOKE_ROOT
    tested = pd.read_parquet(results / "results" / "runs" / "gru-window-seed0" / "predictions.parquet")
    data = load_dataset(results / "data" / "processed" / "lab")
    length = int(json.loads((results / "results" / "runs" / "gru-window-seed0" / "metrics.json").read_text())
                 ["config"]["data"]["length"])  # fmt: skip
    rows = tested["start"].to_numpy()[:, None] + np.arange(length)
    predicted = model.predict(np.asarray(data.amplitude, np.float32)[rows])
    np.testing.assert_allclose(predicted[["x_m", "y_m"]], tested[["x_pred", "y_pred"]], atol=1e-5)
