"""Table II from training runs: one row per setting (all resolved settings but the seed), seeds pooled.

Reads every ``metrics.json`` under a runs folder (the output of ``python -m lofi.train``;
pre-training runs and the trials of an Optuna search, under ``optuna/``, are left out), orders
the rows as the paper's table, and prints the test error against the labels and against the
truth (synthetic data), the region accuracies, the model size and the epochs run, with the
paper's figures beside them. With several seeds a cell shows the mean over seeds and, in
brackets, their standard deviation; a cell some seeds lack says over how many it is taken
(``[2 of 3]``).

Only like is pooled with like: runs share a row when their ``settings_sha256`` (the hash the
training writes of its resolved config without seed, names and paths, and of the data set)
and data set agree; older runs without it are matched on model, task, normalisation, split,
fold, pre-training, data set and the window length, label and extra inputs of their config.
A run that failed (status not ``finished``), has no finite test error, is a network
(parameters > 0) that trained no epoch, or whose ``metrics.json`` cannot be read is listed
under the table, by folder and reason, and never averaged; ``seeds`` counts the runs averaged.
A seed run twice with the same settings counts once, the newest; runs without a seed are
never merged. With several data sets in the folder every row names its data set (short
hash); rows that would still read alike get a ``settings`` column (short hash).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.io.atomic import atomic_open
from lofi.io.constants import FOLDED_SPLITS, SPLITS
from lofi.io.json_report import JsonFileError, read_json
from lofi.models.catalog import BASELINES, NETWORKS
from lofi.report.paper import PAPER_TABLE2
from lofi.train.outputs import settings_sha256

#: Row order: the baselines, then the paper's networks in Table II order (lofi.models.catalog).
ORDER = (*BASELINES, *NETWORKS)
KEYS = ("model", "task", "normalize", "split", "fold", "pretrained", "dataset_sha256")
DATA_KEYS = ("length", "label", "extra")  # config["data"] entries that make windows differ
NUMBERS = {
    "test/err_mean": "err", "test/err_std": "err_std", "test/err_true_mean": "err_true",
    "test/acc6": "acc6", "test/acc4": "acc4", "test/acc2": "acc2", "test/label_err_mean": "label_err",
    "paper/err_mean": "paper_protocol_err", "parameters": "parameters", "epochs": "epochs",
    "train_seconds": "seconds", "test/windows": "windows",
}  # fmt: skip
SORTS = {
    "task": {"multitask": 0, "regression": 1, "classify": 2},
    "normalize": {"window": 0, "global": 1, "none": 2},  # the paper's way first
    "split": {name: k for k, name in enumerate(SPLITS)},
}


#: Ranges a run's recorded numbers can take; a value outside is a damaged or edited metrics.json.
PLAUSIBLE = {
    **{f"test/{k}": (0.0, 1e4) for k in ("err_mean", "err_std", "err_true_mean", "label_err_mean")},
    **{f"test/acc{n}": (0.0, 1.0) for n in (2, 4, 6)},
    "paper/err_mean": (0.0, 1e4),
    "parameters": (0, 1e12),
    "epochs": (0, 1e7),
    "train_seconds": (0.0, 1e9),
    "test/windows": (0, 1e9),
}


def collect_runs(runs_dir: str | Path, only: Collection[str] | None = None) -> pd.DataFrame:
    """One row per localisation run under ``runs_dir`` (every ``metrics.json``, recursively).

    With ``only`` (names of run folders directly under ``runs_dir``), just those runs: a
    pipeline reports the runs its configuration made, not what earlier ones left there.
    Columns: the :data:`KEYS`, ``seed``, ``experiment``, the :data:`NUMBERS` (by their short
    names), ``run`` (the folder), ``settings`` (what makes runs alike) and ``failure`` (empty,
    or why the run is not averaged).
    """
    root = Path(runs_dir)
    paths = (
        sorted(root.rglob("metrics.json"))
        if only is None
        else [root / name / "metrics.json" for name in only]
    )
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise ValueError(f"{missing[0]}: no such file ({len(missing)} of the runs asked for have none)")
    rows = [row for path in paths if (row := _read_run(root, path))]
    if not rows:
        raise ValueError(f"{runs_dir}: no training run (metrics.json) found")
    return _newest_per_seed(pd.DataFrame(rows))


def _read_run(root: Path, path: Path) -> dict | None:
    """The row of one ``metrics.json``; None for a search trial or a pre-training run."""
    if "optuna" in path.relative_to(root).parts:
        return None
    try:
        metrics = read_json(path)
    except JsonFileError as err:  # listed with its reason, not a stop to the whole table
        reason = f"metrics.json unreadable: {str(err).removeprefix(f'{path}: ')}"
        return _row_of(path, {"settings_sha256": f"unreadable {path}"}) | {"failure": reason}
    return None if metrics.get("task") == "pretrain" else _row_of(path, metrics)


def _row_of(path: Path, metrics: dict) -> dict:
    """The frame's row of the run in ``path.parent`` (see :func:`collect_runs`)."""
    row = {
        key: _scalar(metrics.get(key))
        for key in ("model", "task", "normalize", "split", "fold", "experiment")
    }
    dataset = metrics.get("dataset_sha256")
    row |= {"dataset_sha256": dataset if isinstance(dataset, str) else "", "seed": _seed(metrics)}
    row |= {"pretrained": bool(metrics.get("pretrained")), "mtime": path.stat().st_mtime}
    row |= {name: _number(metrics.get(key)) for key, name in NUMBERS.items()}
    return row | {"run": str(path.parent), "settings": _settings(metrics), "failure": _failure(metrics)}


def _scalar(value: object) -> object:
    """``value`` if a JSON scalar, else its JSON text (a list or object in a name is shown, not sorted)."""
    return value if value is None or isinstance(value, str | int | float) else json.dumps(value)


def _seed(metrics: dict) -> int | None:
    """The run's seed; None where it is missing or not an integer (such runs are never merged)."""
    seed = metrics.get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _settings(metrics: dict) -> str:
    """What runs must share to be pooled: ``settings_sha256`` and the data set, else the old keys."""
    dataset = metrics.get("dataset_sha256")
    config = metrics.get("config")
    if isinstance(config, dict) and {"model", "data", "trainer"} <= set(config):  # a whole recorded config
        return json.dumps(["settings", settings_sha256(config, dataset), dataset], default=str)
    given = metrics.get("settings_sha256")
    if isinstance(given, str) and given:
        return json.dumps(["settings", given, dataset], default=str)
    config = metrics.get("config")
    data = config.get("data") if isinstance(config, dict) else None
    data = data if isinstance(data, dict) else {}
    key = [metrics.get(k) for k in KEYS if k != "pretrained"] + [bool(metrics.get("pretrained"))]
    return json.dumps(["keys", key, [data.get(k) for k in DATA_KEYS]], default=str, sort_keys=True)


def _failure(metrics: dict) -> str:
    """Why the run is not averaged, or ``""``: failed, no finite test error, or untrained."""
    status = metrics.get("status", "finished")  # older runs do not say: finished if they have a test error
    if status != "finished":
        return f"status {json.dumps(status, default=str)}, not 'finished'"
    if "test/err_mean" not in metrics:
        return "no test/err_mean"
    if not math.isfinite(_number(metrics["test/err_mean"])):
        return f"test/err_mean is {json.dumps(metrics['test/err_mean'], default=str)}, not a finite number"
    parameters, epochs = _number(metrics.get("parameters")), _number(metrics.get("epochs"))
    if parameters > 0 and not epochs > 0:
        told = json.dumps(metrics["epochs"], default=str) if "epochs" in metrics else "missing"
        return f"untrained: a network of {parameters:.0f} parameters with epochs {told}"
    return _out_of_range(metrics)


def _out_of_range(metrics: dict) -> str:
    """A recorded number no run can produce (an accuracy above 1, a negative error or size), or ``""``."""
    for key, (low, high) in PLAUSIBLE.items():
        value = metrics.get(key)
        if value is None:
            continue
        number = _number(value)
        if math.isnan(number) and not (isinstance(value, float) and math.isnan(value)):
            return f"{key} is {json.dumps(value, default=str)}, not a number"
        if (math.isfinite(number) and not low <= number <= high) or math.isinf(number):
            return f"{key} = {value} lies outside [{low:g}, {high:g}]: not a number a run can record"
    return ""


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")


def _newest_per_seed(table: pd.DataFrame) -> pd.DataFrame:
    """Of runs with the same settings and the same (known) seed, average the newest; the older ones
    are listed as replaced (never dropped without a word)."""
    table = table.sort_values("mtime", kind="stable")
    usable = table["failure"] == ""
    repeated = table[usable].duplicated(["settings", "seed"], keep="last") & table.loc[usable, "seed"].notna()
    older = repeated[repeated].index
    table.loc[older, "failure"] = "an older run of the same settings and seed: replaced by the newest"
    return table.drop(columns="mtime").reset_index(drop=True)


def table2_markdown(runs: pd.DataFrame) -> str:
    """The Markdown table (see the module docstring), then the runs not averaged."""
    usable = runs[runs["failure"] == ""]
    rows = [_row(group) for _, group in _ordered(usable).groupby("settings", sort=False)]
    columns = _columns(rows or [_row(runs.head(0))], runs["dataset_sha256"].nunique() > 1)
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    lines += ["| " + " | ".join(row[c] for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n" + _failures(runs[runs["failure"] != ""])


def _columns(rows: list[dict[str, str]], datasets: bool) -> list[str]:
    """The headers to print: ``data set`` only with several data sets, ``settings`` only where
    two rows would otherwise read alike."""
    looks = [tuple(row[k] for k in ("model", "normalize", "split", "data set")) for row in rows]
    alike = len(set(looks)) < len(looks)
    return [c for c in rows[0] if (c != "data set" or datasets) and (c != "settings" or alike)]


def _ordered(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` in the paper's order: model, task, normalisation, split, fold, then data set."""
    keys = {"order": runs["model"].map({m: i for i, m in enumerate(ORDER)}).fillna(len(ORDER))}
    keys |= {f"{k}_order": runs[k].map(SORTS[k]).fillna(len(SORTS[k])) for k in SORTS}
    keys["fold_order"] = pd.to_numeric(runs["fold"], errors="coerce")
    ordered = runs.assign(**keys).sort_values([*keys, "dataset_sha256", "settings"], kind="stable")
    return ordered.drop(columns=list(keys))


def _failures(failed: pd.DataFrame) -> str:
    """The runs left out of the averages, one line each: folder and reason."""
    if failed.empty:
        return ""
    lines = [f"- {run}: {why}" for run, why in zip(failed["run"], failed["failure"], strict=True)]
    return f"\nNot averaged ({len(failed)} run{'s' * (len(failed) > 1)}):\n" + "\n".join(lines) + "\n"


def _row(group: pd.DataFrame) -> dict[str, str]:
    """The cells of one row (column header -> text); ``group`` holds the seeds of one setting."""
    first = group.iloc[0] if len(group) else pd.Series(dtype=object)
    model = first.get("model")
    task = "" if first.get("task") in ("multitask", "", None) else f" [{_text(first.get('task'))}]"
    name = f"{_text(model)}{' (pre-trained)' if first.get('pretrained') else ''}{task}"
    paper = PAPER_TABLE2.get(str(model))
    return {
        "model": name,
        "normalize": "–" if model == "mean" else _text(first.get("normalize")),  # the mean reads no input
        "split": _split(first.get("split"), first.get("fold")),
        "data set": _text(first.get("dataset_sha256") or None)[:8],
        "settings": _short_settings(first.get("settings")),
        "seeds": str(len(group)),
        "test error (m) vs labels": f"{_cell(group, 'err', '{:.3f}')} ± "
        f"{_cell(group, 'err_std', '{:.3f}', False)}",
        "vs truth": _cell(group, "err_true", "{:.3f}"),
        "acc6 / acc4 / acc2": " / ".join(_cell(group, k, "{:.2f}") for k in ("acc6", "acc4", "acc2")),
        "reference protocol": _cell(group, "paper_protocol_err", "{:.3f}"),
        "params": _size(group["parameters"]) if len(group) else "–",
        "epochs": _cell(group, "epochs", "{:.0f}"),
        "paper: error / acc6 / acc4 / acc2": "–" if paper is None
        else f"{paper[0]:.3f} / {paper[2]:.2f} / {paper[3]:.2f} / {paper[4]:.2f}",
    }  # fmt: skip


def _short_settings(settings: object) -> str:
    """8 hex digits: of the run's ``settings_sha256``, else of the keys that stand in for it."""
    if not isinstance(settings, str):  # the header of a table without rows
        return "?"
    kind, given, *_ = json.loads(settings)
    return (given if kind == "settings" else hashlib.sha256(settings.encode()).hexdigest())[:8]


def _split(split: object, fold: object) -> str:
    """``paper``, or ``cross_subject fold 3``: each held-out subject (or point) has a row of its own."""
    if split not in FOLDED_SPLITS:
        return _text(split)
    number = _number(fold)
    return f"{split} fold {int(number) if math.isfinite(number) else _text(fold)}"


def _text(value: object) -> str:
    """A Markdown table cell: ``?`` for a missing value; ``|`` escaped, no line break."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    return " ".join(str(value).split()).replace("|", r"\|")


def _size(parameters: pd.Series) -> str:
    """Parameter count as 25 K or 11.2 M; baselines have none."""
    finite = parameters[np.isfinite(parameters.to_numpy(dtype=float))]
    if finite.empty or not finite.iloc[0]:
        return "–"
    count = finite.iloc[0]
    return f"{count / 1e6:.1f} M" if count >= 1e6 else f"{count / 1e3:.0f} K"


def _cell(group: pd.DataFrame, column: str, fmt: str, spread: bool = True) -> str:
    """Mean over seeds, the std over seeds in brackets when there are several, and over how many
    seeds when some lack the value (``[2 of 3]``)."""
    values = group[column].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if not len(finite):
        return "–"
    text = fmt.format(finite.mean())
    text += f" ({fmt.format(finite.std(ddof=1))})" if spread and len(finite) > 1 else ""
    return text + (f" [{len(finite)} of {len(values)}]" if len(finite) < len(values) else "")


def write_table2(runs: pd.DataFrame, out: str | Path | None = None) -> str:
    """Table II of ``runs`` (:func:`collect_runs`) as Markdown; also written to ``out`` (atomically)."""
    text = table2_markdown(runs)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(out, "w") as handle:
            handle.write(text)
    return text
