"""multitask_loss on hand-made numbers."""

from __future__ import annotations

import math

import pytest
import torch

from lofi.models import multitask_loss

OUTPUTS = {
    "xy": torch.tensor([[1.0, 2.0], [0.0, -1.0]]),
    "logits2": torch.tensor([[0.0, 0.0], [0.0, 0.0]]),
    "logits4": torch.tensor([[math.log(2.0), 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]),
    "logits6": torch.zeros(2, 6),
}
BATCH = {
    "xy": torch.tensor([[0.0, 0.0], [0.0, 1.0]]),  # squared errors 1 + 4 and 0 + 4: mean 4.5
    "region2": torch.tensor([1, 0]),  # CE ln 2 each
    "region4": torch.tensor([0, 3]),  # CE ln(5/2) and ln 4
    "region6": torch.tensor([2, 5]),  # CE ln 6 each
}
MSE = 4.5
CE2, CE4, CE6 = math.log(2), (math.log(2.5) + math.log(4)) / 2, math.log(6)


def test_multitask_adds_the_mse_and_the_weighted_cross_entropies():
    loss, parts = multitask_loss(OUTPUTS, BATCH, weights=(1.0, 0.5, 2.0))
    assert loss.item() == pytest.approx(MSE + CE2 + 0.5 * CE4 + 2.0 * CE6, rel=1e-6)
    assert {k: round(v.item(), 6) for k, v in parts.items()} == {
        "mse": MSE,
        "ce2": round(CE2, 6),
        "ce4": round(CE4, 6),
        "ce6": round(CE6, 6),
        "loss": round(loss.item(), 6),
    }


def test_regression_is_the_mse_alone():
    loss, parts = multitask_loss(OUTPUTS, {"xy": BATCH["xy"]}, task="regression")
    assert loss.item() == pytest.approx(MSE)
    assert set(parts) == {"mse", "loss"}


def test_classify_is_the_cross_entropies_alone():
    batch = {k: v for k, v in BATCH.items() if k != "xy"}
    loss, parts = multitask_loss(OUTPUTS, batch, task="classify")
    assert loss.item() == pytest.approx(CE2 + CE4 + CE6, rel=1e-6)
    assert set(parts) == {"ce2", "ce4", "ce6", "loss"}


def test_the_loss_has_gradients_and_refuses_unknown_tasks():
    xy = OUTPUTS["xy"].clone().requires_grad_()
    loss, _ = multitask_loss({**OUTPUTS, "xy": xy}, BATCH, task="regression")
    loss.backward()
    assert torch.allclose(xy.grad, (xy - BATCH["xy"]).detach())  # d/dxy of mean_b |e_b|² = 2 e / B
    with pytest.raises(ValueError, match="multitask, regression, classify"):
        multitask_loss(OUTPUTS, BATCH, task="ranking")
