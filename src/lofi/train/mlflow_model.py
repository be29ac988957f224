"""A run's model in MLflow's format: ``mlflow.pyfunc.load_model("runs:/<run id>/model")``.

Every localisation run (networks and the baselines alike) logs ``model`` beside its files: an
MLflow *pyfunc* model from code (:mod:`lofi.train.mlflow_entry`, no pickled object) whose one
artifact is the run's ``model.pt`` (:mod:`lofi.io.run_model`: weights, window length,
normalisation and its training statistics, read with ``torch.load(weights_only=True)``). Loading
it needs ``lofi`` installed.

``predict`` takes raw CSI windows, as ``lofi csi`` completes them, and normalises them as in
training:

- a float32 array ``(windows, length, subcarriers)`` of amplitudes, or
- for a run with extra inputs, a dict ``{"amplitude": ..., "phase": (windows, length,
  subcarriers), "rssi": (windows, length) dBm}``;

and returns one row per window: ``x_m``, ``y_m`` (m; NaN for a ``classify`` run) and
``region2``, ``region4``, ``region6``. The signature and an input example (two of the run's test
windows) are logged with it.
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd

from lofi.data.regions import GRIDS
from lofi.io.run_model import RunModel, load_run_model
from lofi.train.run_model import MODEL_FILE, features_of, model_of, model_outputs, task_outputs

#: The model's name in the run (``runs:/<run id>/model``).
MODEL_NAME = "model"
#: The model's artifact: the run's model.pt.
RUN_MODEL_ARTIFACT = "run_model"
#: The file MLflow runs to build the model (models from code: no pickle).
ENTRY = Path(__file__).with_name("mlflow_entry.py")
#: Packages the model needs (``lofi`` itself brings the rest).
REQUIREMENTS = ("torch", "numpy", "pandas", "lofi")
#: Windows per forward pass.
BATCH_WINDOWS = 256


class WindowModel(mlflow.pyfunc.PythonModel):
    """A run's model on raw CSI windows (see the module docstring)."""

    def load_context(self, context) -> None:
        """Read the run's ``model.pt`` (weights only) and build the model and its features."""
        self.load(context.artifacts[RUN_MODEL_ARTIFACT])

    def load(self, path: str | Path) -> WindowModel:
        """Read the run-model file ``path``; returns ``self``."""
        self.record = load_run_model(path)
        self.model = model_of(self.record, str(path))
        self.features = features_of(self.record, str(path))
        return self

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        """Positions (m) and regions of raw windows (see the module docstring)."""
        amplitude, phase, rssi = window_inputs(model_input, self.record)
        parts = []
        for k in range(0, len(amplitude), BATCH_WINDOWS):
            part = slice(k, k + BATCH_WINDOWS)
            raw = model_outputs(
                self.model,
                self.features,
                amplitude[part],
                None if phase is None else phase[part],
                None if rssi is None else rssi[part],
            )
            parts.append(task_outputs(self.record, raw))
        return prediction_frame(parts)


def prediction_frame(parts: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """Batches of :func:`~lofi.train.run_model.task_outputs` as one table (x_m, y_m, regions)."""
    xy = np.concatenate([p["xy"] for p in parts]) if parts else np.zeros((0, 2))
    table = pd.DataFrame({"x_m": xy[:, 0], "y_m": xy[:, 1]})
    for n in sorted(GRIDS):
        table[f"region{n}"] = np.concatenate([p[f"region{n}"] for p in parts]) if parts else []
    return table


def window_inputs(model_input, record: RunModel) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Amplitude, phase and RSSI windows of ``model_input``, checked against the run's shapes.

    Raises:
        ValueError: an input the run needs is missing, or a shape is not (windows, length,
            subcarriers) of the run (RSSI: (windows, length)).
    """
    given = dict(model_input) if isinstance(model_input, dict) else {"amplitude": model_input}
    missing = [name for name in ("amplitude", *record.extra) if given.get(name) is None]
    if missing:
        raise ValueError(f"the run's model reads {', '.join(missing)} windows; the input lacks them")
    shape = (record.length, record.n_subcarriers)
    arrays = {}
    for name in ("amplitude", "phase", "rssi"):
        if name != "amplitude" and name not in record.extra:
            arrays[name] = None
            continue
        values = np.asarray(given[name], dtype=np.float32)
        expected = shape[:1] if name == "rssi" else shape
        if values.ndim != 1 + len(expected) or values.shape[1:] != expected:
            raise ValueError(
                f"{name} windows of shape {values.shape}: the run's model reads (windows, "
                f"{', '.join(map(str, expected))})"
            )
        arrays[name] = values
    return arrays["amplitude"], arrays["phase"], arrays["rssi"]


def input_example(dataset, length: int, extra: tuple[str, ...] = (), count: int = 2):
    """The first ``count`` windows of ``dataset`` (a run's test windows) of ``length`` rows, raw, as
    :class:`WindowModel` reads them (with the ``extra`` inputs: a dict)."""
    rows = dataset.starts[:count, None] + np.arange(length)
    amplitude = np.ascontiguousarray(dataset.source.amplitude[rows], dtype=np.float32)
    if not extra:
        return amplitude
    example = {"amplitude": amplitude}
    for name in extra:
        example[name] = np.ascontiguousarray(getattr(dataset.source, name)[rows], dtype=np.float32)
    return example


def log_window_model(run_folder: Path, example) -> None:
    """Log the run folder's ``model.pt`` as the active MLflow run's pyfunc model ``model``, with
    its signature (inferred from ``example`` and the model's output on it) and ``example``."""
    from mlflow.models import infer_signature

    path = run_folder / MODEL_FILE
    output = WindowModel().load(path).predict(None, example)
    _skip_package_scan()
    mlflow.pyfunc.log_model(
        name=MODEL_NAME,
        python_model=str(ENTRY),
        artifacts={RUN_MODEL_ARTIFACT: str(path)},
        signature=infer_signature(example, output),
        input_example=example,
        pip_requirements=list(REQUIREMENTS),
    )


def _skip_package_scan() -> None:
    """Skip MLflow's scan of every installed package's files for a module-to-package map (seconds
    per run; used only to check and guess requirements, and this model lists its own): the map
    starts with MLflow's own entries instead. A private detail of MLflow: if it moves, the scan
    runs as before."""
    from mlflow.utils import requirements_utils as utils

    if getattr(utils, "_MODULES_TO_PACKAGES", False) is None:
        utils._MODULES_TO_PACKAGES = dict(getattr(utils, "MLFLOW_MODULES_TO_PACKAGES", {}))
