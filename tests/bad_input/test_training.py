"""Bad input to ``python -m lofi.train``: one clear line naming the file or setting, exit 2, no run files.

Each case runs the module as a user would (a subprocess, Hydra and all) and checks that the
error names what is wrong before any training starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.train.conftest import tiny_dataset  # noqa: F401  (a fixture)


def run_train(*overrides: str, cwd, **env_vars: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "lofi.train",
        "trainer=smoke",
        "trainer.threads=1",
        "logger=none",
        f"hydra.run.dir={cwd}/hydra-run",  # Hydra's own files stay in the test's folder
        *overrides,
    ]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **env_vars}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=cwd)


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("missing", ["nowhere: no such data set folder"]),
        ("older", ["frames.parquet: missing column(s) segment"]),
        ("unknown_model", ["model.name='transformer' is not a model", "known models: cnn"]),
        ("no_test_windows", ["tiny: split 'paper' fold 0:", "test windows of 5000 rows"]),
        ("foreign_checkpoint", ["not a CSI-BERT recovery file", "best.ckpt"]),
    ],
)
def test_training_refuses_bad_input_in_one_line(tiny_dataset, tmp_path, case, fragments):  # noqa: F811
    data = tiny_dataset
    extra: list[str] = []
    if case == "missing":
        data = tmp_path / "nowhere"
    elif case == "older":
        data = tmp_path / "older"
        shutil.copytree(tiny_dataset, data)
        pq.write_table(
            pq.read_table(data / "frames.parquet").drop_columns(["segment"]), data / "frames.parquet"
        )
    elif case == "unknown_model":
        extra = ["model.name=transformer"]
    elif case == "no_test_windows":
        extra = ["data.length=5000"]
    elif case == "foreign_checkpoint":
        foreign = tmp_path / "checkpoints" / "best.ckpt"
        foreign.parent.mkdir()
        import torch

        torch.save({"state_dict": {"model.conv.weight": torch.zeros(1)}, "epoch": 1}, foreign)
        extra = ["experiment=table2_csibert", f"model.pretrained={foreign}"]
    out = tmp_path / "run"
    result = run_train(f"data.dir={data}", f"paths.output_dir={out}", *extra, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("lofi.train: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    for fragment in fragments:
        assert fragment in errors[0]
    assert not (out / "metrics.json").exists() and not (out / "checkpoints").exists()


def test_lofi_traceback_shows_the_whole_error(tiny_dataset, tmp_path, monkeypatch):  # noqa: F811
    """LOFI_TRACEBACK=1: the traceback behind the one-line error, for a bug report."""
    from lofi.cli import main

    result = run_train(f"data.dir={tiny_dataset}", f"paths.output_dir={tmp_path / 'run'}",
                       "model.name=transformer", cwd=tmp_path, LOFI_TRACEBACK="1")  # fmt: skip
    assert result.returncode not in (0, 2) and "Traceback" in result.stderr
    assert "model.name='transformer' is not a model" in result.stderr
    assert main(["table2", str(tmp_path / "no_runs")]) == 2  # one line by default
    monkeypatch.setenv("LOFI_TRACEBACK", "1")
    with pytest.raises(ValueError, match="no training run"):
        main(["table2", str(tmp_path / "no_runs")])
