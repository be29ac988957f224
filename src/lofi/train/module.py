"""The LightningModule shared by every network: one ``model_step``, Table II metrics per split.

Metric names follow ``<split>/<name>``: ``train/loss``, ``val/loss``, ``val/err_mean``,
``test/err_mean``, ``test/acc6`` ... Test predictions are kept (``test_outputs``) so the
caller can write ``predictions.parquet``.

Under DDP (``trainer=ddp``, ``trainer=ddp_cpu``) each process sees its share of the validation
and test windows (Lightning's ``DistributedSampler``, which repeats a few windows so that every
process gets as many). At the end of an epoch the processes exchange their windows' outputs
(:func:`gather_windows`): every process then holds every window exactly once, in the data set's
order, and computes the same metrics as one process would; ``test_outputs`` holds every test
window. The losses are synchronised too (window-weighted mean over all processes), so early
stopping and the checkpoint watch the same numbers in every process.
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
        # sync_dist: under DDP the mean over every process's windows (a no-op in one process)
        self.log(
            f"{split}/loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["xy"]), sync_dist=True
        )
        self._collected[split].append(collect(batch, outputs))

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self.test_outputs = self._log_epoch("test")

    def _log_epoch(self, split: str) -> dict[str, np.ndarray]:
        parts = self._collected[split]
        self._collected[split] = []
        joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
        if _distributed(self):  # every process's windows, each once (all processes take part)
            joined = gather_windows(joined, self.all_gather, self.device)
        if not joined:
            return {}
        for name, value in window_metrics(joined).items():
            if np.isfinite(value):
                # The same value in every process (they gathered the same windows): "max" keeps it
                # exactly; sync_dist only so that Lightning knows it is the whole split's number.
                self.log(f"{split}/{name}", value, sync_dist=True, reduce_fx="max")
        return joined

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)


def _distributed(module: pl.LightningModule) -> bool:
    """Whether ``module`` runs in a Trainer with more than one process (DDP)."""
    trainer = module._trainer  # None outside a Trainer (``module.trainer`` would raise)
    return trainer is not None and trainer.world_size > 1


#: The keys that name a window (unique within a split): the session and the window's first row.
WINDOW_KEYS = ("session", "start")


def gather_windows(
    local: dict[str, np.ndarray],
    all_gather: Callable[[object], object],
    device: torch.device | str = "cpu",
) -> dict[str, np.ndarray]:
    """Every process's windows (:func:`collect` arrays, joined), each window once, in sampler order.

    ``all_gather`` is the LightningModule's (every process calls this function, or all wait);
    ``device``: where the exchanged tensors live (the module's: a GPU under NCCL).
    Lightning's ``DistributedSampler`` (no shuffling) gives process ``r`` of ``W`` the windows
    ``r, r + W, r + 2W, ...`` of the split, with the first windows repeated at the end so that
    every process has as many: taking the gathered windows in that interleaved order and keeping
    the first of each (``WINDOW_KEYS``) gives the split's windows once, in the data set's order.
    Arrays are padded to the longest process's before the exchange and cut back after.
    """
    count = torch.tensor([len(next(iter(local.values()))) if local else 0], device=device)
    counts = all_gather(count).reshape(-1).cpu().numpy()
    if not counts.any():
        return {}
    if not counts.all():  # every process sees this (same counts): all raise, none waits
        raise RuntimeError(
            f"DDP: some processes evaluated no windows (windows per process: {counts.tolist()})"
        )
    longest = int(counts.max())
    padded = {}
    for key in sorted(local):  # the same order in every process
        values = torch.from_numpy(np.ascontiguousarray(local[key]))
        pad = torch.zeros((longest - len(values), *values.shape[1:]), dtype=values.dtype)
        padded[key] = torch.cat([values, pad]).to(device)
    gathered = {k: v.cpu().numpy() for k, v in all_gather(padded).items()}  # (processes, longest, ...)
    held = np.arange(longest)[None, :] < counts[:, None]  # (processes, longest)
    # position k of every process, then k + 1: the sampler's order
    joined = {k: np.swapaxes(v, 0, 1)[held.T] for k, v in gathered.items()}
    names = np.stack([joined[k].astype(np.int64) for k in WINDOW_KEYS], axis=1)
    _, first = np.unique(names, axis=0, return_index=True)
    keep = np.sort(first)  # the first time each window came: sampler order, padding dropped
    return {k: joined[k][keep] for k in local}


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
