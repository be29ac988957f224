"""``lofi report``: the runs folder as the committed Table II (Markdown, CSV, JSON) and its figures.

Reads every run under the runs folder (:func:`lofi.report.table2.collect_runs`: seeds of one
setting pooled, failed and untrained runs listed, not averaged), adds what each ``metrics.json``
records besides (:mod:`lofi.report.facts`) and writes, under the output folder:

* ``table2.md``: header (date, commit, hardware, data set, epoch budget, seeds, test-window
  note), the table (:mod:`lofi.report.summary`: per row parameters, peak memory, error mean ±
  std over seeds against the labels and the truth, medians and 90th percentiles, acc6/4/2,
  training time, epochs, test windows, the reference protocol's error and the paper's), what
  the vision labels cost (labels-trained minus truth-trained error against the truth), the runs
  not averaged, and links to every figure;
* ``table2.csv`` and ``table2.json``: the same numbers, one record per row (JSON: NaN as null).
  The JSON's ``rows`` maps each row's label to its record, so that ``dvc metrics show`` and
  ``dvc metrics diff`` (``dvc.yaml``: ``metrics``) read every number as ``rows.<label>.<field>``;
* ``figures/``: ``error_cdf.png``, ``trajectory.png``, ``error_by_position.png``, ``table2.png``
  (:mod:`lofi.report.figures`, :mod:`lofi.report.table2_figure`). The label-quality figures
  (``label_error_map.png``, ``detectors_panel.png``) are linked where they exist, never redrawn;
* ``plots/error_cdf.csv`` and ``plots/error_by_position.csv``: the data of the error CDF and of the
  error map, for ``dvc plots show`` / ``dvc plots diff`` (``dvc.yaml``: ``plots``).

Columns against the truth are left out where no run knows it (recorded data).
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.io.atomic import atomic_open
from lofi.io.constants import FOLDED_SPLITS
from lofi.io.json_report import json_safe, write_json
from lofi.report.facts import with_facts
from lofi.report.report_figures import draw_figures
from lofi.report.summary import FEW_WINDOWS, labels_cost, report_header, report_rows
from lofi.report.table2 import collect_runs

MEMORY_KINDS = {"cuda max_memory_allocated": "GPU", "peak RSS (CPU)": "RSS"}
MEMORY_MEANING = {"GPU": "torch.cuda.max_memory_allocated", "RSS": "peak resident set size of the process"}


@dataclass
class Report:
    """What :func:`write_report` wrote: the Markdown text and every file's path."""

    markdown: str
    written: list[Path] = field(default_factory=list)


def write_report(runs_dir: str | Path, out_dir: str | Path, only: Collection[str] | None = None) -> Report:
    """Table II and its figures of the runs under ``runs_dir`` (``only``: just these run folders),
    written under ``out_dir`` (atomically).

    Raises:
        ValueError: no run under ``runs_dir``, none that finished with a test error, or a
            ``predictions.parquet`` that cannot be read.
    """
    out = Path(out_dir)
    runs = with_facts(collect_runs(runs_dir, only))
    rows = report_rows(runs)
    if not rows:
        failed = runs.iloc[0]
        raise ValueError(
            f"{runs_dir}: none of the {len(runs)} runs finished with a test error "
            f"(e.g. {failed['run']}: {failed['failure']}); nothing to report"
        )
    _name_rows(rows, runs_dir)
    figures = draw_figures(runs, rows, out / "figures", out / "plots")
    header, costs = report_header(runs, runs_dir), labels_cost(rows)
    failed = runs[runs["failure"] != ""]
    failed = failed.assign(run=[_relative(run, runs_dir) for run in failed["run"]])
    text = report_markdown(header, rows, costs, failed, figures.links(out), figures.notes)
    _write_text(out / "table2.md", text)
    _write_text(out / "table2.csv", _csv(rows))
    document = {"header": header, "rows": {row["label"]: _record(row, labelled=False) for row in rows}}
    document["labels_cost"] = costs
    document |= {"not_averaged": _not_averaged(failed), "figures": figures.links(out), "notes": figures.notes}
    write_json(out / "table2.json", json_safe(document))
    tables = [out / f"table2.{ext}" for ext in ("md", "csv", "json")]
    return Report(text, [*figures.written, *figures.data, *tables])


def _name_rows(rows: list[dict], runs_dir: str | Path) -> None:
    """Give each row a ``label`` (model, normalisation, and split, fold, data set or settings where
    rows differ in them) and its runs' folders relative to ``runs_dir``."""
    several = {key: len({row[key] for row in rows}) > 1 for key in ("split", "dataset_sha256")}
    for row in rows:
        parts = [] if row["model"] == "mean" else [str(row["normalize"])]  # the mean reads no input
        parts += [str(row["split"])] if several["split"] else []
        parts += [f"fold {row['fold']}"] if row["split"] in FOLDED_SPLITS else []
        parts += [str(row["dataset_sha256"])[:8]] if several["dataset_sha256"] else []
        row["label"] = _with(row["name"], parts)
        row["runs"] = [_relative(run, runs_dir) for run in row["folders"]]
    labels = [row["label"] for row in rows]
    for row in rows:
        row["label"] += f" [{row['settings'][:8]}]" if labels.count(row["label"]) > 1 else ""
    seen: dict[str, int] = {}
    for row in rows:  # labels key table2.json's rows: never two alike
        seen[row["label"]] = seen.get(row["label"], 0) + 1
        row["label"] += f" #{seen[row['label']]}" if seen[row["label"]] > 1 else ""


def _with(name: str, parts: list[str]) -> str:
    """``gru (window)``; ``gru (trained on truth, window)`` where the name ends in brackets."""
    if not parts:
        return name
    return f"{name[:-1]}, {', '.join(parts)})" if name.endswith(")") else f"{name} ({', '.join(parts)})"


def _relative(run: str, runs_dir: str | Path) -> str:
    try:
        return Path(run).relative_to(runs_dir).as_posix()
    except ValueError:
        return run


def report_markdown(
    header: dict,
    rows: list[dict],
    costs: list[dict],
    failed: pd.DataFrame,
    figures: list[dict],
    notes: Sequence[str] = (),
) -> str:
    """The whole ``table2.md``: header lines, table, labels' cost, runs not averaged, figures."""
    lines = ["# Table II: Wi-Fi CSI localisation on the test windows", "", *header_lines(header, rows), ""]
    lines += [*table_lines(rows, header["truth_known"]), "", *cost_lines(costs, header["truth_known"])]
    if len(failed):
        lines += [f"Not averaged ({len(failed)} run{'s' * (len(failed) > 1)}):", ""]
        lines += [f"- {item['run']}: {item['reason']}" for item in _not_averaged(failed)] + [""]
    lines += ["## Figures", ""] + [f"![{f['caption']}]({f['path']})" for f in figures] + [""] * bool(figures)
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines).rstrip("\n") + "\n"


def header_lines(header: dict, rows: list[dict]) -> list[str]:
    """The bullet lines above the table (see :func:`lofi.report.summary.report_header`)."""
    finished = header["runs_finished"]
    lines = [
        f"- date: {header['date']} (report written)"
        + (f"; runs finished {finished[0]} to {finished[1]} (metrics.json times)" if finished else "")
    ]
    lines.append(_commit_line(header["commits"]))
    machines = "; ".join(header["hardware"]["machines"])
    whose = (
        "recorded by the runs"
        if header["hardware"]["recorded"]
        else "not recorded by the runs; the machine running lofi report"
    )
    lines.append(f"- hardware ({whose}): {machines}")
    lines.append(_memory_line(header["peak_memory_kinds"]))
    lines.append(
        "- data set (sha256): " + ", ".join(f"{h} ({n} runs)" for h, n in header["datasets"].items())
    )
    budgets = ", ".join(map(str, header["epoch_budgets"])) or "none recorded"
    lines.append(f"- epoch budget (trainer.max_epochs) of the networks: {budgets}; baselines train no epochs")
    seeds = ", ".join(map(str, header["seeds"])) or "none recorded"
    lines.append(
        f"- seeds: {seeds}; a ± is the sample std (ddof=1) over a row's seeds, its mean the mean over them"
    )
    lines += _windows_line(header["fewest_test_windows"], rows)
    missing = [name for name in ("mean", "knn") if name not in {row["model"] for row in rows}]
    lines += [f"- baselines: no finished run of {' or '.join(missing)}"] if missing else []
    if not header["truth_known"]:
        lines.append(
            "- truth: not known to any run (recorded data): the columns against the truth are left out"
        )
    return lines


def _commit_line(commits: dict[str, int]) -> str:
    if len(commits) == 1:
        commit, count = next(iter(commits.items()))
        return f"- commit: {commit} (all {count} runs)"
    return "- commit: the runs differ: " + ", ".join(f"{c} ({n} runs)" for c, n in commits.items())


def _memory_line(kinds: dict[str, int]) -> str:
    """What the peak-memory column measured, and in how many runs."""
    told = []
    for kind, count in kinds.items():
        short = MEMORY_KINDS.get(kind)
        told.append(f"{short} = {MEMORY_MEANING[short]}" if short else kind)
        told[-1] += f" ({count} runs)"
    return "- peak memory: " + "; ".join(told)


def _windows_line(fewest: float, rows: list[dict]) -> list[str]:
    """The note on rows with fewer than :data:`FEW_WINDOWS` test windows (none where all have more)."""
    if not np.isfinite(fewest) or fewest >= FEW_WINDOWS:
        return []
    few = sum(1 for row in rows if row["windows_min"] < FEW_WINDOWS)
    return [f"- test windows: {few} of {len(rows)} rows have fewer than {FEW_WINDOWS} (fewest {fewest:.0f}): "
            f"their accuracies move in steps of 1/n (1/{fewest:.0f} = {1 / fewest:.3f}) and their errors "
            "rest on few windows"]  # fmt: skip


def table_lines(rows: list[dict], truth: bool) -> list[str]:
    """The Markdown table: one line per row; the truth columns only where ``truth``."""
    alike = len({row["label"].rsplit(" [", 1)[0] for row in rows}) < len(rows)
    several = len({row["dataset_sha256"] for row in rows}) > 1
    columns = [c for c in COLUMNS if _shown(c, truth, alike, several)]
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    return lines + ["| " + " | ".join(_escape(COLUMNS[c](row)) for c in columns) + " |" for row in rows]


def _shown(column: str, truth: bool, alike: bool, several: bool) -> bool:
    if "truth" in column:
        return truth
    return (column != "settings" or alike) and (column != "data set" or several)


def _escape(text: str) -> str:
    return " ".join(text.split()).replace("|", r"\|")


def _num(value: float | None, fmt: str = "{:.3f}") -> str:
    return "–" if value is None or not np.isfinite(value) else fmt.format(value)


def _mean_sd(row: dict, name: str) -> str:
    """``mean ± sd`` over seeds (m); ``[2 of 3]`` where some seeds lack the value."""
    mean, sd, n = row[f"{name}_mean"], row[f"{name}_sd"], row[f"{name}_n"]
    text = _num(mean) + (f" ± {_num(sd)}" if n > 1 else "")
    return text + (f" [{n} of {row['n_seeds']}]" if 0 < n < row["n_seeds"] else "")


def _span(low: float, high: float, fmt: str = "{:.0f}") -> str:
    return _num(low, fmt) if low == high or not np.isfinite(high) else f"{_num(low, fmt)}–{_num(high, fmt)}"


def _size(parameters: float) -> str:
    if not np.isfinite(parameters) or not parameters:
        return "–"
    return f"{parameters / 1e6:.1f} M" if parameters >= 1e6 else f"{parameters / 1e3:.0f} K"


def _memory(row: dict) -> str:
    kind = row["peak_memory_kind"]
    short = " / ".join(MEMORY_KINDS.get(k, k) for k in kind.split(" / ")) if kind else "?"
    return "–" if not np.isfinite(row["peak_memory_mb"]) else f"{row['peak_memory_mb']:.0f} MB {short}"


def _duration(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "–"
    return (
        f"{seconds:.0f} s"
        if seconds < 120
        else f"{seconds / 60:.1f} min"
        if seconds < 7200
        else f"{seconds / 3600:.1f} h"
    )


def _split(row: dict) -> str:
    return f"{row['split']} fold {row['fold']}" if row["split"] in FOLDED_SPLITS else str(row["split"])


def _paper(row: dict) -> str:
    if row["paper_err"] is None:
        return "–"
    accuracies = " / ".join(f"{row[f'paper_acc{n}']:.2f}" for n in (6, 4, 2))
    return f"{row['paper_err']:.3f} / {accuracies}"


#: Column header -> its cell of a row.
COLUMNS = {
    "model": lambda r: r["name"],
    "normalize": lambda r: "–" if r["model"] == "mean" else str(r["normalize"]),
    "split": _split,
    "data set": lambda r: str(r["dataset_sha256"])[:8] or "?",
    "settings": lambda r: r["settings"][:8] or "?",
    "seeds": lambda r: str(r["n_seeds"]),
    "params": lambda r: _size(r["parameters"]),
    "peak memory": _memory,
    "test error vs labels (m)": lambda r: _mean_sd(r, "err"),
    "reference protocol (m)": lambda r: _num(r["paper_protocol_err"]),
    "vs truth (m)": lambda r: _mean_sd(r, "err_true"),
    "median / p90 vs labels (m)": lambda r: f"{_num(r['err_median'])} / {_num(r['err_p90'])}",
    "median / p90 vs truth (m)": lambda r: f"{_num(r['err_true_median'])} / {_num(r['err_true_p90'])}",
    "acc6 / acc4 / acc2": lambda r: " / ".join(_num(r[f"acc{n}"], "{:.2f}") for n in (6, 4, 2)),
    "train time": lambda r: _duration(r["train_seconds"]),
    "epochs": lambda r: _span(r["epochs_min"], r["epochs_max"]),
    "test windows": lambda r: _span(r["windows_min"], r["windows_max"]),
    "paper: error / acc6 / acc4 / acc2": _paper,
}


def cost_lines(costs: list[dict], truth: bool) -> list[str]:
    """The paragraph on what the vision labels cost (test error against the truth, m)."""
    if not truth:
        return []
    if not costs:
        return ["What vision labels cost: no model has a run trained on the truth (data.label_source=truth) "
                "with otherwise equal settings to compare with.", ""]  # fmt: skip
    lines = ["What vision labels cost (test error vs truth, mean over seeds: trained on the vision labels "
             "minus trained on the truth):", ""]  # fmt: skip
    for cost in costs:
        lines.append(
            f"- {cost['model']} ({cost['normalize']}, {cost['split']}): {cost['cost_m']:+.3f} m "
            f"= {cost['labels_trained_err_true']:.3f} m (labels, {cost['labels_trained_seeds']} seeds) "
            f"- {cost['truth_trained_err_true']:.3f} m (truth, {cost['truth_trained_seeds']} seeds)"
        )
    return [*lines, ""]


def _not_averaged(failed: pd.DataFrame) -> list[dict]:
    return [{"run": run, "reason": why} for run, why in zip(failed["run"], failed["failure"], strict=True)]


def _record(row: dict, labelled: bool = True) -> dict:
    """A row as its record: its label first (``labelled``; table2.json keys the record by it
    instead), then every field but the pairing hash and the folders as given (``runs`` holds them
    relative to the runs folder)."""
    fields = {k: v for k, v in row.items() if k not in ("pair", "folders", "label")}
    return {"label": row["label"]} | fields if labelled else fields


def _csv(rows: list[dict]) -> str:
    """The rows as CSV: lists (seeds, runs) joined by spaces."""
    records = [
        {k: " ".join(map(str, v)) if isinstance(v, list) else v for k, v in _record(r).items()} for r in rows
    ]
    buffer = io.StringIO()
    pd.DataFrame(records).to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue()


def _write_text(path: Path, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)
