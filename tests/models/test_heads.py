"""The coordinate output can be negative: no ReLU (the reference's defect) after it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lofi.models import INPUT_VIEW, MODELS, AttentionPool, MultiTaskHead, build_model
from tests.models.conftest import random_input

TRAINABLE = [m for m in MODELS if m not in ("mean", "knn")]


@pytest.mark.parametrize("name", TRAINABLE)
def test_the_coordinates_come_straight_from_a_linear_layer(name):
    model = build_model(name).eval()
    assert isinstance(model.head.xy, nn.Linear)
    with torch.no_grad():
        model.head.xy.weight.zero_()
        model.head.xy.bias.copy_(torch.tensor([-1.5, -0.25]))
        out = model(random_input(INPUT_VIEW[name], frames=20))
    assert torch.equal(out["xy"], torch.tensor([[-1.5, -0.25]]).expand(4, 2))


@pytest.mark.parametrize("name", ["cnn", "gru"])
def test_a_model_learns_negative_targets(name):
    model = build_model(name)
    x = random_input(INPUT_VIEW[name], frames=20)
    target = torch.tensor([[-1.0, -2.0], [-0.5, -1.0], [-2.0, -0.5], [-1.5, -1.5]])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        optimiser.zero_grad()
        loss = ((model(x)["xy"] - target) ** 2).mean()
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        xy = model(x)["xy"]
    assert (xy < 0).all()
    assert ((xy - target) ** 2).mean() < 0.1


def test_an_mlp_head_ends_in_a_linear_layer_too():
    head = MultiTaskHead(8, hidden=(64, 64))
    assert [type(m) for m in head.trunk] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU]
    out = head(torch.randn(5, 8))
    assert {k: v.shape[1] for k, v in out.items()} == {"xy": 2, "logits2": 2, "logits4": 4, "logits6": 6}


def test_attention_pooling_is_a_weighted_sum_over_time():
    pool = AttentionPool(3, attn_dim=4, heads=2)
    h = torch.randn(2, 7, 3)
    w = pool.weights(h)
    assert torch.allclose(w.sum(dim=1), torch.ones(2, 2))
    expected = torch.stack([(w[:, :, r, None] * h).sum(dim=1) for r in range(2)], dim=1).reshape(2, 6)
    assert torch.allclose(pool(h), expected, atol=1e-6)
    with torch.no_grad():  # equal scores: the plain mean over time
        pool.w2.weight.zero_()
    assert torch.allclose(pool(h)[:, :3], h.mean(dim=1), atol=1e-6)
