"""Trivial baselines beside the networks: the training mean and a k-NN fingerprint.

Both are fitted once on the training windows, never trained by gradient steps
(``trainable = False``), and answer with the same output dict as the networks.

Interface: ``fit(features, xy, regions) -> self`` with ``features`` the training inputs
(the :data:`~lofi.models.registry.INPUT_VIEW` of the model; ignored by ``mean``),
``xy`` (N, 2) in metres and ``regions`` ``{"region2": (N,), "region4": (N,),
"region6": (N,)}`` of int region indices (keys ``2``, ``4``, ``6`` work too);
then ``forward(x)`` as every model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from lofi.models.heads import REGION_COUNTS, LocalizationModel

ArrayLike = np.ndarray | torch.Tensor
#: Floor of a region probability before its log is taken (a logit of log 1e-6 ≈ -13.8, not -inf).
MIN_PROBABILITY = 1e-6


def _tensor(values: ArrayLike, dtype: torch.dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values) if not isinstance(values, torch.Tensor) else values).to(dtype)


def _regions(regions: Mapping, n: int) -> dict[int, torch.Tensor]:
    """Region labels (N,) int64 per grid size, from keys ``"region{K}"`` or ``K``."""
    out = {}
    for k in REGION_COUNTS:
        labels = regions.get(f"region{k}", regions.get(k))
        if labels is None:
            raise KeyError(f"regions need 'region{k}' (labels of the {k}-region grid)")
        labels = _tensor(labels, torch.int64).reshape(-1)
        if len(labels) != n:
            raise ValueError(f"region{k} has {len(labels)} labels for {n} windows")
        if len(labels) and (labels.min() < 0 or labels.max() >= k):
            raise ValueError(f"region{k} labels must lie in 0..{k - 1}")
        out[k] = labels
    return out


def _log_probabilities(p: torch.Tensor) -> torch.Tensor:
    return torch.log(p.clamp(min=MIN_PROBABILITY))


class MeanBaseline(LocalizationModel):
    """Predicts the training mean position for every window; region logits are the log
    training frequencies of the regions (so its class is the training majority)."""

    trainable = False
    input_view = "series"

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("xy_mean", torch.full((2,), float("nan")))
        for k in REGION_COUNTS:
            self.register_buffer(f"log_prior{k}", torch.zeros(k))

    def fit(self, features: ArrayLike | None, xy: ArrayLike, regions: Mapping) -> MeanBaseline:
        """Fit on the training windows: ``features`` unused, ``xy`` (N, 2) m, ``regions`` (N,) each."""
        xy = _tensor(xy, torch.float64).reshape(-1, 2)
        if len(xy) == 0:
            raise ValueError("cannot fit the mean baseline on no windows")
        self.xy_mean = xy.mean(dim=0).to(torch.float32)
        for k, labels in _regions(regions, len(xy)).items():
            freq = torch.bincount(labels, minlength=k).double() / len(labels)
            setattr(self, f"log_prior{k}", _log_probabilities(freq).float())
        return self

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, ...) any input -> the same prediction for each of the B windows."""
        if torch.isnan(self.xy_mean).any():
            raise RuntimeError("MeanBaseline.fit(...) must run before forward")
        batch = x.shape[0]
        out = {"xy": self.xy_mean.to(x.device).expand(batch, 2).clone()}
        for k in REGION_COUNTS:
            out[f"logits{k}"] = getattr(self, f"log_prior{k}").to(x.device).expand(batch, k).clone()
        return out


def window_features(x: ArrayLike) -> torch.Tensor:
    """Fingerprint of windows (N, T, S): per-subcarrier mean and std over time -> (N, 2S).

    Input already 2-D (N, F) is taken as features and returned as float32. The
    amplitudes must not be standardised per window (that sets every mean to 0 and
    every std to 1).
    """
    x = _tensor(x, torch.float32)
    if x.ndim == 2:
        return x
    if x.ndim != 3:
        raise ValueError(f"windows must be (N, T, S) or features (N, F), got shape {tuple(x.shape)}")
    return torch.cat([x.mean(dim=1), x.std(dim=1, unbiased=False)], dim=1)


class KNNBaseline(LocalizationModel):
    """k-nearest-neighbour fingerprinting on :func:`window_features` (Euclidean distance).

    The position is the inverse-distance-weighted mean of the k nearest training
    windows' positions (a query at distance 0 of some training windows takes their
    mean exactly); region logits are the log of the weighted vote shares. With
    ``standardize`` (default) each feature is scaled by the training mean and std
    first, so loud subcarriers do not dominate the distance.

    Input (B, T, S) amplitude windows, not standardised per window; output dict.
    Distances are computed in float64, at most ``max_distances`` at a time (memory).
    """

    trainable = False
    input_view = "series"

    def __init__(self, k: int = 5, standardize: bool = True, max_distances: int = 2**24) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.k = k
        self.standardize = standardize
        self.max_distances = max_distances
        self.register_buffer("train_features", torch.empty(0, 0))
        self.register_buffer("train_xy", torch.empty(0, 2))
        self.register_buffer("feature_mean", torch.empty(0))
        self.register_buffer("feature_scale", torch.empty(0))
        for n in REGION_COUNTS:
            self.register_buffer(f"train_region{n}", torch.empty(0, dtype=torch.int64))

    def fit(self, features: ArrayLike, xy: ArrayLike, regions: Mapping) -> KNNBaseline:
        """Store the training windows (N, T, S) or their features (N, F), ``xy`` (N, 2) m and regions."""
        f = window_features(features)
        xy = _tensor(xy, torch.float32).reshape(-1, 2)
        if len(f) != len(xy) or len(f) == 0:
            raise ValueError(f"need as many positions as windows (and some): {len(f)} windows, {len(xy)} xy")
        self.feature_mean = f.mean(dim=0) if self.standardize else torch.zeros(f.shape[1])
        scale = f.std(dim=0, unbiased=False) if self.standardize else torch.ones(f.shape[1])
        self.feature_scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        self.train_features = (f - self.feature_mean) / self.feature_scale
        self.train_xy = xy
        for n, labels in _regions(regions, len(f)).items():
            setattr(self, f"train_region{n}", labels)
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Resize the (fitted-size) buffers to the checkpoint's before loading it."""
        for name, buf in self._buffers.items():
            given = state_dict.get(prefix + name)
            if buf is not None and given is not None and given.shape != buf.shape:
                self._buffers[name] = torch.empty(given.shape, dtype=buf.dtype, device=buf.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def neighbours(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices (B, k') and distances (B, k') of the k' = min(k, N) nearest training windows."""
        if self.train_features.numel() == 0:
            raise RuntimeError("KNNBaseline.fit(...) must run before forward")
        q = (window_features(x).to(self.train_features.device) - self.feature_mean) / self.feature_scale
        k = min(self.k, len(self.train_features))
        train = self.train_features.double()
        rows = max(1, self.max_distances // len(train))
        dist, idx = [], []
        for start in range(0, len(q), rows):
            # The direct (not matrix-product) form gives exactly 0 for a query equal to a training window.
            d = torch.cdist(
                q[start : start + rows].double(), train, compute_mode="donot_use_mm_for_euclid_dist"
            )
            top = d.topk(k, dim=1, largest=False)
            dist.append(top.values)
            idx.append(top.indices)
        return torch.cat(idx), torch.cat(dist)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, T, S) windows (or (B, F) features) -> output dict, on x's device."""
        idx, dist = self.neighbours(x)
        exact = dist <= 1e-12
        weights = torch.where(exact.any(dim=1, keepdim=True), exact.double(), 1.0 / dist.clamp(min=1e-12))
        weights = weights / weights.sum(dim=1, keepdim=True)
        out = {"xy": (weights[..., None] * self.train_xy[idx].double()).sum(dim=1).float().to(x.device)}
        for n in REGION_COUNTS:
            labels = getattr(self, f"train_region{n}")[idx]
            votes = torch.zeros(len(idx), n, dtype=torch.float64, device=idx.device)
            votes.scatter_add_(1, labels, weights)
            out[f"logits{n}"] = _log_probabilities(votes).float().to(x.device)
        return out
