"""One way to fit a LightningModule: checkpoint and early stopping on validation loss, one test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from lofi.train.progress import EpochLog


@dataclass
class Fitted:
    """What a fit gives back: epochs run, the best validation loss, the test metrics at that checkpoint."""

    epochs: int
    best_val: float
    tested: dict[str, float]


def trainer_settings(cfg: DictConfig) -> dict:
    """``cfg.trainer`` as ``pl.Trainer`` keyword arguments (``threads`` is ours: torch's thread count)."""
    return {k: v for k, v in OmegaConf.to_container(cfg.trainer).items() if k != "threads"}


def fit_and_test(
    cfg: DictConfig,
    module: pl.LightningModule,
    dm: pl.LightningDataModule,
    out: Path,
    logger,
    callbacks: list[pl.Callback] = (),
    trainer: dict | None = None,
) -> Fitted:
    """Fit ``module``, checkpointing on ``cfg.callbacks.monitor`` (early stopping with its patience),
    then test once at the best checkpoint. ``trainer``: Trainer settings (default from ``cfg``)."""
    monitor = str(cfg.callbacks.monitor)
    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=out / "checkpoints",
        monitor=monitor,
        mode="min",
        filename="best",
        auto_insert_metric_name=False,
    )
    stopping = pl.callbacks.EarlyStopping(monitor=monitor, mode="min", patience=int(cfg.callbacks.patience))
    if not any(isinstance(c, EpochLog) for c in callbacks):
        callbacks = [*callbacks, EpochLog()]
    runner = pl.Trainer(
        **(trainer_settings(cfg) if trainer is None else trainer),
        callbacks=[checkpoint, stopping, *callbacks],
        logger=logger,
        default_root_dir=out,
        enable_model_summary=False,
    )
    runner.fit(module, datamodule=dm)
    results = runner.test(
        module, datamodule=dm, ckpt_path="best" if checkpoint.best_model_path else None, verbose=False
    )
    best = checkpoint.best_model_score
    return Fitted(
        epochs=int(runner.fit_loop.epoch_progress.current.completed),
        best_val=float(best) if best is not None else float("nan"),
        tested={k: float(v) for k, v in (results[0] if results else {}).items()},
    )
