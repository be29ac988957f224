"""The downstream effect of the fill: a trained model's test error with extra frames lost and re-filled.

With ``recovery_eval.checkpoint`` set, a run hides bursts of received test frames
(:func:`lofi.train.recovery_eval.bursty_hide`), fills them by linear, spline and CSI-BERT
recovery in turn, and tests the trained model on each version of the test windows:
``robust/burst<b>/err_mean_<method>`` beside the clean ``test/err_mean``.
"""

from __future__ import annotations

import numpy as np
import torch
from omegaconf import DictConfig

from lofi.csi.fill import AmplitudeFiller
from lofi.data.datamodule import CsiDataModule
from lofi.train.module import predict_all, window_metrics
from lofi.train.recovery_eval import CLASSICAL, bursty_hide, mean_bursts, refilled_source

#: Windows per forward pass when re-testing.
BATCH = 256


def robustness(cfg: DictConfig, dm: CsiDataModule, model: torch.nn.Module, filler: AmplitudeFiller) -> dict:
    """Per mean burst length b: ``robust/burst<b>/err_mean_<method>`` (m) and ``err_true_mean_<method>``
    for each fill method, and ``robust/burst<b>/hidden_share`` (hidden frames / test rows)."""
    options = cfg.recovery_eval
    rows = dm.part_rows("test")
    out = {}
    for burst in mean_bursts(options):
        rng = np.random.default_rng([int(cfg.seed), 7, int(burst)])
        hide = bursty_hide(dm.source.received & rows, float(options.hide_share), burst, rng)
        key = f"robust/burst{burst:g}"
        out[f"{key}/hidden_share"] = float(hide.sum() / max(rows.sum(), 1))
        for method in (*CLASSICAL, "csibert"):
            source = refilled_source(dm.source, hide, dm.runs, method, filler)
            scores = window_metrics(predict_all(model, dm.windows_of(source, "test"), BATCH))
            out[f"{key}/err_mean_{method}"] = scores["err_mean"]
            out[f"{key}/err_true_mean_{method}"] = scores["err_true_mean"]
    return out
