"""CSI-BERT (Zhao et al., arXiv:2403.12400, ref. [22] of the LoFi paper) on torch's own Transformer.

A BERT-style encoder over the frames of a CSI window, pre-trained by masked-frame
recovery and fine-tuned for localisation. What is built here, and where it comes from:

* **Continuous frame embedding.** A frame (S = 52 amplitudes x channels) is not a word:
  an MLP (S -> hidden -> hidden) embeds it, as CSI-BERT's embedding layer does instead of
  a vocabulary.
* **Attention across subcarriers** (:class:`SubcarrierAttention`). Before the frame
  embedding, each frame's subcarriers are re-weighted by softmax scores computed from
  that frame (scores = W2 tanh(W1 x_t), softmax over the S subcarriers, times S so the
  mean weight is 1; zero-initialised, so it starts as the identity). CSI-BERT's
  "carrier attention" and CSI-BERT2's adaptive re-weighting layer score subcarriers
  from their whole time series through a layer of fixed length T; scoring per frame
  keeps the idea (the model learns which subcarriers carry the person) while working
  for any T and for masked or lost frames.
* **Learned time (position) embedding.** One learned vector per frame index (10 ms
  apart at 100 Hz; the windows of :mod:`lofi.data` lie on that completed grid), added
  to the frame embeddings, then LayerNorm and dropout — BERT's embedding sum.
* **Mask token.** Frames to recover (pre-training masks, or lost packets when
  filling) are marked by one learned vector, BERT's ``[MASK]``; their input values are
  never read, so NaN rows are fine. ``mask_input`` says what the hidden frames look like
  to the encoder:

  - ``"token"`` (CSI-BERT's): the frame embedding is replaced by the mask token;
  - ``"linear"`` (the default): the frame is first filled by linear interpolation between
    the nearest visible frames of the window, embedded like any frame, and the mask token
    is *added*; the recovery head then predicts a correction to that interpolation
    (as imputation transformers such as SAITS do). On CPU budgets the ``token`` variant
    stayed at the window mean (standardised MSE ~1.02 after 375 steps, where linear
    interpolation alone scores 0.47), because attention must first learn to find the
    neighbouring frames; starting from the interpolation it learns what to add to it.
* **Encoder.** ``torch.nn.TransformerEncoder`` of post-norm GELU layers (BERT's
  layout): 6 layers, hidden 128, 8 heads, intermediate 512 (the LoFi paper's sizes).
* **Heads.** Attention pooling over time + the multi-task head for localisation;
  a recovery head (Linear-GELU-LayerNorm-Linear, BERT's MLM transform) maps every
  frame's hidden state back to the S input values for pre-training and CSI completion.

Size: the encoder's 6 transformer layers hold 1 189 632 parameters and the whole
model ~1.27 M. The paper's "2M" cannot come from this configuration; the reference
builds CSI-BERT on Hugging Face's ``BertModel``, whose unused 30 522-token word
embedding table adds 30 522 x hidden parameters (1.95 M at the hidden size 64 of the
reference's pre-training script), the likeliest source of that figure.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from lofi.models.heads import AttentionPool, LocalizationModel, MultiTaskHead

#: Share of a window's frames masked in pre-training (CSI-BERT: 10 % to 70 %, drawn per window).
MASK_RATIO = (0.1, 0.7)
#: How hidden frames enter the encoder (see the module docstring).
MASK_INPUTS = ("linear", "token")


def standardize_visible(
    x: torch.Tensor, seen: torch.Tensor, tiny: float = 1e-12
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Standardise each window's subcarriers by the mean and std of its ``seen`` frames only.

    x (B, T, S), seen (B, T) bool -> (z, shift, scale, count): z = (x - shift) / scale with
    unseen frames set to 0, shift and scale (B, 1, S), count (B,) the seen frames per window.
    Unseen values are never read (they may be NaN); a constant subcarrier gets scale 1.
    """
    weight = seen.to(x.dtype)[..., None]
    clean = torch.where(seen[..., None], x, torch.zeros((), dtype=x.dtype, device=x.device))
    count = weight.sum(dim=1, keepdim=True)
    shift = clean.sum(dim=1, keepdim=True) / count.clamp(min=1)
    var = (((clean - shift) * weight) ** 2).sum(dim=1, keepdim=True) / count.clamp(min=1)
    scale = torch.where(var > tiny, var.sqrt(), torch.ones_like(var))
    z = torch.where(seen[..., None], (clean - shift) / scale, torch.zeros((), dtype=x.dtype, device=x.device))
    return z, shift, scale, count[:, 0, 0]


def interpolate_hidden(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x (B, T, S) with the frames under ``mask`` (B, T) replaced by linear interpolation in time
    between the nearest visible frames (the nearest one at the window's ends; zeros if none).

    Only visible values are read: hidden ones may be NaN.
    """
    batch, length, _ = x.shape
    steps = torch.arange(length, device=x.device).expand(batch, length)
    visible = ~mask
    before = torch.where(visible, steps, torch.full_like(steps, -1)).cummax(dim=1).values
    after = torch.where(visible, steps, torch.full_like(steps, length)).flip(1).cummin(dim=1).values.flip(1)
    has_before, has_after = before >= 0, after < length
    before_i = torch.where(has_before, before, torch.where(has_after, after, 0))
    after_i = torch.where(has_after, after, before_i)
    span = (after_i - before_i).clamp(min=1).to(x.dtype)
    weight = torch.where(after_i > before_i, (steps - before_i).to(x.dtype) / span, torch.zeros_like(span))
    clean = torch.where(visible[..., None], x, torch.zeros((), dtype=x.dtype, device=x.device))
    left = clean.gather(1, before_i[..., None].expand_as(x))
    right = clean.gather(1, after_i[..., None].expand_as(x))
    filled = left + weight[..., None] * (right - left)
    filled = torch.where((has_before | has_after)[..., None], filled, torch.zeros_like(filled))
    return torch.where(visible[..., None], clean, filled)


class SubcarrierAttention(nn.Module):
    """Per-frame softmax re-weighting of the subcarriers: (B, T, S) -> (B, T, S).

    ``w_t = S * softmax(W2 tanh(W1 x_t))`` over the S features of frame t, output
    ``x_t * w_t``. W2 starts at zero, so every weight starts at exactly 1.
    """

    def __init__(self, n_features: int, attn_dim: int = 64) -> None:
        super().__init__()
        self.score = nn.Sequential(
            nn.Linear(n_features, attn_dim), nn.Tanh(), nn.Linear(attn_dim, n_features)
        )
        nn.init.zeros_(self.score[2].weight)
        nn.init.zeros_(self.score[2].bias)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """Weights (B, T, S) of the subcarriers of each frame; each frame's mean weight is 1."""
        return x.shape[-1] * torch.softmax(self.score(x), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, S) -> re-weighted x (B, T, S)."""
        return x * self.weights(x)


class CSIBertEncoder(nn.Module):
    """Frames (B, T, S) [+ mask (B, T) bool] -> hidden states (B, T, hidden).

    Args:
        n_features: S, values per frame (52 x channels).
        hidden, layers, heads, intermediate: the transformer (BERT sizes).
        max_len: longest window, in frames, the time embedding covers.
        dropout: dropout of the embedding sum and inside the transformer layers.
        subcarrier_attn_dim: width of :class:`SubcarrierAttention`'s scorer.
        mask_input: ``"linear"`` or ``"token"`` (see the module docstring).
    """

    def __init__(
        self,
        n_features: int = 52,
        hidden: int = 128,
        layers: int = 6,
        heads: int = 8,
        intermediate: int = 512,
        max_len: int = 100,
        dropout: float = 0.1,
        subcarrier_attn_dim: int = 64,
        mask_input: str = "linear",
    ) -> None:
        super().__init__()
        if mask_input not in MASK_INPUTS:
            raise ValueError(f"mask_input must be one of {', '.join(MASK_INPUTS)}, got {mask_input!r}")
        self.n_features = n_features
        self.max_len = max_len
        self.mask_input = mask_input
        self.subcarrier_attention = SubcarrierAttention(n_features, subcarrier_attn_dim)
        self.frame_embedding = nn.Sequential(
            nn.Linear(n_features, hidden), nn.GELU(), nn.Linear(hidden, hidden)
        )
        self.mask_token = nn.Parameter(torch.empty(hidden).normal_(0.0, 0.02))
        self.time_embedding = nn.Embedding(max_len, hidden)
        nn.init.normal_(self.time_embedding.weight, 0.0, 0.02)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            hidden, heads, intermediate, dropout, activation="gelu", batch_first=True, norm_first=False
        )
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, S) frames, mask (B, T) True = replace by the mask token -> (B, T, hidden)."""
        _, length, width = x.shape
        if width != self.n_features:
            raise ValueError(f"CSI-BERT expects {self.n_features} values per frame, got {width}")
        if length > self.max_len:
            raise ValueError(f"window of {length} frames is longer than max_len={self.max_len}")
        return self.encode(self.visible_input(x, mask), mask)

    def visible_input(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """What the encoder reads of x (B, T, S): hidden frames zeroed (``token``) or linearly
        interpolated from the visible ones (``linear``); the hidden values are never read."""
        if mask is None:
            return x
        mask = mask.to(device=x.device, dtype=torch.bool)
        if self.mask_input == "linear":
            return interpolate_hidden(x, mask)
        return torch.where(mask[..., None], torch.zeros((), dtype=x.dtype, device=x.device), x)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Hidden states of frames ``x`` (B, T, S) already made visible (:meth:`visible_input`)."""
        e = self.frame_embedding(self.subcarrier_attention(x))
        if mask is not None:
            mask = mask.to(device=x.device, dtype=torch.bool)[..., None]
            token = self.mask_token.to(e.dtype)
            e = e + mask * token if self.mask_input == "linear" else torch.where(mask, token, e)
        e = e + self.time_embedding(torch.arange(x.shape[1], device=x.device))
        return self.transformer(self.dropout(self.norm(e)))


class RecoveryHead(nn.Module):
    """Hidden states (B, T, hidden) -> frames (B, T, S): BERT's MLM transform, then a linear map."""

    def __init__(self, hidden: int, n_features: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden), nn.Linear(hidden, n_features)
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h (B, T, hidden) -> reconstructed frames (B, T, S), in the units of the encoder's input."""
        return self.net(h)


class CSIBert(LocalizationModel):
    """CSI-BERT for localisation: encoder, attention pooling, multi-task head, recovery head.

    ``forward(x, mask=None)`` -> output dict; ``recover(x, mask)`` -> (B, T, S) frames,
    the pre-training task; ``fill(x, mask)`` -> x with the masked frames recovered.
    Options as :class:`CSIBertEncoder`, plus ``attn_dim`` / ``attn_heads`` of the
    pooling and ``head_hidden`` of the head.
    """

    input_view = "series"

    def __init__(
        self,
        n_features: int = 52,
        hidden: int = 128,
        layers: int = 6,
        heads: int = 8,
        intermediate: int = 512,
        max_len: int = 100,
        dropout: float = 0.1,
        subcarrier_attn_dim: int = 64,
        attn_dim: int = 64,
        attn_heads: int = 1,
        head_hidden: tuple[int, ...] | list[int] = (),
        mask_input: str = "linear",
    ) -> None:
        super().__init__()
        self.encoder = CSIBertEncoder(
            n_features, hidden, layers, heads, intermediate, max_len, dropout, subcarrier_attn_dim, mask_input
        )
        self.pool = AttentionPool(hidden, attn_dim, attn_heads)
        self.head = MultiTaskHead(self.pool.out_features, head_hidden)
        self.recovery = RecoveryHead(hidden, n_features)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """x (B, T, S) series [mask (B, T): frames to hide, e.g. lost ones] -> output dict."""
        return self.head(self.pool(self.encoder(x, mask)))

    def recover(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Reconstruct every frame (B, T, S) of x (B, T, S), the frames under ``mask`` (B, T) unseen.

        With ``mask_input="linear"`` the output is the interpolated input plus the recovery
        head's correction; with ``"token"`` the head's output itself.
        """
        visible = self.encoder.visible_input(x, mask)
        correction = self.recovery(self.encoder.encode(visible, mask))
        return visible + correction if self.encoder.mask_input == "linear" else correction

    def fill(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, T, S) with the frames under ``mask`` (B, T) replaced by their recovery."""
        mask = mask.to(device=x.device, dtype=torch.bool)
        return torch.where(mask[..., None], self.recover(x, mask).to(x.dtype), x)


def random_frame_mask(
    batch: int,
    length: int,
    ratio: tuple[float, float] = MASK_RATIO,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Pre-training mask (batch, length) bool: per window, a share drawn uniformly in ``ratio``
    of its frames, chosen at random (at least one frame)."""
    low, high = ratio
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"mask ratio must satisfy 0 <= low <= high <= 1, got {ratio}")
    share = low + (high - low) * torch.rand(batch, 1, generator=generator)
    count = (share * length).round().clamp(min=1).long()
    rank = torch.rand(batch, length, generator=generator).argsort(dim=1).argsort(dim=1)
    return (rank < count).to(device)


def masked_recovery_loss(recovered: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error (input units²) of ``recovered`` against ``target`` (B, T, S) over the
    masked frames ``mask`` (B, T) only; target values outside the mask are never read."""
    mask = mask.to(device=target.device, dtype=torch.bool)
    if not mask.any():
        raise ValueError("the mask selects no frame")
    return ((recovered[mask] - target[mask]) ** 2).mean()


def load_encoder(
    model: CSIBert | CSIBertEncoder,
    state_dict: Mapping[str, torch.Tensor],
    *,
    prefix: str | None = None,
    recovery: bool = True,
) -> list[str]:
    """Load a pre-trained CSI-BERT encoder (and its recovery head) into ``model``.

    ``state_dict`` may be a whole :class:`CSIBert`'s, an encoder's own, one nested under
    a prefix (``"model.encoder."`` of a LightningModule) or a Lightning checkpoint dict
    with a ``"state_dict"`` entry. The encoder's keys are found by the prefix of its
    ``mask_token`` (or the ``prefix`` given). Anything else — another model's state
    dict, an encoder of another size — is refused with a :class:`ValueError` naming the
    missing, unexpected and mis-shaped keys; nothing is loaded then.

    Returns the parts loaded: ``["encoder"]`` or ``["encoder", "recovery"]`` (the
    recovery head, when ``recovery`` and ``model`` is a :class:`CSIBert` and the
    checkpoint has one beside the encoder).
    """
    if isinstance(model, CSIBert):
        encoder = model.encoder
    elif isinstance(model, CSIBertEncoder):
        encoder = model
    else:
        raise TypeError(f"load_encoder needs a CSIBert or CSIBertEncoder, got {type(model).__name__}")
    inner = state_dict.get("state_dict")
    if isinstance(inner, Mapping):
        state_dict = inner
    if prefix is None:
        found = sorted({k[: -len("mask_token")] for k in state_dict if k.split(".")[-1] == "mask_token"})
        if len(found) > 1:
            raise ValueError(f"checkpoint holds several CSI-BERT encoders {found}; pass prefix=")
        prefix = found[0] if found else ""
        what = "" if found else "holds no CSI-BERT encoder (no 'mask_token' key) and "
    else:
        what = ""
    parts = {"encoder": (encoder, prefix)}
    if recovery and isinstance(model, CSIBert):
        sibling = prefix[: -len("encoder.")] if prefix.endswith("encoder.") else None
        if sibling is not None and any(k.startswith(f"{sibling}recovery.") for k in state_dict):
            parts["recovery"] = (model.recovery, f"{sibling}recovery.")
    loaded: dict[str, dict[str, torch.Tensor]] = {}
    for name, (module, at) in parts.items():
        own = module.state_dict()
        given = {k[len(at) :]: v for k, v in state_dict.items() if k.startswith(at)}
        missing = sorted(set(own) - set(given))
        unexpected = sorted(set(given) - set(own))
        shapes = sorted(
            f"{k} {tuple(given[k].shape)} != {tuple(own[k].shape)}"
            for k in set(own) & set(given)
            if tuple(given[k].shape) != tuple(own[k].shape)
        )
        if missing or unexpected or shapes:
            raise ValueError(
                f"checkpoint {what}is not a CSI-BERT {name} of this size (keys read under prefix {at!r}): "
                f"missing keys {_names(missing)}; unexpected keys {_names(unexpected)}; "
                f"mis-shaped {_names(shapes)}"
            )
        loaded[name] = given
    for name, given in loaded.items():
        parts[name][0].load_state_dict(given)
    return list(loaded)


def _names(keys: list[str], shown: int = 8) -> str:
    """The first ``shown`` of ``keys`` and how many there are, for an error message."""
    if not keys:
        return "none"
    more = f" ... ({len(keys)} in all)" if len(keys) > shown else ""
    return "[" + ", ".join(keys[:shown]) + "]" + more
