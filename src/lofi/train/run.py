"""``train(cfg)``: one Table II run from a composed Hydra config; returns its metrics.

Seeded and deterministic on CPU. Networks train with Lightning (checkpoint and early stopping
on validation loss, then one test at the best checkpoint); baselines are fitted once on the
training windows. Writes ``metrics.json`` and ``predictions.parquet`` into the run folder and,
with a tracking URI, logs the run to MLflow.
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from lofi.data.datamodule import CsiDataModule, WindowDataset
from lofi.io.json_report import file_sha256, write_json
from lofi.io.tables import write_table
from lofi.models import INPUT_VIEW, build_model, count_parameters
from lofi.train.module import LocalizationModule, collect, window_metrics
from lofi.train.tracking import init_store, log_run


def train(cfg: DictConfig) -> dict:
    """Run one configured experiment; returns the metrics written to ``metrics.json``."""
    out = Path(cfg.paths.output_dir)
    pl.seed_everything(int(cfg.seed), workers=True)
    torch.set_num_threads(int(cfg.trainer.get("threads", 2)))
    name = str(cfg.model.name)
    dm = datamodule(cfg, INPUT_VIEW[name])
    dm.setup()
    model = build_model(name, in_channels=_channels(dm), **OmegaConf.to_container(cfg.model.options))
    logger = _logger(cfg)
    start = time.perf_counter()
    if getattr(model, "trainable", True):
        joined, epochs, best_val = _fit_network(cfg, dm, model, out, logger)
    else:
        joined, epochs, best_val = _fit_baseline(dm, model), 0, float("nan")
    seconds = time.perf_counter() - start
    metrics = {f"test/{k}": v for k, v in window_metrics(joined).items()} | {"val/best_loss": best_val}
    metrics |= _run_facts(cfg, dm, model, seconds, epochs)
    _write_outputs(out, metrics, joined, dm)
    OmegaConf.save(cfg, out / "config.yaml", resolve=True)
    if logger:
        tags = {"model": name, "split": dm.split, "dataset_sha256": metrics["dataset_sha256"],
                "git_commit": metrics["git_commit"]}  # fmt: skip
        log_run(logger, cfg, metrics, out, tags)
    return metrics


def datamodule(cfg: DictConfig, view: str) -> CsiDataModule:
    """The DataModule of ``cfg.data`` in the model's input view."""
    data = OmegaConf.to_container(cfg.data, resolve=True)
    return CsiDataModule(
        data_dir=data.pop("dir"), view=view, seed=int(cfg.seed), extra=tuple(data.pop("extra", ())), **data
    )


def _channels(dm: CsiDataModule) -> int:
    shape = dm.input_shape
    return shape[0] if dm.view == "correlation" else shape[-1] // 52


def _fit_network(cfg: DictConfig, dm: CsiDataModule, model, out: Path, logger) -> tuple[dict, int, float]:
    """Train with Lightning; test once at the checkpoint with the lowest validation loss.

    Returns the test windows' outputs, the epochs run and that best validation loss.
    """
    module = LocalizationModule(
        model, str(cfg.task), tuple(cfg.region_weights), cfg.model.lr, cfg.model.weight_decay
    )
    monitor = str(cfg.callbacks.monitor)
    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=out / "checkpoints",
        monitor=monitor,
        mode="min",
        filename="best",
        auto_insert_metric_name=False,
    )
    stopping = pl.callbacks.EarlyStopping(monitor=monitor, mode="min", patience=int(cfg.callbacks.patience))
    trainer_cfg = {k: v for k, v in OmegaConf.to_container(cfg.trainer).items() if k != "threads"}
    trainer = pl.Trainer(
        **trainer_cfg,
        callbacks=[checkpoint, stopping],
        logger=logger,
        default_root_dir=out,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=dm)
    trainer.test(
        module, datamodule=dm, ckpt_path="best" if checkpoint.best_model_path else None, verbose=False
    )
    best = checkpoint.best_model_score
    return (
        module.test_outputs,
        int(trainer.fit_loop.epoch_progress.current.completed),
        float(best) if best is not None else float("nan"),
    )


def _fit_baseline(dm: CsiDataModule, model) -> dict:
    """Fit a baseline on the non-overlapping training windows, then predict the test windows."""
    train = _stack(dm.strided_dataset("train"))  # non-overlapping training windows
    regions = {f"region{n}": train[f"region{n}"] for n in (2, 4, 6)}
    model.fit(train["x"], train["xy"], regions)
    parts = []
    for batch in dm.test_dataloader():
        with torch.no_grad():
            parts.append(collect(batch, model(batch["x"])))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _stack(dataset: WindowDataset) -> dict[str, torch.Tensor]:
    """Every window of ``dataset`` as one batch."""
    return dataset.batch(np.arange(len(dataset)))


def _logger(cfg: DictConfig):
    uri = cfg.logger.get("tracking_uri")
    if not uri:
        return False
    from pytorch_lightning.loggers import MLFlowLogger

    init_store(str(uri), str(cfg.logger.experiment))
    run_name = f"{cfg.experiment_name}-seed{cfg.seed}"
    return MLFlowLogger(experiment_name=str(cfg.logger.experiment), tracking_uri=str(uri), run_name=run_name)


def _run_facts(cfg: DictConfig, dm: CsiDataModule, model, seconds: float, epochs: int) -> dict:
    """Everything but the test metrics: model, split, sizes, time, memory, commit, config hash."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    resolved.get("paths", {}).pop("output_dir", None)
    config_text = json.dumps(resolved, sort_keys=True, default=str)
    windows = dm.num_windows
    return {
        "model": str(cfg.model.name),
        "experiment": str(cfg.experiment_name),
        "seed": int(cfg.seed),
        "task": str(cfg.task),
        "split": dm.split,
        "normalize": dm.normalize,
        "windows": windows,
        "parameters": count_parameters(model),
        "epochs": epochs,
        "train_seconds": round(seconds, 2),
        "peak_memory_mb": _peak_memory_mb(),
        "peak_memory_kind": "cuda max_memory_allocated" if torch.cuda.is_available() else "peak RSS (CPU)",
        "git_commit": _git_commit(),
        "config_sha256": hashlib.sha256(config_text.encode()).hexdigest()[:16],
        "dataset_sha256": file_sha256(dm.data_dir / "manifest.json")[:16],
    }


def _peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _git_commit() -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except OSError:
        return "unknown"
    return result.stdout.strip() or "unknown"


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
            **{f"region{n}{s}": joined[f"region{n}{s}"] for n in (2, 4, 6) for s in ("", "_pred")},
        }
    )
    write_table(out / "predictions.parquet", table)
    write_json(out / "metrics.json", _json_ready(metrics))


def _json_ready(metrics: dict) -> dict:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()}
