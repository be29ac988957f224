"""The numbers of ``lofi report``: one row per setting (seeds pooled), the header, what labels cost.

A row holds the runs :func:`lofi.report.table2.collect_runs` pools (same ``settings``); a run
trained on the true positions (``label_source`` ``truth``) has other settings, so a row of its
own, named ``<model> (trained on truth)``. Errors are in m, times in s, memory in MB. Per row:
the mean and sample standard deviation (``ddof=1``, none for one seed) over seeds of the test
error against the labels and the truth; the means over seeds of the medians, 90th percentiles,
region accuracies, reference-protocol error and training time; the largest peak memory; the
epochs run and test windows (least and most over seeds); the paper's Table II numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.report.paper import PAPER_TABLE2
from lofi.report.table2 import ORDER, SORTS

#: Row field -> run column whose mean over seeds it is.
MEANS = {
    "err_median": "err_median", "err_p90": "err_p90", "err_true_median": "err_true_median",
    "err_true_p90": "err_true_p90", "acc6": "acc6", "acc4": "acc4", "acc2": "acc2",
    "paper_protocol_err": "paper_protocol_err", "train_seconds": "seconds",
}  # fmt: skip
PAPER_FIELDS = ("paper_err", "paper_std", "paper_acc6", "paper_acc4", "paper_acc2")
#: Fewer test windows than this in a row: the table says so (accuracies move in steps of 1/n).
FEW_WINDOWS = 100


def report_rows(runs: pd.DataFrame) -> list[dict]:
    """One row (field -> value) per setting of the usable runs (``failure`` empty), in the paper's
    order; ``runs`` is :func:`collect_runs` with :func:`lofi.report.facts.with_facts`."""
    usable = _ordered(runs[runs["failure"] == ""])
    return [_row(group) for _, group in usable.groupby("settings", sort=False)]


def _ordered(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` by model (the paper's order), task, normalisation, split, fold, labels before truth."""
    keys = {"order": runs["model"].map({m: i for i, m in enumerate(ORDER)}).fillna(len(ORDER))}
    keys |= {f"{k}_order": runs[k].map(SORTS[k]).fillna(len(SORTS[k])) for k in SORTS}
    keys["fold_order"] = pd.to_numeric(runs["fold"], errors="coerce")
    keys["source_order"] = (runs["label_source"] != "labels").astype(int)
    ordered = runs.assign(**keys).sort_values([*keys, "dataset_sha256", "settings"], kind="stable")
    return ordered.drop(columns=list(keys))


def _row(group: pd.DataFrame) -> dict:
    """The fields of one row; ``group`` holds the seed runs of one setting."""
    first = group.iloc[0]
    row = _identity(first) | {"seeds": sorted(int(s) for s in group["seed"].dropna())}
    row |= {"n_seeds": len(group), "folders": [str(r) for r in group["run"]]}
    row["run_seeds"] = [None if pd.isna(s) else int(s) for s in group["seed"]]
    for name in ("err", "err_true"):
        mean, sd, n = _spread(group[name])
        row |= {f"{name}_mean": mean, f"{name}_sd": sd, f"{name}_n": n}
    row |= {field: _mean(group[column]) for field, column in MEANS.items()}
    row |= _sizes(group)
    paper = PAPER_TABLE2.get(str(first["model"])) if row["label_source"] == "labels" else None
    return row | dict(zip(PAPER_FIELDS, paper or (None,) * len(PAPER_FIELDS), strict=True))


def _identity(first: pd.Series) -> dict:
    """What names a row: model, task, start, label source, normalisation, split, data set, settings."""
    model, task, source = str(first["model"]), str(first["task"]), str(first["label_source"])
    name = model + (" (pre-trained)" if first["pretrained"] else "")
    name += "" if task in ("multitask", "None") else f" [{task}]"
    name += "" if source == "labels" else f" (trained on {source})"
    fold = pd.to_numeric(pd.Series([first["fold"]]), errors="coerce").iloc[0]
    return {
        "name": name, "model": model, "task": task, "pretrained": bool(first["pretrained"]),
        "label_source": source, "normalize": first["normalize"], "split": first["split"],
        "fold": None if pd.isna(fold) else int(fold), "dataset_sha256": first["dataset_sha256"],
        "settings": _settings_hash(first), "pair": first["pair"], "stride": first["stride"],
        "region_m": None if first["region_m"] is None else list(first["region_m"]),
    }  # fmt: skip


def _settings_hash(first: pd.Series) -> str:
    """The row's ``settings_sha256`` (as training wrote it), or "" for older runs without it."""
    kind, given, *_ = json.loads(first["settings"])
    return str(given) if kind == "settings" else ""


def _sizes(group: pd.DataFrame) -> dict:
    """Parameters, peak memory (largest over seeds) and its kind, epochs and test windows (range)."""
    kinds = sorted({str(k) for k in group["peak_memory_kind"].dropna()})
    return {
        "parameters": _first_finite(group["parameters"]),
        "peak_memory_mb": _extreme(group["peak_memory_mb"], max),
        "peak_memory_kind": " / ".join(kinds) or None,
        "epochs_min": _extreme(group["epochs"], min), "epochs_max": _extreme(group["epochs"], max),
        "max_epochs": _extreme(group["max_epochs"], max),
        "windows_min": _extreme(group["windows"], min), "windows_max": _extreme(group["windows"], max),
    }  # fmt: skip


def _finite(values: pd.Series) -> np.ndarray:
    array = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return array[np.isfinite(array)]


def _spread(values: pd.Series) -> tuple[float, float, int]:
    """Mean, sample std (``ddof=1``; NaN for fewer than two) and count of the finite values."""
    finite = _finite(values)
    mean = float(finite.mean()) if len(finite) else float("nan")
    return mean, float(finite.std(ddof=1)) if len(finite) > 1 else float("nan"), len(finite)


def _mean(values: pd.Series) -> float:
    return _spread(values)[0]


def _extreme(values: pd.Series, pick) -> float:
    finite = _finite(values)
    return float(pick(finite)) if len(finite) else float("nan")


def _first_finite(values: pd.Series) -> float:
    finite = _finite(values)
    return float(finite[0]) if len(finite) else float("nan")


def labels_cost(rows: list[dict]) -> list[dict]:
    """Per pair of rows that differ only in the label source (labels, truth): both test errors
    against the truth (m, means over seeds) and their difference (labels-trained minus
    truth-trained: what training on the vision labels costs)."""
    truth = {row["pair"]: row for row in rows if row["label_source"] == "truth"}
    costs = []
    for row in rows:
        other = truth.get(row["pair"]) if row["label_source"] == "labels" else None
        if other is None or not (row["err_true_n"] and other["err_true_n"]):
            continue
        costs.append({
            "model": row["name"], "normalize": row["normalize"], "split": row["split"], "fold": row["fold"],
            "labels_trained_err_true": row["err_true_mean"], "labels_trained_seeds": row["err_true_n"],
            "truth_trained_err_true": other["err_true_mean"], "truth_trained_seeds": other["err_true_n"],
            "cost_m": row["err_true_mean"] - other["err_true_mean"],
        })  # fmt: skip
    return costs


def report_header(runs: pd.DataFrame, runs_dir: str | Path) -> dict:
    """Facts of the usable runs (``failure`` empty): when, which commit, hardware, data, budget, seeds."""
    usable = runs[runs["failure"] == ""]
    finished = _finite(usable["finished_at"])
    networks = usable[pd.to_numeric(usable["parameters"], errors="coerce") > 0]
    return {
        "date": dt.date.today().isoformat(),
        "runs_dir": str(runs_dir),
        "runs_finished": [_day(finished.min()), _day(finished.max())] if len(finished) else None,
        "commits": _counts(usable["git_commit"]),
        "hardware": _hardware(usable),
        "peak_memory_kinds": _counts(usable["peak_memory_kind"]),
        "datasets": _counts(usable["dataset_sha256"]),
        "epoch_budgets": sorted({int(e) for e in _finite(networks["max_epochs"])}),
        "seeds": sorted({int(s) for s in usable["seed"].dropna()}),
        "fewest_test_windows": _extreme(usable["windows"], min),
        "truth_known": bool(len(_finite(usable["err_true"]))),
    }


def _day(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date().isoformat()


def _counts(values: pd.Series) -> dict[str, int]:
    """Value -> number of runs; ``"not recorded"`` for runs without one (None, NaN or empty)."""
    counted = Counter("not recorded" if v is None or v != v or v == "" else str(v) for v in values)
    return dict(sorted(counted.items()))


def _hardware(usable: pd.DataFrame) -> dict:
    """The runs' recorded hardware, else the machine running the report (``source`` says which)."""
    recorded = usable["hardware"].dropna()
    if len(recorded):
        return {"recorded": True, "machines": sorted(set(recorded))}
    return {"recorded": False, "machines": [this_machine()]}


def this_machine() -> str:
    """Platform, CPU and (NVIDIA) GPU names of this machine, read without starting a GPU library."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        cpu = f"{names[0]} ({len(names)} logical CPUs)" if names else cpu
    gpus = [line.split(":", 1)[1].strip() for info in Path("/proc/driver/nvidia/gpus").glob("*/information")
            for line in info.read_text().splitlines() if line.startswith("Model:")]  # fmt: skip
    return f"{platform.platform()}; CPU {cpu}; GPU {', '.join(gpus) if gpus else 'none found'}"
