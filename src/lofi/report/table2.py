"""Table II from training runs: one row per (model, normalisation, split and fold, protocol), seeds pooled.

Reads every ``metrics.json`` under a runs folder (the output of ``python -m lofi.train``;
pre-training runs and the trials of an Optuna search, under ``optuna/``, are left out; a
seed run twice counts once, the newest), orders the rows as the paper's table, and prints the test
error against the labels and against the truth (synthetic data), the region accuracies,
the model size and the epochs run, with the paper's figures beside them. With several
seeds a cell shows the mean over seeds and, in brackets, their standard deviation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lofi.io.atomic import atomic_open
from lofi.io.json_report import read_json
from lofi.report.paper import PAPER_TABLE2

ORDER = ("mean", "knn", "cnn", "resnet18", "rnn", "gru", "lstm", "csibert")
KEYS = ("model", "task", "normalize", "split", "fold", "pretrained", "dataset_sha256")
NUMBERS = {
    "test/err_mean": "err", "test/err_std": "err_std", "test/err_true_mean": "err_true",
    "test/acc6": "acc6", "test/acc4": "acc4", "test/acc2": "acc2", "test/label_err_mean": "label_err",
    "paper/err_mean": "paper_protocol_err", "parameters": "parameters", "epochs": "epochs",
    "train_seconds": "seconds", "test/windows": "windows",
}  # fmt: skip


def collect_runs(runs_dir: str | Path) -> pd.DataFrame:
    """One row per localisation run under ``runs_dir`` (every ``metrics.json``, recursively)."""
    rows = []
    root = Path(runs_dir)
    for path in sorted(root.rglob("metrics.json")):
        metrics = read_json(path)
        trial = "optuna" in path.relative_to(root).parts
        if trial or metrics.get("task") == "pretrain" or "test/err_mean" not in metrics:
            continue
        row = {key: metrics.get(key) for key in ("model", "task", "normalize", "split", "seed", "experiment")}
        row |= {"fold": metrics.get("fold", 0), "dataset_sha256": metrics.get("dataset_sha256", ""),
                "mtime": path.stat().st_mtime}  # fmt: skip
        row["pretrained"] = bool(metrics.get("pretrained"))
        row |= {name: _number(metrics.get(key)) for key, name in NUMBERS.items()}
        row["run"] = str(path.parent)
        rows.append(row)
    if not rows:
        raise ValueError(f"{runs_dir}: no training run (metrics.json) found")
    table = pd.DataFrame(rows).sort_values("mtime")
    return table.drop_duplicates([*KEYS, "seed"], keep="last").drop(columns="mtime").reset_index(drop=True)


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else float("nan")


def table2_markdown(runs: pd.DataFrame) -> str:
    """The Markdown table (see the module docstring)."""
    runs = runs.assign(order=runs["model"].map({m: i for i, m in enumerate(ORDER)}).fillna(len(ORDER)))
    head = ("| model | normalize | split | seeds | test error (m) vs labels | vs truth | acc6 / acc4 / acc2 "
            "| reference protocol | params | epochs | paper: error / acc6 / acc4 / acc2 |")  # fmt: skip
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    runs = runs.fillna({key: "" for key in ("normalize", "split", "task", "dataset_sha256")})
    runs = runs.assign(
        task_order=runs["task"].map({"multitask": 0, "regression": 1, "classify": 2}).fillna(3)
    )
    runs = runs.assign(norm_order=runs["normalize"].map({"window": 0, "global": 1, "none": 2}).fillna(3))
    runs = runs.assign(split_order=runs["split"].map({"paper": 0, "cross_subject": 1}).fillna(2))
    # the paper's way first
    ordered = runs.sort_values(["order", "task_order", "norm_order", "split_order", "fold"])
    for _, group in ordered.groupby(list(KEYS), sort=False):
        lines.append(_row(group))
    return "\n".join(lines) + "\n"


def _row(group: pd.DataFrame) -> str:
    first = group.iloc[0]
    task = "" if first["task"] in ("multitask", "") else f" [{first['task']}]"
    name = f"{first['model']}{' (pre-trained)' if first['pretrained'] else ''}{task}"
    accuracies = " / ".join(_cell(group[k], "{:.2f}") for k in ("acc6", "acc4", "acc2"))
    error = f"{_cell(group['err'], '{:.3f}')} ± {_cell(group['err_std'], '{:.3f}', spread=False)}"
    paper = PAPER_TABLE2.get(str(first["model"]))
    paper_cell = (
        "–" if paper is None else f"{paper[0]:.3f} / {paper[2]:.2f} / {paper[3]:.2f} / {paper[4]:.2f}"
    )
    params = _size(first["parameters"])
    normalize = "–" if first["model"] == "mean" else str(first["normalize"])  # the mean reads no input
    split = str(first["split"])
    split += (
        f" fold {int(first['fold'])}" if split == "cross_subject" else ""
    )  # its own row per held-out subject
    cells = [name, normalize, split, str(len(group)), error,
             _cell(group["err_true"], "{:.3f}"), accuracies, _cell(group["paper_protocol_err"], "{:.3f}"),
             params, _cell(group["epochs"], "{:.0f}")]  # fmt: skip
    return "| " + " | ".join([*cells, paper_cell]) + " |"


def _size(parameters: float) -> str:
    """Parameter count as 25 K or 11.2 M; baselines have none."""
    if not parameters or not np.isfinite(parameters):
        return "–"
    return f"{parameters / 1e6:.1f} M" if parameters >= 1e6 else f"{parameters / 1e3:.0f} K"


def _cell(values: pd.Series, fmt: str, spread: bool = True) -> str:
    """Mean over seeds, with the standard deviation over seeds in brackets when there are several."""
    finite = values[np.isfinite(values.to_numpy(dtype=float))]
    if finite.empty:
        return "–"
    text = fmt.format(finite.mean())
    return f"{text} ({fmt.format(finite.std(ddof=1))})" if spread and len(finite) > 1 else text


def write_table2(runs: pd.DataFrame, out: str | Path | None = None) -> str:
    """Table II of ``runs`` (:func:`collect_runs`) as Markdown; also written to ``out`` (atomically)."""
    text = table2_markdown(runs)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(out, "w") as handle:
            handle.write(text)
    return text
