"""Table II as a picture: test error per network and normalisation, the baselines and the paper beside.

One bar per (network, normalisation): the mean test error (m, against the labels) over its
runs (seeds; on ``cross_subject`` also the folds), with their standard deviation as a whisker
where there are several. The
mean-position and kNN baselines are horizontal lines, the paper's Table II error a black
diamond. Only multi-task runs of one split (``paper`` by default) and one data set are drawn:
a figure that mixed data sets or protocols would compare what cannot be compared.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lofi.io.figures import save_png
from lofi.report.paper import PAPER_TABLE2
from lofi.report.table2 import ORDER

NETWORKS = tuple(m for m in ORDER if m not in ("mean", "knn"))
NORMALIZATIONS = ("window", "global", "none")
BASELINE_STYLES = {"mean": ("mean position", "--"), "knn": ("kNN fingerprint", ":")}


def figure_runs(runs: pd.DataFrame, split: str = "paper") -> pd.DataFrame:
    """The runs a Table II figure draws: multi-task, ``split``, one data set (else a ValueError)."""
    chosen = runs[(runs["task"] == "multitask") & (runs["split"] == split)]
    if chosen.empty:
        raise ValueError(f"no multi-task run on the {split!r} split to draw")
    datasets = sorted(set(chosen["dataset_sha256"]))
    if len(datasets) > 1:
        raise ValueError(
            f"runs of {len(datasets)} data sets ({', '.join(d[:8] or '?' for d in datasets)}): "
            "draw one data set's runs folder at a time"
        )
    return chosen


def save_table2_figure(runs: pd.DataFrame, path: str | Path, split: str = "paper") -> Path:
    """Draw the runs of :func:`figure_runs` as ``path`` (PNG); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = figure_runs(runs, split)
    networks = [m for m in NETWORKS if m in set(chosen["model"])]
    present = [n for n in NORMALIZATIONS if n in set(chosen.loc[chosen["model"].isin(networks), "normalize"])]
    fig, ax = plt.subplots(figsize=(7.0, 3.8), dpi=110)
    width = 0.8 / max(len(present), 1)
    for i, normalize in enumerate(present):
        means, spreads = _bars(chosen, networks, normalize)
        offsets = np.arange(len(networks)) + (i - (len(present) - 1) / 2) * width
        ax.bar(offsets, means, width, yerr=spreads, capsize=3, label=f"normalize={normalize}")
    paper = [PAPER_TABLE2.get(m, (np.nan,))[0] for m in networks]
    ax.plot(np.arange(len(networks)), paper, "kD", markersize=5, label="paper's Table II")
    for model, (label, style) in BASELINE_STYLES.items():
        errors = chosen.loc[chosen["model"] == model, "err"].dropna()
        if len(errors):
            ax.axhline(errors.mean(), color="0.3", linestyle=style, linewidth=1.2, label=f"{label} baseline")
    ax.set_xticks(np.arange(len(networks)), networks)
    ax.set_ylabel("test error vs labels (m)")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    counts = chosen[chosen["model"].isin(networks)].groupby(["model", "normalize"]).size()
    over = "seeds and folds" if split == "cross_subject" else "seeds"
    ax.set_title(
        f"Table II, {split} split: mean of {_span(counts.min(), counts.max())} per bar "
        f"(whiskers: std over {over})",
        fontsize=9,
    )
    return save_png(fig, path)


def _bars(runs: pd.DataFrame, networks: list[str], normalize: str) -> tuple[list[float], list[float]]:
    """Mean and std over runs of each network's test error (m) with ``normalize`` (NaN where absent)."""
    means, spreads = [], []
    for model in networks:
        errors = runs.loc[(runs["model"] == model) & (runs["normalize"] == normalize), "err"].dropna()
        means.append(errors.mean() if len(errors) else np.nan)
        spreads.append(errors.std(ddof=1) if len(errors) > 1 else np.nan)  # one run: no whisker
    return means, spreads


def _span(low: int, high: int) -> str:
    """``3 runs`` or ``2-3 runs``."""
    count = str(low) if low == high else f"{low}-{high}"
    return f"{count} run{'' if high == 1 else 's'}"
