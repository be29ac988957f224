"""Stage ``predict``: a trained run's model applied to a session's CSI (no video needed).

1. the run: a run folder holding ``model.pt`` (:mod:`lofi.io.run_model`, written by every
   localisation run); :func:`resolve_run` is where other sources (an MLflow run id) plug in;
2. the session's ``csi.csv`` completed as ``lofi csi`` does (losses found, rows inserted and
   filled with the fill method of the run's data set when it recorded one, else linear);
3. non-overlapping windows of the run's own length over the completed rows, each inside one
   CSI segment and without a NaN row (an outage), from the first row of each such stretch;
4. each window's input made as in training (view, normalisation with the run's training
   statistics or per window, extra inputs) and the model's position and regions;
5. ``predictions.parquet`` (one row per window) and its trajectory on the floor plan (PNG).

Output columns: ``t_host`` (s, the window's centre on the host clock; NaN when the log has no
host times), ``t_device`` (s, the centre on the device clock), ``start`` (first completed row),
``segment``, ``x_m``, ``y_m`` (m, region frame), ``region2``, ``region4``, ``region6``.
A ``classify`` run never learnt positions: its ``x_m, y_m`` are NaN. A ``regression`` run never
learnt regions: its regions are those of the predicted position (-1 where that is not finite).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from lofi.csi.choices import DEFAULT_KEEP_SIG_MODES, FILL_METHODS
from lofi.csi.complete import CompletedCsi, CompletionOptions
from lofi.data.features import FeatureSpec
from lofi.data.regions import GRIDS, grid_shape
from lofi.data.windows import run_ids, valid_window_starts
from lofi.io.figures import save_png
from lofi.io.json_report import file_sha256
from lofi.io.run_model import RunModel, RunModelError, load_run_model
from lofi.io.session import read_session_meta
from lofi.io.tables import write_table
from lofi.stages.csi import complete_session_csi
from lofi.stages.paths import interim_path
from lofi.train.run_model import MODEL_FILE, features_of, model_of, model_outputs, task_outputs

#: Fill methods predict can use on its own (csibert needs a recovery file).
FILLS = tuple(m for m in FILL_METHODS if m != "csibert")
#: Windows per forward pass.
BATCH_WINDOWS = 256
#: An MLflow run id (``lofi predict --run <id>``).
MLFLOW_RUN_ID = re.compile(r"[0-9a-f]{32}")


class PredictError(ValueError):
    """The run cannot be applied to the session (window length, subcarriers, too short a log ...)."""


@dataclass(frozen=True)
class LoadedRun:
    """A run's model ready to apply: its name, file, record, model (eval mode) and input features."""

    name: str
    path: Path
    record: RunModel
    model: nn.Module
    features: FeatureSpec


@dataclass
class SessionCsi:
    """A session's completed CSI: amplitude, phase (rows x subcarriers), RSSI (dBm), host and device
    times (s) and CSI segment per row."""

    amplitude: np.ndarray
    phase: np.ndarray
    rssi: np.ndarray
    t_host: np.ndarray
    t_device: np.ndarray
    segment: np.ndarray

    def usable(self, extra: tuple[str, ...]) -> np.ndarray:
        """Rows whose amplitude (and extra inputs) are finite: not in an outage."""
        ok = np.isfinite(self.amplitude).all(axis=1)
        if "phase" in extra:
            ok &= np.isfinite(self.phase).all(axis=1)
        return ok & np.isfinite(self.rssi) if "rssi" in extra else ok


@dataclass
class PredictResult:
    """The prediction table, where it and its plot were written, and the fill method used."""

    table: pd.DataFrame
    out: Path
    plot: Path
    run: LoadedRun
    session_id: str
    fill: str


def resolve_run(run: str | Path, root: str | Path = ".") -> tuple[str, Path]:
    """The name and ``model.pt`` of RUN: a run folder, or an MLflow run id (32 hex digits) whose
    ``model.pt`` is fetched from the store (:func:`fetch_mlflow_run_model`).

    Raises:
        RunModelError: RUN is neither a folder nor a run id, or its run holds no ``model.pt``.
    """
    folder = Path(run)
    if not folder.is_dir() and MLFLOW_RUN_ID.fullmatch(str(run)):
        return fetch_mlflow_run_model(str(run), root)
    if not folder.is_dir():
        raise RunModelError(
            f"{run}: no such run folder (--run takes a run folder of `python -m lofi.train`, "
            f"e.g. results/runs/<run>, holding {MODEL_FILE}, or an MLflow run id)"
        )
    path = folder / MODEL_FILE
    if not path.is_file():
        raise RunModelError(
            f"{path}: no such file: the run folder holds no model (runs made before lofi predict "
            "existed and pre-training runs have none); retrain it with `python -m lofi.train`"
        )
    return folder.resolve().name, path


def fetch_mlflow_run_model(run_id: str, root: str | Path = ".") -> tuple[str, Path]:
    """The run name and ``model.pt`` of MLflow run ``run_id`` of the tracking store
    (``$MLFLOW_TRACKING_URI``, else ``<root>/mlflow.db``), fetched into
    ``<root>/.lofi/mlflow-runs/<run id>/``.

    Raises:
        RunModelError: no such run in the store, or the run logged no ``model.pt``.
    """
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from lofi.train.tracking import mlflow_errors, tracking_uri

    uri = tracking_uri(root)
    with mlflow_errors(uri):
        try:
            name = MlflowClient(tracking_uri=uri).get_run(run_id).info.run_name
        except MlflowException as err:
            raise RunModelError(f"{run_id}: no such MLflow run in {uri}") from err
        logged = {a.path for a in MlflowClient(tracking_uri=uri).list_artifacts(run_id)}
        if MODEL_FILE not in logged:
            raise RunModelError(f"MLflow run {run_id} ({name}) in {uri} logged no {MODEL_FILE}")
        folder = Path(root) / ".lofi" / "mlflow-runs" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as scratch:  # whole, then renamed: never half a file
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=MODEL_FILE, dst_path=scratch, tracking_uri=uri
            )
            os.replace(path, folder / MODEL_FILE)
    return name, folder / MODEL_FILE


def load_run(run: str | Path, root: str | Path = ".") -> LoadedRun:
    """The run's model and features, checked (:func:`resolve_run`, :func:`~lofi.train.run_model.model_of`)."""
    name, path = resolve_run(run, root)
    record = load_run_model(path)
    return LoadedRun(name, path, record, model_of(record, str(path)), features_of(record, str(path)))


def check_length(run: LoadedRun, length: int | None) -> None:
    """Refuse a requested window length (rows) other than the run's: the model knows only its own."""
    if length is not None and length != run.record.length:
        raise PredictError(
            f"{run.path}: the run's model reads windows of {run.record.length} rows, not the "
            f"{length} requested (--length); train a run with data.length={length}"
        )


def fill_method(run: LoadedRun, fill: str | None) -> str:
    """``fill`` when given, else the run's data set's fill method, else linear.

    Raises:
        PredictError: the method needs a CSI-BERT recovery file (csibert) or is unknown.
    """
    method = fill or run.record.fill or "linear"
    if method not in FILLS:
        raise PredictError(
            f"{run.path}: the run's data set was filled with {method!r}, which lofi predict cannot "
            f"apply on its own; pass --fill with one of {', '.join(FILLS)}"
        )
    return method


def sig_modes_of(run: LoadedRun, keep_sig_modes: str | None = None) -> str:
    """``keep_sig_modes`` when given, else the setting the run's data set was made with, else the default."""
    return keep_sig_modes or run.record.source.get("keep_sig_modes") or DEFAULT_KEEP_SIG_MODES


def read_session_csi(
    session: str | Path, fill: str, keep_sig_modes: str = DEFAULT_KEEP_SIG_MODES
) -> tuple[SessionCsi, dict]:
    """The session's completed CSI (``lofi csi``'s completion with ``fill`` and ``keep_sig_modes``)
    and its report."""
    completed, report = complete_session_csi(
        session, CompletionOptions(fill=fill, keep_sig_modes=keep_sig_modes)
    )
    return session_csi(completed), report


def session_csi(completed: CompletedCsi) -> SessionCsi:
    """The arrays predict reads of completed CSI (``lofi csi``'s completion)."""
    table = completed.table
    return SessionCsi(
        amplitude=np.require(completed.amplitude, np.float32, ["C"]),
        phase=np.require(completed.phase, np.float32, ["C"]),
        rssi=table["rssi"].to_numpy(np.float32),
        t_host=table["t_host"].to_numpy(np.float64),
        t_device=table["t_device"].to_numpy(np.float64),
        segment=table["segment"].to_numpy(np.int64),
    )


def window_starts(csi: SessionCsi, record: RunModel, where: str) -> np.ndarray:
    """First rows of the non-overlapping windows of the run's length (one segment, no NaN row).

    Raises:
        PredictError: the session has other subcarriers than the run, or no full window.
    """
    width = csi.amplitude.shape[1]
    if width != record.n_subcarriers:
        raise PredictError(
            f"{where}: the session's CSI has {width} subcarriers, "
            f"the run's model reads {record.n_subcarriers}"
        )
    usable = csi.usable(record.extra)
    starts = valid_window_starts(usable, run_ids(csi.segment), record.length, stride=record.length)
    if len(starts) == 0:
        longest = _longest_stretch(usable, csi.segment)
        raise PredictError(
            f"{where}: no window of {record.length} rows (the run's length): the longest stretch of "
            f"complete CSI rows in one segment has {longest} rows"
        )
    return starts


def _longest_stretch(usable: np.ndarray, segment: np.ndarray) -> int:
    """Most consecutive usable rows within one segment."""
    ids = np.where(usable, run_ids(usable, segment), -1)
    counts = np.bincount(ids[ids >= 0]) if (ids >= 0).any() else np.zeros(1, int)
    return int(counts.max())


def predict_windows(run: LoadedRun, csi: SessionCsi, starts: np.ndarray) -> dict[str, np.ndarray]:
    """The model's ``xy`` (windows x 2, m) and ``region{n}`` (argmax of its region logits) per window."""
    rows = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(run.record.length)
    parts: list[dict[str, np.ndarray]] = []
    for k in range(0, len(rows), BATCH_WINDOWS):
        parts.append(_predict_batch(run, csi, rows[k : k + BATCH_WINDOWS]))
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _predict_batch(run: LoadedRun, csi: SessionCsi, rows: np.ndarray) -> dict[str, np.ndarray]:
    extra = run.features.extra
    phase = csi.phase[rows] if "phase" in extra else None
    rssi = csi.rssi[rows] if "rssi" in extra else None
    return model_outputs(run.model, run.features, csi.amplitude[rows], phase, rssi)


def prediction_table(record: RunModel, csi: SessionCsi, starts: np.ndarray, outputs: dict) -> pd.DataFrame:
    """One row per window: centre times (s), first row, segment, position (m) and regions
    (what the run's task trained: :func:`~lofi.train.run_model.task_outputs`)."""
    last = starts + record.length - 1
    trained = task_outputs(record, outputs)
    table = pd.DataFrame(
        {
            "t_host": (csi.t_host[starts] + csi.t_host[last]) / 2,
            "t_device": (csi.t_device[starts] + csi.t_device[last]) / 2,
            "start": starts.astype(np.int64),
            "segment": csi.segment[starts],
            "x_m": trained["xy"][:, 0],
            "y_m": trained["xy"][:, 1],
        }
    )
    for n in sorted(GRIDS):
        table[f"region{n}"] = trained[f"region{n}"]
    return table


def save_trajectory(table: pd.DataFrame, record: RunModel, path: Path, title: str) -> Path:
    """The predicted positions (m) over time on the run's floor region (w x d m, 6-region grid), PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (w, d), length = record.region_m, record.length
    fig, ax = plt.subplots(figsize=(2.2 + 3.2 * w / max(w, d), 1.0 + 4.2 * d / max(w, d)), dpi=110)
    _floor(ax, record.region_m)
    t = _times(table)
    ax.plot(*_broken_path(table, length), color="0.5", lw=0.8, zorder=2)
    dots = ax.scatter(table["x_m"], table["y_m"], c=t - np.nanmin(t), s=12, cmap="viridis", zorder=3)
    ax.plot(table["x_m"].iloc[:1], table["y_m"].iloc[:1], "k^", ms=7, label="first window", zorder=4)
    ax.plot(table["x_m"].iloc[-1:], table["y_m"].iloc[-1:], "ks", ms=6, label="last window", zorder=4)
    fig.colorbar(dots, ax=ax, label="time since the first window (s)")
    ax.set(xlabel="x (m)", ylabel="y (m)", aspect="equal")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title, fontsize=8)
    return save_png(fig, path)


def _floor(ax, region_m: tuple[float, float]) -> None:
    """The floor region's outline and its 6-region grid (dashed)."""
    w, d = region_m
    ax.plot([0, w, w, 0, 0], [0, 0, d, d, 0], color="k", lw=1.2, zorder=1)
    nx, ny = grid_shape(region_m, 6)
    for k in range(1, nx):
        ax.plot([k * w / nx] * 2, [0, d], color="0.7", ls="--", lw=0.7, zorder=1)
    for k in range(1, ny):
        ax.plot([0, w], [k * d / ny] * 2, color="0.7", ls="--", lw=0.7, zorder=1)


def _times(table: pd.DataFrame) -> np.ndarray:
    """Window centres (s): host times, or device times when the log has none."""
    t = table["t_host"].to_numpy(np.float64)
    return t if np.isfinite(t).all() else table["t_device"].to_numpy(np.float64)


def _broken_path(table: pd.DataFrame, length: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y (m) of the trajectory with a NaN wherever windows of ``length`` rows are not adjacent
    (an outage or a new segment between them)."""
    starts, segments = table["start"].to_numpy(), table["segment"].to_numpy()
    gap = np.flatnonzero((np.diff(starts) != length) | (np.diff(segments) != 0))
    return (np.insert(table[c].to_numpy(np.float64), gap + 1, np.nan) for c in ("x_m", "y_m"))  # type: ignore[return-value]


def default_output(session: str | Path, run_name: str, root: str | Path = ".") -> Path:
    """``<root>/data/interim/<session id>/predictions_<run>.parquet``."""
    return interim_path(session, f"predictions_{run_name}.parquet", root)


def run_predict(
    session: str | Path,
    run: str | Path,
    out: str | Path | None = None,
    plot: str | Path | None = None,
    root: str | Path = ".",
    fill: str | None = None,
    length: int | None = None,
    keep_sig_modes: str | None = None,
) -> PredictResult:
    """Apply RUN's model to SESSION's CSI; write the table (default :func:`default_output`) and its
    trajectory plot (default: beside the table, ``.png``). See the module docstring.

    ``fill``: how to fill lost rows (default: as the run's data set); ``length``: the window length
    (rows) the caller expects, refused when the run's differs (default: the run's);
    ``keep_sig_modes``: which sig_mode sub-streams are pings (default: as the run's data set).
    """
    loaded = load_run(run, root)
    check_length(loaded, length)
    method = fill_method(loaded, fill)
    out = Path(out) if out else default_output(session, loaded.name, root)
    plot = Path(plot) if plot else out.with_suffix(".png")
    _check_outputs(out, plot, loaded.path)
    csi, report = read_session_csi(session, method, sig_modes_of(loaded, keep_sig_modes))
    starts = window_starts(csi, loaded.record, str(session))
    table = prediction_table(loaded.record, csi, starts, predict_windows(loaded, csi, starts))
    session_id = read_session_meta(session).id
    write_table(out, table, _provenance(session_id, report, loaded, method))
    title = f"{session_id}: run {loaded.name} ({loaded.record.model}), {len(table)} windows"
    save_trajectory(table, loaded.record, plot, title)
    return PredictResult(table, out, plot, loaded, session_id, method)


def _check_outputs(out: Path, plot: Path, model_file: Path) -> None:
    """The table and the plot must be two files, neither the run's model."""
    if out.resolve() == plot.resolve():
        raise PredictError(f"{out}: the table and its plot (--plot) cannot be one file")
    for path in (out, plot):
        if path.resolve() == model_file.resolve():
            raise PredictError(f"{path}: is the run's model, an input of lofi predict; write elsewhere")


def _provenance(session_id: str, report: dict, run: LoadedRun, fill: str) -> dict:
    """Where the predictions came from: the session's csi.csv, the run's model file, the fill."""
    return {
        "session": session_id,
        "csi_csv_sha256": report["source_sha256"],
        "run": run.name,
        "model": run.record.model,
        "model_sha256": file_sha256(run.path),
        "dataset_sha256": run.record.dataset_sha256,
        "fill": fill,
        "written_by": "lofi predict",
    }


def summary_line(result: PredictResult) -> str:
    """One line: windows, time span (host clock, else device clock) and the outputs."""
    table, record = result.table, result.run.record
    host = bool(np.isfinite(table["t_host"]).all())
    t = table["t_host" if host else "t_device"].to_numpy(np.float64)
    return (
        f"{result.session_id}: {len(table):,} windows of {record.length} rows centred "
        f"{t.min():.3f} .. {t.max():.3f} s ({'host' if host else 'device'} clock, "
        f"{t.max() - t.min():.1f} s), run {result.run.name} ({record.model}, fill {result.fill}) "
        f"-> {result.out}, plot {result.plot}"
    )
