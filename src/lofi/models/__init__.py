"""Localisation models of the benchmark (paper Table II) and its baselines, in one registry.

Every model maps a window to ``{"xy": (B, 2) m, "logits2": (B, 2), "logits4": (B, 4),
"logits6": (B, 6)}``; :data:`INPUT_VIEW` says which view of the window it reads.
"""

from lofi.models.baselines import KNNBaseline, MeanBaseline, window_features
from lofi.models.catalog import BASELINES, CATALOG, NETWORKS, ModelFacts
from lofi.models.conv import CNN, ResNet18
from lofi.models.csibert import CSIBert, CSIBertEncoder, load_encoder, masked_recovery_loss, random_frame_mask
from lofi.models.heads import OUTPUT_KEYS, REGION_COUNTS, AttentionPool, LocalizationModel, MultiTaskHead
from lofi.models.loss import TASKS, multitask_loss
from lofi.models.recurrent import RecurrentModel
from lofi.models.registry import INPUT_VIEW, MODELS, PAPER_SIZES, build_model, count_parameters

__all__ = [
    "BASELINES",
    "CATALOG",
    "CNN",
    "INPUT_VIEW",
    "MODELS",
    "NETWORKS",
    "OUTPUT_KEYS",
    "PAPER_SIZES",
    "REGION_COUNTS",
    "TASKS",
    "AttentionPool",
    "CSIBert",
    "CSIBertEncoder",
    "KNNBaseline",
    "LocalizationModel",
    "MeanBaseline",
    "ModelFacts",
    "MultiTaskHead",
    "RecurrentModel",
    "ResNet18",
    "build_model",
    "count_parameters",
    "load_encoder",
    "masked_recovery_loss",
    "multitask_loss",
    "random_frame_mask",
    "window_features",
]
