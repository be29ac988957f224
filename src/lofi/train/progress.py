"""One log line per epoch (when the progress bar is off, e.g. in pipelines and background runs)."""

from __future__ import annotations

import logging
import time

import pytorch_lightning as pl
import torch

log = logging.getLogger("lofi.train")


class EpochLog(pl.Callback):
    """Logs ``epoch k/max: train loss ..., val/loss ..., <s> s`` after each validation epoch, and
    measures the training throughput.

    :attr:`samples_per_s` counts training windows per second of the training steps alone
    (data loading, forward, backward and optimiser step), validation excluded. The train
    loss shown is the mean over the epoch's training batches.
    """

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self._batch_start = 0.0
        self.train_seconds = 0.0
        self.samples = 0
        self._losses: list[float] = []

    @property
    def samples_per_s(self) -> float:
        """Training windows per second of training-step time (NaN before any step)."""
        return self.samples / self.train_seconds if self.train_seconds > 0 else float("nan")

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._losses = []
        self._batch_start = time.perf_counter()  # the first batch's loading counts too

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        now = time.perf_counter()
        self.train_seconds += now - self._batch_start
        self._batch_start = now  # the next batch's loading starts here
        self.samples += len(batch["x"])
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor):
            self._losses.append(float(loss.detach()))

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        shown = ("val/loss", "val/err_mean", "val/mae")
        values = [f"train loss {sum(self._losses) / len(self._losses):.4f}"] if self._losses else []
        values += [
            f"{k} {float(trainer.callback_metrics[k]):.4f}" for k in shown if k in trainer.callback_metrics
        ]
        elapsed = time.perf_counter() - self._start
        log.info(
            "epoch %d/%d: %s, %.0f s",
            trainer.current_epoch + 1,
            trainer.max_epochs,
            ", ".join(values),
            elapsed,
        )
