"""One registry of the benchmark's models: the builder of each model of :mod:`lofi.models.catalog`."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from lofi.io.constants import N_SUBCARRIERS
from lofi.models.baselines import KNNBaseline, MeanBaseline
from lofi.models.catalog import INPUT_VIEW, MODELS, PAPER_SIZES  # noqa: F401  (re-exported)
from lofi.models.conv import CNN, ResNet18
from lofi.models.csibert import CSIBert
from lofi.models.recurrent import RecurrentModel


def _builders() -> dict[str, Callable[..., nn.Module]]:
    """name -> builder(in_channels, n_subcarriers, **options)."""
    return {
        "cnn": lambda c, s, **o: CNN(in_channels=c, **o),
        "resnet18": lambda c, s, **o: ResNet18(in_channels=c, **o),
        "rnn": lambda c, s, **o: RecurrentModel("rnn", input_size=c * s, **o),
        "gru": lambda c, s, **o: RecurrentModel("gru", input_size=c * s, **o),
        "lstm": lambda c, s, **o: RecurrentModel("lstm", input_size=c * s, **o),
        "csibert": lambda c, s, **o: CSIBert(n_features=c * s, **o),
        "mean": lambda c, s, **o: MeanBaseline(**o),
        "knn": lambda c, s, **o: KNNBaseline(**o),
    }


def build_model(
    name: str, in_channels: int = 1, n_subcarriers: int = N_SUBCARRIERS, **options: object
) -> nn.Module:
    """A fresh, randomly initialised model of the registry.

    Args:
        name: one of :data:`MODELS`.
        in_channels: C, channels of the correlation view; the series view has
            ``in_channels * n_subcarriers`` values per frame.
        n_subcarriers: S (52 for ESP32 HT20).
        options: keyword arguments of the model's class (e.g. ``hidden=`` for the
            recurrent models, ``k=`` for ``knn``, ``head_hidden=(64, 64)`` for an MLP head).
    """
    key = name.lower()
    if key not in MODELS or key not in _builders():
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    if in_channels < 1 or n_subcarriers < 1:
        raise ValueError(
            f"in_channels and n_subcarriers must be positive, got {in_channels}, {n_subcarriers}"
        )
    return _builders()[key](in_channels, n_subcarriers, **options)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters of ``model`` (shared ones once; buffers not counted)."""
    return sum(p.numel() for p in model.parameters())
