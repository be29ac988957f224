"""Every model's facts in one place: name, the input view it reads, its paper size, its kind.

The order is Table II's (the paper's networks), then the baselines. Everything else reads
this table: the registry (:mod:`lofi.models.registry` adds the builders), the training config
checks, the report's row order and the pipeline's model lists. Importing it needs no torch.
Adding a model: one line here, a builder in the registry, ``conf/model/<name>.yaml`` and
``conf/experiment/table2_<name>.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelFacts:
    """``view``: ``series`` (B, T, S*C) or ``correlation`` F = MᵀM (B, C, S, S);
    ``paper_size``: Table II's "Model Size" in parameters (None: not in the paper);
    ``baseline``: fitted once on the training windows, no epochs."""

    name: str
    view: str
    paper_size: int | None = None
    baseline: bool = False


CATALOG = (
    ModelFacts("cnn", "correlation", 23_000),
    ModelFacts("resnet18", "correlation", 11_000_000),
    ModelFacts("rnn", "series", 33_000),
    ModelFacts("gru", "series", 100_000),
    ModelFacts("lstm", "series", 133_000),
    ModelFacts("csibert", "series", 2_000_000),
    ModelFacts("mean", "series", baseline=True),
    # knn fingerprints amplitudes not standardised per window (its features are their mean and std)
    ModelFacts("knn", "series", baseline=True),
)

#: Model names in the order of the paper's Table II, then the baselines.
MODELS = tuple(f.name for f in CATALOG)
NETWORKS = tuple(f.name for f in CATALOG if not f.baseline)
BASELINES = tuple(f.name for f in CATALOG if f.baseline)
#: Input each model reads (see :class:`ModelFacts`).
INPUT_VIEW = {f.name: f.view for f in CATALOG}
#: Parameter counts of the paper's Table II ("Model Size"); the baselines have none.
PAPER_SIZES = {f.name: f.paper_size for f in CATALOG if f.paper_size is not None}
