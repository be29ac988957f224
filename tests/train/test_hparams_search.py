"""``conf/hparams_search/``: the Optuna sweeps compose, and a real two-trial search picks its best run."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from lofi.train.__main__ import optimized_value

CONF = Path(__file__).resolve().parents[2] / "conf"


def compose_search(*overrides: str):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def test_the_optuna_search_composes_with_its_sweeper_and_search_space():
    cfg = compose_search("hparams_search=optuna", "experiment=table2_lstm")
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.direction == "minimize"
    assert sweeper.sampler._target_ == "optuna.samplers.TPESampler" and sweeper.sampler.seed == 0
    assert sweeper.n_trials == 20 and sweeper.n_jobs == 1
    assert dict(sweeper.params) == {
        "model.lr": "tag(log, interval(0.0001, 0.01))",
        "model.options.hidden": "choice(32, 64, 128)",
    }
    assert cfg.optimized_metric == "val/best_loss" and cfg.model.name == "lstm"
    assert cfg.model.options.hidden == 64 and cfg.logger.experiment == "lofi-hparams"
    sweep = OmegaConf.to_container(cfg.hydra.sweep, resolve=False)
    assert sweep["subdir"] == "trial${hydra.job.num}"  # trials share the experiment's name and seed


def test_the_lr_only_search_fits_networks_without_a_width():
    cfg = compose_search("hparams_search=optuna_lr", "experiment=table2_cnn")
    assert dict(cfg.hydra.sweeper.params) == {"model.lr": "tag(log, interval(0.0001, 0.01))"}
    assert "hidden" not in cfg.model.options and cfg.hydra.sweeper.sampler.seed == 0


@pytest.mark.parametrize("search", ["optuna", "optuna_lr"])
def test_a_search_config_resolves_outside_a_hydra_run(search, tmp_path):
    """train(cfg) resolves the whole job config: no value of it may need Hydra's runtime."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"hparams_search={search}", "experiment=table2_gru",
                                          f"paths.output_dir={tmp_path}"])  # fmt: skip
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["run_name"] == "table2_gru-window-seed0"  # no Hydra run: no overrides to tag


def test_the_sweeper_gets_the_configured_metric():
    metrics = {"val/best_loss": 1.5, "test/err_mean": 2.0, "paper/err_mean": None}
    assert optimized_value(metrics, "val/best_loss") == 1.5
    assert math.isnan(optimized_value(metrics, "paper/err_mean"))
    with pytest.raises(KeyError, match="val/loss"):
        optimized_value(metrics, "val/loss")


def test_a_search_resumed_in_a_second_session_numbers_its_trials_on_and_reports_its_best_run(
    tiny_dataset, tmp_path
):
    """Two sessions of one trial each on one stored study: trial0 and trial1 (folders and MLflow
    names), new parameters in the second, and the best over both."""
    runs = tmp_path / "runs"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    overrides = [f"data.dir={tiny_dataset}", f"paths.runs_dir={runs}", "trainer=smoke", "trainer.threads=1",
                 f"logger.tracking_uri={uri}", "data.train_windows_per_epoch=32",
                 "data.batch_size=16", f"hydra.sweeper.storage=sqlite:///{tmp_path / 'o.db'}"]  # fmt: skip
    search = ["-m", "hparams_search=optuna", "experiment=table2_lstm", "hydra.sweeper.n_trials=1"]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    command = [sys.executable, "-m", "lofi.train", *search, *overrides]
    for _ in range(2):
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
    study = runs / "optuna" / "table2_lstm"
    trials = sorted(p.name for p in study.iterdir() if p.is_dir())
    assert trials == ["trial0", "trial1"]
    metrics = {t: json.loads((study / t / "metrics.json").read_text()) for t in trials}
    configs = {t: yaml.safe_load((study / t / "config.yaml").read_text()) for t in trials}
    best = yaml.safe_load((study / "optimization_results.yaml").read_text())
    losses = {t: m["val/best_loss"] for t, m in metrics.items()}
    assert best["best_value"] == pytest.approx(min(losses.values()))
    winner = configs[min(losses, key=losses.get)]["model"]
    chosen = {"model.lr": winner["lr"], "model.options.hidden": winner["options"]["hidden"]}
    assert best["best_params"] == chosen  # the trials' overrides reached their runs
    assert configs["trial0"]["model"]["lr"] != configs["trial1"]["model"]["lr"]  # the sampler chose each
    assert all(1e-4 <= c["model"]["lr"] <= 1e-2 and c["model"]["options"]["hidden"] in (32, 64, 128)
               for c in configs.values())  # fmt: skip
    client = MlflowClient(tracking_uri=uri)
    logged = client.search_runs([client.get_experiment_by_name("lofi-hparams").experiment_id])
    names = sorted(re.sub("-[0-9a-f]{8}-", "-TAG-", r.info.run_name) for r in logged)
    assert names == ["table2_lstm-window-TAG-seed0-trial0", "table2_lstm-window-TAG-seed0-trial1"]


def test_a_study_with_trials_still_running_is_not_resumed(tmp_path):
    """A second session at work (or a crashed one) holds trial numbers: refused, not reused."""
    import optuna

    from hydra_plugins.lofi_optuna_sweeper import _commit_schema_stamp, stored_trials

    _commit_schema_stamp()
    storage = f"sqlite:///{tmp_path / 'o.db'}"
    study = optuna.create_study(study_name="s", storage=storage)
    study.tell(study.ask(), 1.0)
    assert stored_trials(storage, "s") == 1 and stored_trials(storage, "other") == 0
    study.ask()  # asked, never told: RUNNING
    with pytest.raises(ValueError, match=r"still RUNNING \(\[1\]\)"):
        stored_trials(storage, "s")
