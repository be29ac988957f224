"""DDP on CPU (2 processes, gloo): the test metrics and predictions are every window's, each once.

Lightning's DistributedSampler gives each process every second window and repeats windows so
that both get as many; the module gathers both processes' windows before scoring
(``lofi.train.module.gather_windows``). These tests score one checkpoint in one process and in
two, and run ``python -m lofi.train trainer=ddp_cpu`` end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lofi.train.run import train
from tests.train.conftest import config

pytestmark = pytest.mark.slow
#: 33 validation and test windows in the tiny data set: an odd count, so that the sampler repeats one
#: window for the second process, and more than one batch of 16.
ODD_WINDOWS = "+data.eval_stride=10"

#: Scores a run's best checkpoint on its test windows in N CPU processes (DDP when N > 1); rank zero
#: writes what the module gathered. Lightning starts the second process by running this script again.
EVALUATE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import numpy as np
    import pytorch_lightning as pl
    import torch
    from omegaconf import OmegaConf

    from lofi.models import INPUT_VIEW
    from lofi.train.module import LocalizationModule, window_metrics
    from lofi.train.run import _build, datamodule

    run, processes, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    torch.set_num_threads(1)
    cfg = OmegaConf.load(run / "config.yaml")
    name = str(cfg.model.name).lower()
    dm = datamodule(cfg, INPUT_VIEW[name])
    dm.setup()
    module = LocalizationModule(_build(name, dm, OmegaConf.to_container(cfg.model.options)), str(cfg.task))
    trainer = pl.Trainer(
        accelerator="cpu", devices=processes, strategy="ddp" if processes > 1 else "auto", logger=False,
        enable_progress_bar=False, enable_model_summary=False, deterministic=True,
    )
    trainer.test(module, datamodule=dm, ckpt_path=str(run / "checkpoints" / "best.ckpt"), verbose=False)
    if trainer.is_global_zero:
        out.mkdir(parents=True, exist_ok=True)
        np.savez(out / "outputs.npz", **module.test_outputs)
        (out / "metrics.json").write_text(json.dumps(window_metrics(module.test_outputs)))
    """
)
#: Per-window columns compared between one process and two.
PREDICTED = ["x_pred", "y_pred", "region2_pred", "region4_pred", "region6_pred"]
#: Test metrics compared (errors in m, accuracies, window counts).
COMPARED = [
    "err_mean",
    "err_std",
    "err_median",
    "err_p90",
    "err_true_mean",
    "acc2",
    "acc4",
    "acc6",
    "windows",
]


def environment() -> dict[str, str]:
    """One torch thread per process; the repository's ``lofi`` first on the path."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path, "MLFLOW_DISABLE_TELEMETRY": "true"}


def evaluate(script: Path, run: Path, processes: int, out: Path) -> tuple[dict, dict]:
    result = subprocess.run(
        [sys.executable, str(script), str(run), str(processes), str(out)],
        capture_output=True, text=True, timeout=300, env=environment(), cwd=out.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(out / "outputs.npz") as outputs:
        return json.loads((out / "metrics.json").read_text()), dict(outputs)


def test_two_processes_score_a_checkpoint_as_one_does(tiny_dataset, tmp_path):
    """Train once (one process), then score its best checkpoint in 1 and in 2 processes: the same
    windows, each once and in the same order, and the same metrics as the run's metrics.json."""
    run = tmp_path / "run"
    full = ["trainer.limit_val_batches=1.0", "trainer.limit_test_batches=1.0"]  # every window
    metrics = train(config(tiny_dataset, run, "model=gru", ODD_WINDOWS, *full))
    script = tmp_path / "evaluate.py"
    script.write_text(EVALUATE)
    one, one_outputs = evaluate(script, run, 1, tmp_path / "one")
    two, two_outputs = evaluate(script, run, 2, tmp_path / "two")

    windows = int(metrics["test/windows"])
    assert windows % 2 == 1 and windows > 16  # one window twice in the 2 processes' shares; 2+ batches
    assert len(two_outputs["start"]) == len(one_outputs["start"]) == windows
    assert len({(s, t) for s, t in zip(two_outputs["session"], two_outputs["start"], strict=True)}) == windows
    for key in ("session", "start", "xy", "xy_true", "region2", "region4", "region6"):
        np.testing.assert_array_equal(two_outputs[key], one_outputs[key], err_msg=key)  # same windows, order
    np.testing.assert_allclose(two_outputs["xy_pred"], one_outputs["xy_pred"], rtol=1e-5, atol=1e-6)
    for n in (2, 4, 6):
        assert (two_outputs[f"region{n}_pred"] == one_outputs[f"region{n}_pred"]).mean() == 1.0
    for key in COMPARED:
        assert two[key] == pytest.approx(one[key], rel=1e-6, abs=1e-7, nan_ok=True), key
        assert one[key] == pytest.approx(metrics[f"test/{key}"], rel=1e-6, abs=1e-7, nan_ok=True), key
    predictions = pd.read_parquet(run / "predictions.parquet")
    np.testing.assert_array_equal(predictions["start"].to_numpy(), two_outputs["start"])
    np.testing.assert_allclose(
        predictions[["x_pred", "y_pred"]].to_numpy(), two_outputs["xy_pred"], rtol=1e-5
    )


def cli(run_dir: Path, dataset: Path, *overrides: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "lofi.train", f"data.dir={dataset}", f"hydra.run.dir={run_dir}",
        "logger=none", "model=gru", "data.train_windows_per_epoch=64", "data.batch_size=16",
        "trainer.threads=1", "trainer.max_epochs=1", "+trainer.limit_train_batches=2",
        "trainer.enable_progress_bar=false", ODD_WINDOWS, *overrides,
    ]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=environment(), cwd=run_dir.parent
    )


def test_python_m_lofi_train_with_trainer_ddp_cpu_writes_every_test_window_once(tiny_dataset, tmp_path):
    """`python -m lofi.train trainer=ddp_cpu` (2 processes) against `trainer=cpu`, learning rate 0 so
    that both test the same (initial) weights: the same metrics.json test numbers and the same rows
    of predictions.parquet, written once (by rank zero) into the Hydra run folder."""
    frozen = ["model.lr=0", "model.weight_decay=0"]  # the tested weights are the seeded initial ones
    single = cli(tmp_path / "single", tiny_dataset, "trainer=cpu", *frozen)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = cli(tmp_path / "ddp", tiny_dataset, "trainer=ddp_cpu", *frozen)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert ddp.stdout.count("test error") == 1  # the summary line: rank zero's run, printed once

    one = json.loads((tmp_path / "single" / "metrics.json").read_text())
    two = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert two["test/windows"] == one["test/windows"] and one["test/windows"] % 2 == 1
    for key in COMPARED:  # metrics.json writes NaN (no truth in this data set) as null
        assert two[f"test/{key}"] == one[f"test/{key}"] or two[f"test/{key}"] == pytest.approx(
            one[f"test/{key}"], rel=1e-6, abs=1e-7
        ), key
    first = pd.read_parquet(tmp_path / "single" / "predictions.parquet")
    second = pd.read_parquet(tmp_path / "ddp" / "predictions.parquet")
    assert len(second) == two["test/windows"] and not second.duplicated(["session", "start"]).any()
    pd.testing.assert_frame_equal(
        second.drop(columns=PREDICTED), first.drop(columns=PREDICTED)
    )  # the same windows, labels and truth, in the same order
    np.testing.assert_allclose(second[PREDICTED].to_numpy(float), first[PREDICTED].to_numpy(float), rtol=1e-5)
    leftovers = [p.name for p in (tmp_path / "ddp").iterdir() if p.name.endswith(".tmp")]
    assert not leftovers
