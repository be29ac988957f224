"""Which figures ``lofi report`` draws from which runs, and what it says where it cannot draw one.

* ``error_cdf.png``: every table row, its seeds' test windows pooled;
* ``trajectory.png``: the longest stretch of consecutive test windows of one session, from the best
  network's first seed; beside truth and label, each model's best row (first seed) on the same data;
* ``error_by_position.png``: the best network's (lowest mean test error vs labels, trained on the labels)
  mean error over the floor, seeds pooled;
* ``table2.png``: :func:`lofi.report.table2_figure.save_table2_figure` of the labels-trained runs.

The label-quality stage's figures in the same folder are linked where they exist, never redrawn.

The data of two figures goes beside them as CSV, for ``dvc plots`` (``dvc.yaml``) to draw and to
compare across commits: ``plots/error_cdf.csv`` (:func:`lofi.report.figures.error_cdf_table`) and
``plots/error_by_position.csv`` (:func:`lofi.report.figures.error_cells_table`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lofi.io.atomic import atomic_open
from lofi.report.facts import read_predictions
from lofi.report.figures import (
    error_cdf_table,
    error_cells_table,
    longest_stretch,
    save_error_by_position,
    save_error_cdf,
    save_trajectory,
)
from lofi.report.table2_figure import save_table2_figure

#: Figures another stage (label quality) draws into the same folder: linked, never redrawn.
LABEL_QUALITY_FIGURES = {
    "label_error_map.png": "label error over the floor (label quality)",
    "detectors_panel.png": "person detectors per camera view (label quality)",
}
CAPTIONS = {
    "error_cdf.png": "test error CDF per model and normalisation, seeds pooled",
    "trajectory.png": "x and y over the longest stretch of test windows: truth, label, predictions",
    "error_by_position.png": "mean test error of the best model over the floor",
    "table2.png": "Table II as bars: test error vs labels per network and normalisation",
}


@dataclass
class Figures:
    """The figures of a report: those drawn, those linked, and why any was not drawn."""

    written: list[Path] = field(default_factory=list)
    linked: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The plot data written as CSV (``plots/*.csv``).
    data: list[Path] = field(default_factory=list)

    def links(self, out_dir: Path) -> list[dict]:
        """``{"path", "caption"}`` of every figure, the path relative to ``out_dir``."""
        captions = CAPTIONS | LABEL_QUALITY_FIGURES
        return [{"path": p.relative_to(out_dir).as_posix(), "caption": captions[p.name]}
                for p in (*self.written, *self.linked)]  # fmt: skip


def draw_figures(runs: pd.DataFrame, rows: list[dict], folder: Path, plots: Path | None = None) -> Figures:
    """Draw the figures of ``rows`` (:func:`lofi.report.summary.report_rows`, labelled) into ``folder``
    and, given ``plots``, write the CDF's and the error map's data there as CSV."""
    figures = Figures()
    seeds = {i: found for i, row in enumerate(rows) if (found := _seed_predictions(row))}
    missing = [run for row in rows for run, folder in zip(row["runs"], row["folders"], strict=True)
               if not (Path(folder) / "predictions.parquet").is_file()]  # fmt: skip
    if missing:
        figures.notes.append(f"no predictions.parquet, not in the figures: {', '.join(missing)}")
    if seeds:
        pooled = {rows[i]["label"]: pd.concat(frames.values()) for i, frames in seeds.items()}
        figures.written.append(save_error_cdf(pooled, folder / "error_cdf.png"))
        best = _best(rows, seeds)
        figures.written += _trajectory(rows, seeds, best, folder)
        figures.written.append(_error_by_position(rows[best], pooled[rows[best]["label"]], folder))
        if plots is not None:
            cells = error_cells_table(pooled[rows[best]["label"]], rows[best]["region_m"])
            figures.data.append(_write_csv(error_cdf_table(pooled), plots / "error_cdf.csv"))
            figures.data.append(
                _write_csv(cells.assign(row=rows[best]["label"]), plots / "error_by_position.csv")
            )
    else:
        figures.notes.append(
            "no run has a predictions.parquet: error CDF, trajectory and error map not drawn"
        )
    _bar_chart(runs, folder, figures)
    figures.linked = [folder / name for name in LABEL_QUALITY_FIGURES if (folder / name).is_file()]
    return figures


def _seed_predictions(row: dict) -> dict[int, pd.DataFrame]:
    """Seed (or run number where a run has none) -> its predictions, for the runs that wrote them."""
    found = {}
    for k, folder in enumerate(row["folders"]):
        table = read_predictions(folder)
        if table is not None:
            seed = row["run_seeds"][k]
            found[k if seed is None else seed] = table
    return found


def _best(rows: list[dict], seeds: dict) -> int:
    """The row of the best model: the lowest mean test error vs labels among the labels-trained
    networks with predictions (else among all rows with predictions)."""
    networks = [i for i in seeds if rows[i]["label_source"] == "labels" and rows[i]["parameters"] > 0]
    return min(networks or list(seeds), key=lambda i: rows[i]["err_mean"])


def _error_by_position(row: dict, pooled: pd.DataFrame, folder: Path) -> Path:
    """``error_by_position.png`` of one row's pooled predictions."""
    title = f"{row['label']}: mean test error over the floor ({len(pooled)} windows, seeds pooled)"
    return save_error_by_position(pooled, row["region_m"], title, folder / "error_by_position.png")


def _trajectory(rows: list[dict], seeds: dict, best: int, folder: Path) -> list[Path]:
    """The trajectory panel: the best row's longest stretch, each model's best row on the same data."""
    reference = seeds[best][min(seeds[best])]
    stretch = longest_stretch(reference, rows[best]["stride"])
    same_data = ("dataset_sha256", "split", "fold")
    chosen: dict[str, int] = {}
    for i in sorted(seeds, key=lambda i: rows[i]["err_mean"]):
        if all(rows[i][k] == rows[best][k] for k in same_data):
            chosen.setdefault(rows[i]["name"], i)
    lines = {rows[i]["label"]: seeds[i][min(seeds[i])] for i in sorted(chosen.values())}
    return [save_trajectory(stretch, lines, rows[best]["stride"], folder / "trajectory.png")]


def _bar_chart(runs: pd.DataFrame, folder: Path, figures: Figures) -> None:
    """``table2.png`` of the labels-trained runs, or a note why it cannot be drawn."""
    try:
        path = save_table2_figure(runs[runs["label_source"] == "labels"], folder / "table2.png")
    except ValueError as err:  # figure_runs refuses what cannot be compared: say so, draw the rest
        figures.notes.append(f"table2.png not drawn: {err}")
        return
    figures.written.append(path)


def _write_csv(table: pd.DataFrame, path: Path) -> Path:
    """``table`` as CSV at ``path`` (atomically, 6 significant digits); returns ``path``."""
    with atomic_open(path, "w") as handle:
        table.to_csv(handle, index=False, float_format="%.6g")
    return path
