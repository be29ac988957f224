"""The run's error CDF (paper Fig. 4): test error against the labels and the truth, and the label error."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lofi.io.figures import save_png
from lofi.train.metrics import euclidean_errors


def save_error_cdf(joined: dict[str, np.ndarray], path: str | Path, title: str) -> Path:
    """CDF of the test windows' Euclidean errors (m) as ``path`` (PNG).

    Curves: prediction vs label; prediction vs truth and label vs truth where the truth is known.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {
        "prediction vs label": euclidean_errors(joined["xy_pred"], joined["xy"]),
        "prediction vs truth": euclidean_errors(joined["xy_pred"], joined["xy_true"]),
        "label vs truth (label error)": euclidean_errors(joined["xy"], joined["xy_true"]),
    }
    fig, ax = plt.subplots(figsize=(5.0, 3.6), dpi=110)
    for name, errors in curves.items():
        errors = np.sort(errors[np.isfinite(errors)])
        if len(errors):
            ax.step(errors, np.arange(1, len(errors) + 1) / len(errors), where="post", label=name)
    ax.set_xlabel("error (m)")
    ax.set_ylabel("share of test windows")
    ax.set_ylim(0, 1)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title, fontsize=9)
    return save_png(fig, path)
