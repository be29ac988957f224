"""The figures of ``lofi report``, drawn from the runs' ``predictions.parquet`` (one row per test window).

* :func:`save_error_cdf`: the CDF of the test errors (m) per table row, seeds pooled: solid against
  the labels, dashed against the truth where it is known (the paper's Fig. 4).
* :func:`save_trajectory`: x and y (m) over one stretch of consecutive test windows of one session
  (the longest): truth, vision label and each model's prediction.
* :func:`save_error_by_position`: one model's mean error (m) in 0.3 m cells over the floor region.

The data behind the CDF and the error map, as tables (:func:`error_cdf_table`, :func:`error_cells`),
is what ``lofi report`` also writes as CSV for ``dvc plots`` (``results/plots/``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lofi.io.figures import save_png

#: Side (m) of a cell of the error map.
CELL_M = 0.3
#: Shares of test windows at which :func:`error_cdf_table` gives the error: the CDF in 1 % steps.
CDF_SHARES = np.linspace(0.0, 1.0, 101)
#: The targets a prediction is measured against: column suffix -> name in the plot data.
TARGETS = {"label": "labels", "true": "truth"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def errors(table: pd.DataFrame, target: str) -> np.ndarray:
    """Per test window: distance (m) of the prediction from ``target`` (``label`` or ``true``); NaN
    where the target is unknown."""
    return np.hypot(table["x_pred"] - table[f"x_{target}"], table["y_pred"] - table[f"y_{target}"]).to_numpy(
        dtype=float
    )


def save_error_cdf(curves: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """CDF of the test errors of each curve's windows (``label`` -> pooled predictions), as ``path``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=110)
    colours = plt.get_cmap("tab20" if len(curves) > 10 else "tab10")
    for i, (label, table) in enumerate(curves.items()):
        colour = colours(i % colours.N)
        for target, style, suffix in (("label", "-", ""), ("true", "--", " vs truth")):
            finite = _finite_errors(table, target)
            if len(finite):
                share = np.arange(1, len(finite) + 1) / len(finite)
                ax.step(finite, share, style, where="post", color=colour, label=f"{label}{suffix}")
    ax.set_xlabel("test error (m)")
    ax.set_ylabel("share of test windows")
    ax.set_ylim(0, 1)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Test error CDF, seeds pooled (solid: vs vision labels, dashed: vs truth)", fontsize=9)
    return save_png(fig, path)


def _finite_errors(table: pd.DataFrame, target: str) -> np.ndarray:
    """The known test errors (m) of ``table`` against ``target``, sorted."""
    values = errors(table, target)
    return np.sort(values[np.isfinite(values)])


def error_cdf_table(curves: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The CDFs of :func:`save_error_cdf` as data: per curve (``label`` -> pooled predictions) and
    target (``labels``, ``truth`` where known), the test error ``error_m`` (m) that a ``share`` of
    the windows do not exceed, at the shares :data:`CDF_SHARES` (the empirical CDF's own steps:
    ``inverted_cdf`` quantiles). ``series`` names the curve as the figure's legend does."""
    records = []
    for label, table in curves.items():
        for target, versus in TARGETS.items():
            finite = _finite_errors(table, target)
            if len(finite):
                quantiles = np.quantile(finite, CDF_SHARES, method="inverted_cdf")
                series = label if target == "label" else f"{label} vs truth"
                records += [
                    {"series": series, "row": label, "versus": versus, "share": share, "error_m": error}
                    for share, error in zip(CDF_SHARES, quantiles, strict=True)
                ]
    return pd.DataFrame(records, columns=["series", "row", "versus", "share", "error_m"])


def longest_stretch(table: pd.DataFrame, stride: float) -> pd.DataFrame:
    """The longest run of consecutive test windows of one session (starts ``stride`` data-set rows
    apart; unknown stride: the session's smallest gap); ties go to the first session by name."""
    best = table.iloc[:0]
    for _, part in table.groupby("session", sort=True):
        part = part.drop_duplicates("start").sort_values("start")
        gaps = np.diff(part["start"].to_numpy(dtype=float))
        step = stride if np.isfinite(stride) and stride > 0 else (gaps[gaps > 0].min() if len(gaps) else 1.0)
        for segment in np.split(np.arange(len(part)), np.flatnonzero(gaps != step) + 1):
            if len(segment) > len(best):
                best = part.iloc[segment]
    return best


def save_trajectory(
    stretch: pd.DataFrame, predictions: dict[str, pd.DataFrame], stride: float, path: str | Path
) -> Path:
    """x and y (m) over the windows of ``stretch``: truth, vision label and each model's prediction
    (``label`` -> one seed's predictions, matched on session and start), as ``path``."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(7.5, 5.0), dpi=110, sharex=True)
    index = np.arange(len(stretch))
    marker = "o" if len(stretch) < 20 else None
    keys = stretch[["session", "start"]].reset_index(drop=True)
    for ax, axis in zip(axes, ("x", "y"), strict=True):
        ax.plot(index, stretch[f"{axis}_true"], "k-", linewidth=2.0, marker=marker, label="truth")
        ax.plot(index, stretch[f"{axis}_label"], "--", color="0.45", marker=marker, label="vision label")
        for label, table in predictions.items():
            matched = keys.merge(
                table.drop_duplicates(["session", "start"]), on=["session", "start"], how="left"
            )
            ax.plot(index, matched[f"{axis}_pred"], linewidth=1.0, marker=marker, label=label)
        ax.set_ylabel(f"{axis} (m)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    first = stretch.iloc[0]
    every = f"every {stride:.0f} data-set rows" if np.isfinite(stride) else "consecutive"
    axes[1].set_xlabel(f"test window ({every}, from row {int(first['start'])})")
    axes[0].set_title(
        f"Session {first['session']}: the longest stretch of test windows ({len(stretch)})", fontsize=9
    )
    return save_png(fig, path)


def error_cells(
    table: pd.DataFrame, region_m: tuple[float, float] | None
) -> tuple[str, list[np.ndarray], np.ndarray, np.ndarray]:
    """Mean test error (m) of the windows of ``table`` in :data:`CELL_M` cells over the floor.

    Against the truth, placed at the true position, where the truth is known; else against the
    labels, at the label. The region is ``region_m`` (w, d from the origin), else the labels' extent.
    Returns the target (``true`` or ``label``), the cell edges in x and y, the mean error per cell
    (NaN where no window) and the windows per cell, both indexed ``[x cell, y cell]``.
    """
    target = "true" if np.isfinite(table[["x_true", "y_true"]].to_numpy(dtype=float)).all() else "label"
    x, y = (table[f"{axis}_{target}"].to_numpy(dtype=float) for axis in ("x", "y"))
    (x0, x1), (y0, y1) = _extent(table, region_m)
    bins = [
        x0 + CELL_M * np.arange(np.ceil((x1 - x0) / CELL_M) + 1),
        y0 + CELL_M * np.arange(np.ceil((y1 - y0) / CELL_M) + 1),
    ]
    x, y = np.clip(x, bins[0][0], bins[0][-1]), np.clip(y, bins[1][0], bins[1][-1])
    total, _, _ = np.histogram2d(x, y, bins, weights=np.nan_to_num(errors(table, target)))
    count, _, _ = np.histogram2d(x, y, bins, weights=np.isfinite(errors(table, target)).astype(float))
    mean = np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0)
    return target, bins, mean, count


def error_cells_table(table: pd.DataFrame, region_m: tuple[float, float] | None) -> pd.DataFrame:
    """:func:`error_cells` as data: one record per cell with windows, its centre ``x_m``, ``y_m``
    (m), ``error_m`` (mean test error, m), ``windows`` and ``versus`` (``truth`` or ``labels``)."""
    target, bins, mean, count = error_cells(table, region_m)
    centres = [(edges[:-1] + edges[1:]) / 2 for edges in bins]
    i, j = np.nonzero(count > 0)
    return pd.DataFrame(
        {
            "x_m": centres[0][i],
            "y_m": centres[1][j],
            "error_m": mean[i, j],
            "windows": count[i, j].astype(int),
        }
    ).assign(versus=TARGETS[target])


def save_error_by_position(
    table: pd.DataFrame, region_m: tuple[float, float] | None, title: str, path: str | Path
) -> Path:
    """The mean test error of :func:`error_cells` over the floor, as ``path``."""
    plt = _pyplot()
    target, bins, mean, _ = error_cells(table, region_m)
    fig, ax = plt.subplots(figsize=(4.2, 6.5), dpi=110)
    image = ax.pcolormesh(bins[0], bins[1], mean.T, cmap="viridis", shading="flat")
    versus = "truth, at the true position" if target == "true" else "vision labels, at the label"
    fig.colorbar(image, ax=ax, label=f"mean test error vs {versus} (m)")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    return save_png(fig, path)


def _extent(table: pd.DataFrame, region_m: tuple[float, float] | None) -> tuple[tuple[float, float], ...]:
    """(x range, y range) in m: ``(0, w), (0, d)`` of the region, else the labels' extent."""
    if region_m is not None:
        return (0.0, float(region_m[0])), (0.0, float(region_m[1]))
    extents = []
    for axis in ("x", "y"):
        values = table[f"{axis}_label"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        low, high = (values.min(), values.max()) if len(values) else (0.0, CELL_M)
        extents.append((float(low), float(max(high, low + CELL_M))))
    return tuple(extents)
