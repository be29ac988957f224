"""CSI-BERT: masked-frame recovery, the mask token, and loading a pre-trained encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lofi.csi.fill import fill_rows
from lofi.models import CSIBert, build_model, load_encoder, masked_recovery_loss, random_frame_mask

SMALL = {"hidden": 32, "layers": 2, "heads": 4, "intermediate": 64, "dropout": 0.0}


def test_recover_returns_frames_of_the_input_shape():
    model = build_model("csibert", **SMALL)
    x = torch.randn(3, 100, 52)
    mask = random_frame_mask(3, 100, generator=torch.Generator().manual_seed(1))
    assert model.recover(x, mask).shape == x.shape
    assert model.recover(x, None).shape == x.shape


@pytest.mark.parametrize("mask_input", ["linear", "token"])
def test_masked_frames_are_never_read(mask_input):
    model = build_model("csibert", **SMALL, mask_input=mask_input).eval()
    x = torch.randn(2, 30, 52)
    mask = torch.zeros(2, 30, dtype=torch.bool)
    mask[:, 10:14] = True
    lost = x.clone()
    lost[mask] = float("nan")  # lost packets
    with torch.no_grad():
        assert torch.equal(model.recover(lost, mask), model.recover(x, mask))
        filled = model.fill(lost, mask)
        assert torch.isfinite(filled).all() and torch.equal(filled[~mask], x[~mask])
        assert torch.isfinite(model(lost, mask)["xy"]).all()


def test_the_mask_ratio_is_drawn_per_window():
    mask = random_frame_mask(500, 100, generator=torch.Generator().manual_seed(0))
    share = mask.float().mean(dim=1)
    assert share.min() >= 0.1 and share.max() <= 0.7
    assert 0.35 < share.mean() < 0.45


@pytest.mark.parametrize("mask_input", ["linear", "token"])
def test_a_few_steps_of_pretraining_lower_the_recovery_loss(mask_input):
    model = build_model("csibert", **SMALL, mask_input=mask_input)
    x = torch.sin(torch.linspace(0, 6, 40))[None, :, None] * torch.linspace(0.5, 1.5, 52)
    x = x.expand(4, 40, 52)
    mask = random_frame_mask(4, 40, generator=torch.Generator().manual_seed(2))
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        optimiser.zero_grad()
        loss = masked_recovery_loss(model.recover(x, mask), x, mask)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_a_pretrained_encoder_loads_into_a_fresh_model():
    pretrained = CSIBert(**SMALL)
    model = CSIBert(**SMALL)
    assert load_encoder(model, pretrained.state_dict()) == ["encoder", "recovery"]
    for key, value in pretrained.encoder.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[key], value)
    assert not torch.equal(model.head.xy.weight, pretrained.head.xy.weight)  # the head stays fresh
    lightning = {"state_dict": {f"model.encoder.{k}": v for k, v in pretrained.encoder.state_dict().items()}}
    assert load_encoder(model, lightning) == ["encoder"]


def test_another_models_checkpoint_is_refused_naming_keys():
    model = CSIBert(**SMALL)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    named = r"no CSI-BERT encoder.*missing keys \[.*mask_token.*unexpected keys \[head\.logits"
    with pytest.raises(ValueError, match=named):
        load_encoder(model, build_model("gru").state_dict())
    with pytest.raises(ValueError, match=r"unexpected keys \[transformer\.layers\.2\."):
        load_encoder(model, CSIBert(**{**SMALL, "layers": 3}).state_dict())
    with pytest.raises(ValueError, match=r"mis-shaped \[.*mask_token \(16,\) != \(32,\)"):
        load_encoder(model, CSIBert(**{**SMALL, "hidden": 16}).state_dict())
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())
    with pytest.raises(TypeError, match="CSIBert"):
        load_encoder(build_model("gru"), model.state_dict())


def test_hidden_frames_are_interpolated_exactly_as_the_linear_fill():
    from lofi.models.csibert import interpolate_hidden

    generator = torch.Generator().manual_seed(3)
    x = torch.randn(5, 40, 6, generator=generator)
    mask = random_frame_mask(5, 40, (0.2, 0.9), generator)
    mask[0, :3] = mask[0, -4:] = True  # hidden at both ends: the nearest visible frame
    got = interpolate_hidden(torch.where(mask[..., None], torch.nan, x), mask)
    t = np.arange(40.0)
    for b in range(5):
        seen = ~mask[b].numpy()
        expected = fill_rows(t, x[b].numpy(), seen, ~seen, "linear")
        np.testing.assert_allclose(got[b].numpy(), expected, rtol=1e-5, atol=1e-6)
    nothing_seen = interpolate_hidden(x[:1], torch.ones(1, 40, dtype=torch.bool))
    assert torch.equal(nothing_seen, torch.zeros_like(nothing_seen))


def test_the_linear_variant_recovers_interpolation_plus_a_correction():
    model = build_model("csibert", **SMALL).eval()
    torch.nn.init.zeros_(model.recovery.net[-1].weight)
    torch.nn.init.zeros_(model.recovery.net[-1].bias)
    x = torch.randn(2, 30, 52)
    mask = torch.zeros(2, 30, dtype=torch.bool)
    mask[:, 5:9] = True
    with torch.no_grad():  # a zero correction leaves exactly the interpolation
        torch.testing.assert_close(model.recover(x, mask), model.encoder.visible_input(x, mask))
    with pytest.raises(ValueError, match="mask_input"):
        build_model("csibert", **SMALL, mask_input="zeros")


def _sine_windows(n: int, generator: torch.Generator) -> torch.Tensor:
    """Windows of 40 frames x 8 subcarriers: sinusoids of 12-28 frame periods (a person's sway), noise."""
    t = torch.arange(40.0)
    period = 12 + 16 * torch.rand(n, 1, 1, generator=generator)
    phase = 6.28 * torch.rand(n, 1, 8, generator=generator)
    return torch.sin(6.28 * t[None, :, None] / period + phase) + 0.05 * torch.randn(
        n, 40, 8, generator=generator
    )


def _bursts(n: int, generator: torch.Generator, burst: int = 8) -> torch.Tensor:
    start = torch.randint(4, 40 - burst - 4, (n, 1), generator=generator)
    steps = torch.arange(40)[None, :]
    return (steps >= start) & (steps < start + burst)


def test_recovery_beats_linear_fill_where_a_line_misses_the_curve():
    """Bursts of 8 lost frames in a smooth periodic signal: a line cuts the curve, CSI-BERT learns it."""
    from lofi.models.csibert import interpolate_hidden

    torch.manual_seed(0)
    model = build_model("csibert", n_subcarriers=8, **SMALL, max_len=40)
    test_x, test_mask = (
        _sine_windows(256, torch.Generator().manual_seed(2)),
        _bursts(256, torch.Generator().manual_seed(3)),
    )
    linear = (interpolate_hidden(test_x, test_mask)[test_mask] - test_x[test_mask]).abs().mean().item()
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(1)
    for _ in range(300):
        x = _sine_windows(64, generator)
        mask = _bursts(64, generator) | random_frame_mask(64, 40, (0.0, 0.2), generator)
        loss = masked_recovery_loss(model.recover(x, mask), x, mask)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        learned = (model.recover(test_x, test_mask)[test_mask] - test_x[test_mask]).abs().mean().item()
    assert learned < 0.6 * linear, (learned, linear)  # measured: 0.15 vs 0.44 (seeded, CPU)
