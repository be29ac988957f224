"""The reference code's Table II protocol (``paper_protocol: true``), reported beside the honest one.

The paper's public code scores its networks this way, and we report it *labelled as such*
(every key starts with ``paper/``) only to compare with the paper's Table II:

* after every training epoch it draws :data:`WINDOWS` random test windows (a fresh draw each
  epoch) and evaluates the model on them in batches of :data:`BATCH_SIZE`;
* its "mean error" is the **minimum over epochs** of that epoch's mean Euclidean error (m);
* its "std" is the mean over the batches of each batch's std of the error (m)
  (:func:`~lofi.train.metrics.batch_mean_std`), and like every other column it is the
  **best over epochs, taken independently**: ``paper/err_std`` is the minimum over epochs
  of the batch-mean std, possibly at another epoch than ``paper/err_mean``
  (``paper/err_std_at_err_mean_epoch`` is the value at the ``paper/err_mean`` epoch);
* its accuracies are each the **maximum over epochs**, each at its own epoch.

The test set is selected on, so these numbers are optimistic. The honest numbers
(``test/*``: checkpoint chosen by validation loss, one test of every test window) are
unaffected: :class:`ReferenceProtocol` only reads the model, draws from its own numpy
generator and batches without a ``DataLoader`` (which would consume torch's global RNG),
so training, checkpointing and early stopping run exactly as without it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import Dataset

from lofi.train.metrics import REGIONS, batch_mean_std, euclidean_errors
from lofi.train.module import predict_windows, window_metrics

#: Test windows drawn per epoch and the evaluation batch size, as in the reference code.
WINDOWS, BATCH_SIZE = 200, 64
#: Third word of the draw's seed, so the test draw is a stream apart from the training draws
#: (:class:`~lofi.data.datamodule.EpochSampler` seeds ``[seed, epoch]``).
STREAM = 0x7E57


def draw_windows(n: int, seed: int, epoch: int, windows: int = WINDOWS) -> np.ndarray:
    """Indices of the ``windows`` test windows drawn at ``epoch`` out of ``n`` (reproducible).

    Without replacement, or with replacement when the test set has fewer than ``windows``.
    """
    if n < 1:
        raise ValueError("the paper protocol needs at least one test window")
    rng = np.random.default_rng([int(seed), int(epoch), STREAM])
    return rng.choice(n, windows, replace=windows > n).astype(np.int64)


def reference_scores(batches: list[dict[str, np.ndarray]], batch_size: int = BATCH_SIZE) -> dict[str, float]:
    """One epoch's reference numbers from its batches' ``collect`` dicts.

    ``err_mean`` and ``err_true_mean`` (m) over all drawn windows, ``err_std`` the mean of the
    batches' std (m), ``acc2/4/6`` (0..1) over all drawn windows.
    """
    joined = {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}
    honest = window_metrics(joined)
    errors = euclidean_errors(joined["xy_pred"], joined["xy"])
    scores = {"err_mean": honest["err_mean"], "err_std": batch_mean_std(errors, batch_size)}
    scores["err_true_mean"] = honest["err_true_mean"]
    return scores | {f"acc{n}": honest[f"acc{n}"] for n in REGIONS}


def summarize(history: list[dict[str, float]]) -> dict[str, float]:
    """The reported ``paper/*`` numbers: each column's best over the epochs of ``history``.

    ``paper/err_mean`` min (m) and its 0-based ``paper/err_mean_epoch``; ``paper/err_true_mean``
    at that epoch; ``paper/err_std`` min over epochs (the reference's; ``paper/err_std_epoch``)
    and ``paper/err_std_at_err_mean_epoch``; ``paper/acc2/4/6`` max each; ``paper/epochs``
    evaluations. Empty history: no keys.
    """
    if not history:
        return {}
    column = {key: np.array([h[key] for h in history], np.float64) for key in history[0]}
    best, best_std = _argbest(column["err_mean"], min), _argbest(column["err_std"], min)
    summary = {
        "paper/err_mean": float(column["err_mean"][best]),
        "paper/err_mean_epoch": best,
        "paper/err_true_mean": float(column["err_true_mean"][best]),
        "paper/err_std": float(column["err_std"][best_std]),
        "paper/err_std_epoch": best_std,
        "paper/err_std_at_err_mean_epoch": float(column["err_std"][best]),
    }
    summary |= {f"paper/acc{n}": float(column[f"acc{n}"][_argbest(column[f"acc{n}"], max)]) for n in REGIONS}
    return summary | {"paper/epochs": len(history)}


def _argbest(values: np.ndarray, best: Callable) -> int:
    """Index of the min (``best=min``) or max (``best=max``) finite value; the first on ties, 0 if none."""
    finite = [k for k, v in enumerate(values) if np.isfinite(v)]
    return best(finite, key=lambda k: values[k]) if finite else 0


class ReferenceProtocol(pl.Callback):
    """After each validation epoch, score :data:`WINDOWS` freshly drawn test windows (the reference's way).

    The windows come from ``trainer.datamodule.datasets["test"]`` (the fixed test set); the draw
    of epoch ``e`` is seeded by ``[seed, e]``. Nothing is logged during training and no metric
    reaches checkpointing or early stopping; :meth:`summary` gives the ``paper/*`` numbers.
    """

    def __init__(self, seed: int, windows: int = WINDOWS, batch_size: int = BATCH_SIZE) -> None:
        self.seed, self.windows, self.batch_size = int(seed), int(windows), int(batch_size)
        #: Per evaluation (epoch): err_mean, err_std (batch-mean), err_true_mean (m), acc2/4/6.
        self.history: list[dict[str, float]] = []

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        with trainer.precision_plugin.forward_context():
            self.evaluate(pl_module, trainer.datamodule.datasets["test"], trainer.current_epoch)

    def evaluate(self, model: torch.nn.Module, dataset: Dataset, epoch: int) -> dict[str, float]:
        """Score ``model`` on epoch ``epoch``'s draw of ``dataset`` (eval mode, then its mode back)."""
        indices = draw_windows(len(dataset), self.seed, epoch, self.windows)
        device = next(model.parameters(), torch.empty(0)).device
        training = model.training
        model.eval()
        try:
            batches = predict_windows(model, dataset, indices, self.batch_size, device)
        finally:
            model.train(training)
        scores = reference_scores(batches, self.batch_size)
        self.history.append(scores)
        return scores

    def summary(self) -> dict[str, float]:
        """The ``paper/*`` metrics over the epochs evaluated so far (see :func:`summarize`)."""
        return summarize(self.history)
