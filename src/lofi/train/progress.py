"""One log line per epoch (when the progress bar is off, e.g. in pipelines and background runs)."""

from __future__ import annotations

import logging
import time

import pytorch_lightning as pl

log = logging.getLogger("lofi.train")


class EpochLog(pl.Callback):
    """Logs ``epoch k/max: train/loss ..., val/loss ..., <s> s`` after each validation epoch, and
    measures the training throughput (:attr:`samples_per_s`: training batches only, data
    loading included, validation excluded)."""

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self._epoch_start = 0.0
        self.train_seconds = 0.0
        self.samples = 0

    @property
    def samples_per_s(self) -> float:
        """Training windows per second of training-epoch time (NaN before any epoch)."""
        return self.samples / self.train_seconds if self.train_seconds > 0 else float("nan")

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self.samples += len(batch["x"])

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.train_seconds += time.perf_counter() - self._epoch_start

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        shown = ("train/loss", "val/loss", "val/err_mean", "val/mae")
        values = ", ".join(
            f"{k} {float(trainer.callback_metrics[k]):.4f}" for k in shown if k in trainer.callback_metrics
        )
        elapsed = time.perf_counter() - self._start
        log.info("epoch %d/%d: %s, %.0f s", trainer.current_epoch + 1, trainer.max_epochs, values, elapsed)
