"""``train(cfg)``: one Table II run from a composed Hydra config; returns its metrics.

Seeded and deterministic on CPU. Networks train with Lightning (checkpoint and early stopping
on validation loss, then one test at the best checkpoint); baselines are fitted once on the
training windows. Writes ``metrics.json`` and ``predictions.parquet`` into the run folder and,
with a tracking URI, logs the run to MLflow.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from lofi.data.datamodule import CsiDataModule
from lofi.io.constants import N_SUBCARRIERS, REGION_COUNTS
from lofi.io.json_report import write_json
from lofi.io.tables import write_table
from lofi.models import INPUT_VIEW, MODELS, build_model
from lofi.train.config import TASKS, resolve_paths, validate
from lofi.train.figures import save_error_cdf
from lofi.train.fitting import fit_and_test, is_global_zero
from lofi.train.module import LocalizationModule, predict_all, window_metrics
from lofi.train.outputs import json_ready, mlflow_logger, run_facts
from lofi.train.pretrain_run import pretrain
from lofi.train.pretrained import load_pretrained, recovery_filler
from lofi.train.progress import EpochLog
from lofi.train.reference_protocol import ReferenceProtocol
from lofi.train.robustness import robustness
from lofi.train.run_folder import prepare_run_folder
from lofi.train.run_model import write_run_model
from lofi.train.tracking import failed_on_error, log_run, pipeline_tags


def train(cfg: DictConfig) -> dict:
    """Run one configured experiment; returns the metrics written to ``metrics.json``."""
    validate(cfg)  # every setting's type and range, before any data is read
    resolve_paths(cfg)
    out = Path(cfg.paths.output_dir)
    name = check_model_config(cfg)
    reads = [cfg.data.dir, cfg.model.get("pretrained"), cfg.recovery_eval.get("checkpoint")]
    prepare_run_folder(out, bool(cfg.get("overwrite")), tuple(Path(str(p)) for p in reads if p))
    pl.seed_everything(int(cfg.seed), workers=True)
    torch.set_num_threads(int(cfg.trainer.get("threads", 2)))
    raw_windows = cfg.task == "pretrain" and cfg.data.normalize == "window"  # standardised per visible frames
    dm = datamodule(cfg, INPUT_VIEW[name], normalize="none" if raw_windows else None)
    dm.setup()
    model = _build(name, dm, OmegaConf.to_container(cfg.model.options))
    if cfg.model.get("pretrained"):
        load_pretrained(model, cfg.model.pretrained, dm)
    with torch.random.fork_rng():  # building the filler's model must not move the run's random streams
        filler = recovery_filler(cfg, dm)
    logger = mlflow_logger(cfg)  # the MLflow run itself starts with the first thing logged
    try:
        with failed_on_error(logger):
            if cfg.task == "pretrain":
                return pretrain(cfg, dm, model, out, logger)
            return _localize(cfg, name, dm, model, filler, out, logger)
    except KeyboardInterrupt:  # the folder held no run when this one began: remove what it wrote
        prepare_run_folder(out, overwrite=True)
        raise


def _localize(cfg: DictConfig, name: str, dm: CsiDataModule, model, filler, out: Path, logger) -> dict:
    """Train (or fit) and test ``model``, write the run folder and log it; returns its metrics."""
    start = time.perf_counter()
    protocol = ReferenceProtocol(int(cfg.seed)) if cfg.get("paper_protocol") else None
    progress = EpochLog()
    if getattr(model, "trainable", True):
        joined, epochs, best_val = _fit_network(cfg, dm, model, out, logger, protocol, progress)
    else:
        joined, epochs, best_val = _fit_baseline(dm, model), 0, float("nan")
        if protocol:  # no epochs: one evaluation of the fitted baseline on epoch 0's draw
            protocol.evaluate(model, dm.datasets["test"], epoch=0)
    seconds = time.perf_counter() - start
    metrics = {f"test/{k}": v for k, v in window_metrics(joined).items()} | {"val/best_loss": best_val}
    metrics |= run_facts(cfg, dm, model, seconds, epochs) | {"train_samples_per_s": progress.samples_per_s}
    metrics |= protocol.summary() if protocol else {}  # paper/*: the reference code's way, labelled
    if filler is not None:
        metrics |= robustness(cfg, dm, model, filler)
    if not is_global_zero():  # DDP: the other processes computed the same numbers; rank zero writes
        return metrics
    _write_outputs(out, metrics, joined, dm)
    write_run_model(out, cfg, name, dm, model, metrics)  # model.pt: the tested weights, for `lofi predict`
    save_error_cdf(
        joined, out / "error_cdf.png", f"{cfg.experiment_name} seed {cfg.seed}: error CDF, test windows"
    )
    OmegaConf.save(cfg, out / "config.yaml", resolve=True)
    if logger:
        from lofi.train.mlflow_model import input_example  # imports MLflow's pyfunc: only when logging

        example = input_example(dm.datasets["test"], dm.length, dm.extra)
        log_run(logger, cfg, metrics, out, run_tags(name, dm, metrics), example)
    return metrics


def run_tags(name: str, dm: CsiDataModule, metrics: dict) -> dict[str, str]:
    """The MLflow tags of a localisation run: what to filter and compare runs by in the UI."""
    tags = {
        "model": name,
        "normalize": dm.normalize,
        "split": dm.split,
        "fold": str(dm.fold),
        "label_source": dm.label_source,
        "seed": str(metrics.get("seed")),
        "dataset_sha256": metrics["dataset_sha256"],
        "settings_sha256": str(metrics.get("settings_sha256")),
        "git_commit": metrics["git_commit"] or "none",
    }
    return tags | pipeline_tags()


def check_model_config(cfg: DictConfig) -> str:
    """The model name, after checking the model settings that need no data (clear errors first)."""
    name = str(cfg.model.name).lower()
    if name not in MODELS:
        raise ValueError(f"model.name={cfg.model.name!r} is not a model; known models: {', '.join(MODELS)}")
    if cfg.task not in TASKS:
        raise ValueError(f"task={cfg.task!r}: expected one of {', '.join(TASKS)}")
    if cfg.task == "pretrain" and name != "csibert":
        raise ValueError(f"task=pretrain (masked-frame recovery) is for model=csibert, not model={name}")
    pretrained = cfg.model.get("pretrained")
    if pretrained and name != "csibert":
        raise ValueError(f"model.pretrained is a CSI-BERT recovery file; model={name} cannot start from it")
    if pretrained and not Path(str(pretrained)).is_file():
        raise ValueError(
            f"model.pretrained={pretrained}: no such file (run experiment=csibert_pretrain first)"
        )
    return name


def _build(name: str, dm: CsiDataModule, options: dict):
    """The model ``name`` for the data's input shape; a wrong ``model.options`` key is a clear error."""
    try:
        return build_model(name, in_channels=_channels(dm), **options)
    except TypeError as err:
        raise ValueError(f"model.options={options}: not arguments of model {name} ({err})") from err


def datamodule(cfg: DictConfig, view: str, normalize: str | None = None) -> CsiDataModule:
    """The DataModule of ``cfg.data`` in the model's input view (``normalize`` overrides the config's)."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    if normalize is not None:
        data["normalize"] = normalize
    return CsiDataModule(
        data_dir=data.pop("dir"), view=view, seed=int(cfg.seed), extra=tuple(data.pop("extra", ())), **data
    )


def _channels(dm: CsiDataModule) -> int:
    shape = dm.input_shape
    return shape[0] if dm.view == "correlation" else shape[-1] // N_SUBCARRIERS


def _fit_network(
    cfg: DictConfig,
    dm: CsiDataModule,
    model,
    out: Path,
    logger,
    protocol: ReferenceProtocol | None = None,
    progress: EpochLog | None = None,
) -> tuple[dict, int, float]:
    """Train with Lightning; test once at the checkpoint with the lowest validation loss.

    ``protocol`` (``paper_protocol``) also scores the reference's test draws after each epoch.

    Returns the test windows' outputs, the epochs run and that best validation loss.
    """
    module = LocalizationModule(
        model, str(cfg.task), tuple(cfg.region_weights), cfg.model.lr, cfg.model.weight_decay
    )
    extra = [progress or EpochLog(), *([protocol] if protocol else [])]
    fitted = fit_and_test(cfg, module, dm, out, logger, extra)
    return module.test_outputs, fitted.epochs, fitted.best_val


def _fit_baseline(dm: CsiDataModule, model) -> dict:
    """Fit a baseline on the non-overlapping training windows, then predict the test windows."""
    windows = dm.strided_dataset("train")  # non-overlapping training windows
    train = windows.batch(np.arange(len(windows)))
    regions = {f"region{n}": train[f"region{n}"] for n in REGION_COUNTS}
    model.fit(train["x"], train["xy"], regions)
    return predict_all(model, dm.datasets["test"])


def _write_outputs(out: Path, metrics: dict, joined: dict, dm: CsiDataModule) -> None:
    """``metrics.json`` and ``predictions.parquet`` (one row per test window)."""
    names = np.asarray(dm.session_names, dtype=object)
    table = pd.DataFrame(
        {
            "session": names[joined["session"]],
            "start": joined["start"],
            "x_label": joined["xy"][:, 0],
            "y_label": joined["xy"][:, 1],
            "x_true": joined["xy_true"][:, 0],
            "y_true": joined["xy_true"][:, 1],
            "x_pred": joined["xy_pred"][:, 0],
            "y_pred": joined["xy_pred"][:, 1],
            **{f"region{n}{s}": joined[f"region{n}{s}"] for n in REGION_COUNTS for s in ("", "_pred")},
        }
    )
    write_table(out / "predictions.parquet", table)
    write_json(out / "metrics.json", json_ready(metrics))
