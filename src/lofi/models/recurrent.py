"""Recurrent series models (paper Fig. 3, right): RNN, GRU and LSTM.

Input: (B, T, S*C) float32 — T frames (100 by default) of S = 52 amplitudes per
channel, standardised per subcarrier over time by the data module when asked.
Output: the :class:`~lofi.models.heads.MultiTaskHead` dict.
"""

from __future__ import annotations

import torch
from torch import nn

from lofi.models.heads import AttentionPool, LocalizationModel, MultiTaskHead

#: torch.nn recurrent layer of each registry name.
CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RecurrentModel(LocalizationModel):
    """A stacked recurrent network (4 layers, hidden 64), attention pooling over time, head.

    Args:
        cell: ``"rnn"`` (tanh), ``"gru"`` or ``"lstm"``.
        input_size: features per frame (52 x channels).
        hidden: hidden width of every layer.
        layers: stacked recurrent layers.
        dropout: dropout between recurrent layers (0 as in the reference).
        attn_dim, attn_heads: the :class:`AttentionPool` (the reference: 128 and 4).
        head_hidden: widths of an MLP trunk in the head; empty = linear head.
    """

    input_view = "series"

    def __init__(
        self,
        cell: str,
        input_size: int = 52,
        hidden: int = 64,
        layers: int = 4,
        dropout: float = 0.0,
        attn_dim: int = 64,
        attn_heads: int = 1,
        head_hidden: tuple[int, ...] | list[int] = (),
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown recurrent cell {cell!r}; choose one of {', '.join(CELLS)}")
        self.cell = cell
        self.rnn = CELLS[cell](input_size, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.pool = AttentionPool(hidden, attn_dim, attn_heads)
        self.head = MultiTaskHead(self.pool.out_features, head_hidden)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, T, S*C) amplitude series -> output dict."""
        h, _ = self.rnn(x)
        return self.head(self.pool(h))
