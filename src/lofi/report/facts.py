"""What ``lofi report`` reads of each run beyond :func:`lofi.report.table2.collect_runs`.

:func:`with_facts` adds, per run, what its ``metrics.json`` records besides the Table II numbers:
the label source it trained on (``config.data.label_source``: ``labels``, the vision labels, or
``truth``, the true positions; missing means ``labels``), the epoch budget
(``config.trainer.max_epochs``), commit, peak memory, the hardware if recorded, error medians and
90th percentiles (m), the floor region (``config.data.region_m``, m), the test-window stride
(``config.data.eval_stride``, else the window length, in data-set rows) and ``pair``: a hash of the
settings without the label source, which a labels-trained run and a truth-trained run share when
they differ in nothing else. :func:`read_predictions` reads a run's ``predictions.parquet``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from lofi.io.json_report import JsonFileError, read_json
from lofi.io.tables import read_table
from lofi.train.naming import NOT_SETTINGS

#: metrics.json key -> column: error quantiles (m) and peak memory (MB).
QUANTILES = {
    "test/err_median": "err_median", "test/err_p90": "err_p90",
    "test/err_true_median": "err_true_median", "test/err_true_p90": "err_true_p90",
    "peak_memory_mb": "peak_memory_mb",
}  # fmt: skip
#: Columns every ``predictions.parquet`` must hold (the truth columns may be missing or NaN).
PREDICTION_COLUMNS = ("session", "start", "x_label", "y_label", "x_pred", "y_pred")
#: Recorded hardware keys of a metrics.json, any of which a run may carry.
HARDWARE_KEYS = ("hardware", "platform", "cpu", "gpu", "device_name")
#: The columns :func:`with_facts` adds.
FACT_COLUMNS = (*QUANTILES.values(), "label_source", "max_epochs", "git_commit", "peak_memory_kind",
                "hardware", "region_m", "stride", "finished_at", "pair")  # fmt: skip


def with_facts(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with the columns of :func:`run_facts` added (row by row, from each ``run`` folder)."""
    facts = [run_facts(Path(run)) for run in runs["run"]]
    return runs.join(pd.DataFrame(facts, index=runs.index, columns=FACT_COLUMNS))


def run_facts(folder: Path) -> dict:
    """The facts of the run in ``folder`` (NaN or None where its metrics.json lacks them)."""
    metrics = _metrics(folder / "metrics.json")
    config = metrics.get("config") if isinstance(metrics.get("config"), dict) else {}
    data = _section(config, "data")
    facts = {name: _number(metrics.get(key)) for key, name in QUANTILES.items()}
    source = data.get("label_source") or "labels"  # missing: the vision labels
    facts |= {
        "label_source": source if isinstance(source, str) else json.dumps(source),
        "max_epochs": _number(_section(config, "trainer").get("max_epochs")),
        "git_commit": _text_or_none(metrics.get("git_commit")),
        "peak_memory_kind": _text_or_none(metrics.get("peak_memory_kind")),
        "hardware": _hardware(metrics),
        "region_m": _region(data.get("region_m")),
        "stride": _number(data.get("eval_stride", data.get("length", metrics.get("length")))),
        "finished_at": _mtime(folder / "metrics.json"),
    }
    return facts | {"pair": _pair(metrics, config, folder)}


def _metrics(path: Path) -> dict:
    """The run's metrics.json; ``{}`` where it cannot be read (collect_runs lists it as not averaged)."""
    try:
        return read_json(path)
    except JsonFileError:
        return {}


def _section(config: dict, name: str) -> dict:
    section = config.get(name)
    return section if isinstance(section, dict) else {}


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _hardware(metrics: dict) -> str | None:
    """What the run recorded of its machine (``hardware``, or ``platform``/``cpu``/``gpu`` keys), as text."""
    found = {key: metrics[key] for key in HARDWARE_KEYS if metrics.get(key)}
    if not found:
        return None
    if set(found) == {"hardware"} and isinstance(found["hardware"], str):
        return found["hardware"]
    return json.dumps(found, sort_keys=True, default=str)


def _region(value: object) -> tuple[float, float] | None:
    """``data.region_m`` as (w, d) in m, or None where it is not two positive numbers."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    w, d = (_number(v) for v in value)
    return (w, d) if np.isfinite([w, d]).all() and w > 0 and d > 0 else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("nan")


def _pair(metrics: dict, config: dict, folder: Path) -> str:
    """Hash of the settings without seed, names, data folder and label source, with the data set:
    runs that differ only in the label source share it. A run without config pairs with none."""
    if not config:
        return f"unpaired {folder}"
    settings = {k: v for k, v in config.items() if k not in (*NOT_SETTINGS, "seed")}
    data = {k: v for k, v in _section(config, "data").items() if k not in ("dir", "label_source")}
    settings |= {"data": data, "dataset_sha256": metrics.get("dataset_sha256")}
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_predictions(folder: str | Path) -> pd.DataFrame | None:
    """The run's ``predictions.parquet`` (one row per test window); None where there is none.

    Raises:
        ValueError: the file cannot be read or lacks a column of :data:`PREDICTION_COLUMNS`.
    """
    path = Path(folder) / "predictions.parquet"
    if not path.is_file():
        return None
    table = read_table(path, "predictions")
    missing = [c for c in PREDICTION_COLUMNS if c not in table]
    if missing:
        raise ValueError(
            f"{path}: column {missing[0]!r} missing (a predictions.parquet of python -m lofi.train)"
        )
    for column in ("x_true", "y_true"):
        if column not in table:
            table[column] = np.nan
    return table
