"""Parts every benchmark model shares: the multi-task head and self-attention pooling over time.

Every model of :mod:`lofi.models` returns the same dict (:data:`OUTPUT_KEYS`):
``xy`` (B, 2), the person's floor position in metres, and ``logits2`` / ``logits4`` /
``logits6`` (B, K), unnormalised scores of the 2-, 4- and 6-region grids.
"""

from __future__ import annotations

import torch
from torch import nn

from lofi.io.constants import REGION_COUNTS

#: Keys of every model's output dict.
OUTPUT_KEYS = ("xy", "logits2", "logits4", "logits6")


class LocalizationModel(nn.Module):
    """Base of the registry's models: ``forward(x) -> {"xy", "logits2", "logits4", "logits6"}``.

    Attributes:
        trainable: ``True`` for networks trained by gradient steps; ``False`` for baselines
            that are fitted once (``fit(...)``) and never see an optimiser.
        input_view: ``"correlation"`` (B, C, S, S) or ``"series"`` (B, T, S*C).
    """

    trainable: bool = True
    input_view: str = "series"


class MultiTaskHead(nn.Module):
    """Features (B, F) -> ``{"xy": (B, 2) m, "logits2": (B, 2), "logits4": (B, 4), "logits6": (B, 6)}``.

    Each output is its own :class:`torch.nn.Linear` on a shared trunk; the trunk is the
    identity (a linear head, default) or an MLP of ``hidden`` widths with ReLU between.
    The coordinate output ends in the linear layer itself: no ReLU or any other
    non-negativity (the reference code's ReLU clips every coordinate left of or below
    the origin to 0 and kills the gradient there).
    """

    def __init__(self, in_features: int, hidden: tuple[int, ...] | list[int] = ()) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.trunk = nn.Sequential(*layers)
        self.xy = nn.Linear(width, 2)
        self.logits = nn.ModuleDict({f"logits{k}": nn.Linear(width, k) for k in REGION_COUNTS})

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """features (B, F) -> the output dict (see the class docstring)."""
        z = self.trunk(features)
        return {"xy": self.xy(z), **{name: layer(z) for name, layer in self.logits.items()}}


class AttentionPool(nn.Module):
    """Structured self-attention pooling over time (Lin et al. 2017, as in the reference code).

    ``A = softmax_t(W2 tanh(W1 h_t))`` gives ``heads`` learned scores per time step,
    normalised over time; the output is the ``heads`` weighted sums of the steps,
    concatenated: (B, T, H) -> (B, heads * H). ``heads=1`` is one weighted average of the
    steps; the reference used ``attn_dim=128, heads=4``.
    """

    def __init__(self, in_features: int, attn_dim: int = 64, heads: int = 1) -> None:
        super().__init__()
        self.w1 = nn.Linear(in_features, attn_dim, bias=False)
        self.w2 = nn.Linear(attn_dim, heads, bias=False)
        self.out_features = in_features * heads

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """Attention weights (B, T, heads) of the steps of ``h`` (B, T, H); each column sums to 1."""
        return torch.softmax(self.w2(torch.tanh(self.w1(h))), dim=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h (B, T, H) -> pooled (B, heads * H)."""
        pooled = torch.einsum("btr,bth->brh", self.weights(h), h)
        return pooled.reshape(h.shape[0], -1)
