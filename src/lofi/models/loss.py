"""The benchmark's training loss: coordinate MSE plus weighted region cross-entropies."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch.nn import functional

from lofi.io.constants import TASKS
from lofi.models.heads import REGION_COUNTS


def multitask_loss(
    outputs: Mapping[str, torch.Tensor],
    batch: Mapping[str, torch.Tensor],
    task: str = "multitask",
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
    xy_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Loss of a model's ``outputs`` on ``batch`` and its parts (detached).

    * ``mse``: mean over the batch of the squared Euclidean error of ``xy`` (m²), i.e.
      MSE(x) + MSE(y), the reference code's regression loss.
    * ``ce2`` / ``ce4`` / ``ce6``: mean cross-entropy (nats) of ``logitsK`` against
      ``regionK`` (int64 class indices).

    ``task="multitask"``: ``xy_weight * mse + w2 ce2 + w4 ce4 + w6 ce6``;
    ``"regression"``: ``mse`` alone (``batch`` needs only ``xy``);
    ``"classify"``: ``w2 ce2 + w4 ce4 + w6 ce6`` alone (``batch`` needs only the regions).
    A part's inputs are only read when the task uses it; ``parts`` also has ``loss``.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if len(weights) != len(REGION_COUNTS):
        raise ValueError(f"weights must be {len(REGION_COUNTS)} numbers (w2, w4, w6), got {weights}")
    terms: list[torch.Tensor] = []
    parts: dict[str, torch.Tensor] = {}
    if task in ("multitask", "regression"):
        target = batch["xy"].to(outputs["xy"].dtype)
        mse = ((outputs["xy"] - target) ** 2).sum(dim=1).mean()
        parts["mse"] = mse.detach()
        terms.append(mse if task == "regression" else xy_weight * mse)
    if task in ("multitask", "classify"):
        for k, w in zip(REGION_COUNTS, weights, strict=True):
            ce = functional.cross_entropy(outputs[f"logits{k}"], batch[f"region{k}"].long())
            parts[f"ce{k}"] = ce.detach()
            terms.append(w * ce)
    loss = torch.stack(terms).sum()
    parts["loss"] = loss.detach()
    return loss, parts
