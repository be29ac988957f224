"""Table II as a picture: test error per network and normalisation, the baselines and the paper beside.

One bar per (network, normalisation): the mean test error (m, against the labels) over its
runs (seeds; on ``cross_subject`` also the folds), with their standard deviation as a whisker
where there are several. A pre-trained CSI-BERT is a network of its own
(``csibert (pre-trained)``). The mean-position and kNN baselines are horizontal lines (kNN one
per normalisation of its input), the paper's Table II error a black diamond. Only multi-task
runs of one split (``paper`` by default), one data set and one setting per bar are drawn (failed
or untrained runs never): a figure that mixed data sets, settings or protocols would compare what
cannot be compared.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lofi.io.constants import FOLDED_SPLITS
from lofi.io.figures import save_png
from lofi.report.paper import PAPER_TABLE2
from lofi.report.table2 import ORDER

NETWORKS = tuple(m for m in ORDER if m not in ("mean", "knn"))
NORMALIZATIONS = ("window", "global", "none")
BASELINE_STYLES = {"mean": ("mean-position baseline", "--"), "knn": ("kNN baseline", ":")}


def figure_runs(runs: pd.DataFrame, split: str = "paper") -> pd.DataFrame:
    """The runs a Table II figure draws: finished, multi-task, ``split``, one data set, one setting
    per bar (else a ValueError).

    Adds ``label``: the model's name, ``csibert (pre-trained)`` for a fine-tuned CSI-BERT.
    """
    finished = runs[runs["failure"] == ""] if "failure" in runs else runs  # failed runs are not drawn
    chosen = finished[
        (finished["task"] == "multitask") & (finished["split"] == split) & finished["err"].notna()
    ]
    if not chosen["model"].isin(NETWORKS).any():
        raise ValueError(f"no multi-task network run on the {split!r} split to draw")
    datasets = sorted(set(chosen["dataset_sha256"].fillna("")))
    if len(datasets) > 1:
        raise ValueError(
            f"runs of {len(datasets)} data sets ({', '.join(d[:8] or '?' for d in datasets)}): "
            "draw one data set's runs folder at a time"
        )
    model = chosen["model"].fillna("?").astype(str)
    chosen = chosen.assign(label=model.where(~chosen["pretrained"].astype(bool), model + " (pre-trained)"))
    _one_setting_per_bar(chosen, split)
    return chosen


def _one_setting_per_bar(chosen: pd.DataFrame, split: str) -> None:
    """A ValueError if a bar (or baseline line) would pool runs of different settings; on
    ``cross_subject`` a bar pools the folds, so one setting per fold."""
    if "settings" not in chosen:
        return
    per = ["label", "normalize", *(["fold"] if split in FOLDED_SPLITS else [])]
    counts = chosen.groupby(per, dropna=False)["settings"].nunique()
    if (counts > 1).any():
        label, normalize = counts[counts > 1].index[0][:2]
        raise ValueError(
            f"{label} (normalize={normalize}): runs of {counts.max()} different settings would share "
            "a bar; draw a runs folder with one setting per network and normalisation"
        )


def save_table2_figure(runs: pd.DataFrame, path: str | Path, split: str = "paper") -> Path:
    """Draw the runs of :func:`figure_runs` as ``path`` (PNG); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = figure_runs(runs, split)
    labels = set(chosen["label"])
    networks = [name for m in NETWORKS for name in (m, f"{m} (pre-trained)") if name in labels]
    bars = chosen[chosen["label"].isin(networks)]
    present = [n for n in NORMALIZATIONS if n in set(bars["normalize"])]
    fig, ax = plt.subplots(figsize=(7.0, 3.8), dpi=110)
    width = 0.8 / max(len(present), 1)
    for i, normalize in enumerate(present):
        means, spreads = _bars(bars, networks, normalize)
        offsets = np.arange(len(networks)) + (i - (len(present) - 1) / 2) * width
        ax.bar(offsets, means, width, yerr=spreads, capsize=3, label=f"normalize={normalize}")
    paper = [PAPER_TABLE2.get(name.split(" ")[0], (np.nan,))[0] for name in networks]
    ax.plot(np.arange(len(networks)), paper, "kD", markersize=5, label="paper's Table II")
    for model, (label, style) in BASELINE_STYLES.items():
        for normalize, errors in chosen[chosen["model"] == model].groupby("normalize")["err"]:
            read = "" if model == "mean" else f" (normalize={normalize})"  # the mean reads no input
            ax.axhline(errors.mean(), color="0.3", linestyle=style, linewidth=1.2, label=f"{label}{read}")
    ax.set_xticks(np.arange(len(networks)), [n.replace(" (", "\n(") for n in networks], fontsize=8)
    ax.set_ylabel("test error vs labels (m)")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    counts = bars.groupby(["label", "normalize"]).size()
    over = "seeds and folds" if split in FOLDED_SPLITS else "seeds"
    ax.set_title(
        f"Table II, {split} split: mean of {_span(counts.min(), counts.max())} per bar "
        f"(whiskers: std over {over})",
        fontsize=9,
    )
    return save_png(fig, path)


def _bars(runs: pd.DataFrame, networks: list[str], normalize: str) -> tuple[list[float], list[float]]:
    """Mean and std over runs of each network's (``label``) test error (m) with ``normalize``
    (NaN where it has no run)."""
    means, spreads = [], []
    for name in networks:
        errors = runs.loc[(runs["label"] == name) & (runs["normalize"] == normalize), "err"]
        means.append(errors.mean() if len(errors) else np.nan)
        spreads.append(errors.std(ddof=1) if len(errors) > 1 else np.nan)  # one run: no whisker
    return means, spreads


def _span(low: int, high: int) -> str:
    """``3 runs`` or ``2-3 runs``."""
    count = str(low) if low == high else f"{low}-{high}"
    return f"{count} run{'' if high == 1 else 's'}"
