"""The LightningModule shared by every network: one ``model_step``, Table II metrics per split.

Metric names follow ``<split>/<name>``: ``train/loss``, ``val/loss``, ``val/err_mean``,
``test/err_mean``, ``test/acc6`` ... Test predictions are kept (``test_outputs``) so the
caller can write ``predictions.parquet``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import Dataset, default_collate

from lofi.models import multitask_loss
from lofi.train.metrics import REGIONS, error_summary, euclidean_errors, region_accuracy


class LocalizationModule(pl.LightningModule):
    """Train ``model`` on (x, y) + region labels; Adam with weight decay (paper: lr 1e-3, wd 0.01)."""

    def __init__(
        self,
        model: nn.Module,
        task: str = "multitask",
        region_weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
        lr: float = 1e-3,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__()
        self.model = model
        self.save_hyperparameters(ignore=["model"], logger=False)
        self._collected: dict[str, list[dict[str, np.ndarray]]] = {"val": [], "test": []}
        self.test_outputs: dict[str, np.ndarray] = {}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model(x)

    def model_step(self, batch: dict) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        outputs = self.model(batch["x"])
        loss, _ = multitask_loss(outputs, batch, self.hparams.task, tuple(self.hparams.region_weights))
        return outputs, loss

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        _, loss = self.model_step(batch)
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["xy"]))
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate_step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate_step(batch, "test")

    def _evaluate_step(self, batch: dict, split: str) -> None:
        outputs, loss = self.model_step(batch)
        self.log(f"{split}/loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["xy"]))
        self._collected[split].append(collect(batch, outputs))

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self.test_outputs = self._log_epoch("test")

    def _log_epoch(self, split: str) -> dict[str, np.ndarray]:
        parts = self._collected[split]
        self._collected[split] = []
        if not parts:
            return {}
        joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        for name, value in window_metrics(joined).items():
            if np.isfinite(value):
                self.log(f"{split}/{name}", value)
        return joined

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)


def collect(batch: dict, outputs: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """One batch's labels, truth and predictions as numpy arrays (for metrics and predictions.parquet)."""
    out = {
        "xy": batch["xy"].detach().cpu().numpy(),
        "xy_true": batch["xy_true"].detach().cpu().numpy(),
        "xy_pred": outputs["xy"].detach().float().cpu().numpy(),
        "session": batch["session"].detach().cpu().numpy(),
        "start": batch["start"].detach().cpu().numpy(),
    }
    for n in REGIONS:
        out[f"region{n}"] = batch[f"region{n}"].detach().cpu().numpy()
        out[f"region{n}_pred"] = outputs[f"logits{n}"].detach().argmax(dim=1).cpu().numpy()
    return out


def window_metrics(joined: dict[str, np.ndarray]) -> dict[str, float]:
    """Error (m) against the labels and the truth, and region accuracy, over all windows of a split."""
    metrics = error_summary(euclidean_errors(joined["xy_pred"], joined["xy"]), "err")
    metrics |= error_summary(euclidean_errors(joined["xy_pred"], joined["xy_true"]), "err_true")
    metrics |= error_summary(euclidean_errors(joined["xy"], joined["xy_true"]), "label_err")
    for n in REGIONS:
        metrics[f"acc{n}"] = region_accuracy(joined[f"region{n}_pred"], joined[f"region{n}"])
    metrics["windows"] = float(len(joined["xy"]))
    diverged = ~np.isfinite(joined["xy_pred"]).all(axis=1)
    metrics["pred_nonfinite"] = float(diverged.sum())
    if diverged.any():  # a mean over the finite rest would be a number the model did not earn
        metrics |= {k: float("nan") for k in metrics if k.startswith(("err_", "err_true_"))}
    return metrics


def predict_windows(
    model: Callable[[torch.Tensor], dict[str, torch.Tensor]],
    dataset: Dataset,
    indices: Sequence[int],
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> list[dict[str, np.ndarray]]:
    """``collect`` of each batch of ``dataset[indices]`` (in that order), no gradients.

    ``model`` is called as it is: the caller puts it in eval mode.
    """
    batches = []
    for k in range(0, len(indices), batch_size):
        chosen = np.asarray(indices[k : k + batch_size], dtype=np.int64)
        if hasattr(dataset, "batch"):  # a WindowDataset builds the whole batch at once
            batch = dataset.batch(chosen)
        else:
            batch = default_collate([dataset[int(i)] for i in chosen])
        with torch.no_grad():
            outputs = model(batch["x"].to(device))
        batches.append(collect(batch, outputs))
    return batches


def predict_all(model: nn.Module, dataset: Dataset, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Labels, truth and predictions of every window of ``dataset`` (eval mode, no gradients;
    the model's mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        parts = predict_windows(model, dataset, np.arange(len(dataset)), batch_size)
    finally:
        model.train(was_training)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
