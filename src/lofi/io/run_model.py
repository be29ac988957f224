"""The run-model file: a localisation run's model plus what is needed to apply it to new CSI.

Every localisation run of ``python -m lofi.train`` writes it as ``model.pt`` in the run
folder (networks at their best checkpoint, the baselines ``mean`` and ``knn`` with their
fitted buffers); ``lofi predict SESSION --run RUN`` reads it. It is a plain dict of
tensors, strings, numbers and lists saved with ``torch.save`` and read back with
``torch.load(weights_only=True)``: loading it runs no pickled code.

=================== ===========================================================================
key                 meaning
=================== ===========================================================================
``format``          :data:`FORMAT`
``state_dict``      the model's weights and buffers (k-NN: its training fingerprints, any size)
``model``           model name of :data:`lofi.models.MODELS` (``gru``, ``knn`` ...)
``options``         the model's constructor options (``model.options`` of the run)
``view``            input view: ``series`` (length x 52 C) or ``correlation`` (C x 52 x 52)
``in_channels``     C: amplitude, then the extra inputs
``n_subcarriers``   values per CSI row and input (52 for ESP32 HT20)
``length``          rows per window (100 = 1 s at 100 Hz)
``label``           how the window label was taken (``mean``, ``last``, ``center``)
``normalize``       ``window``, ``global`` or ``none`` (:mod:`lofi.data.features`)
``extra``           extra inputs after the amplitude (``phase``, ``rssi``)
``stats``           training-split statistics ``{input: {"mean": t, "std": t}}`` the
                    normalisation uses (amplitude and phase: 52 values, rssi: one, in dBm)
``region_m``        floor region (w, d) in m of the region grids
``task``            ``multitask``, ``regression`` or ``classify``
``fill``            how the training data set's lost rows were filled (None: not recorded)
``dataset_sha256``  the training data set's identity
``source``          provenance: experiment, seed, split, git commit, run folder ...
=================== ===========================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lofi.io.atomic import atomic_open
from lofi.io.weights_only import load_format

FORMAT = "lofi-run-model/1"
#: Fields of the payload besides ``format`` (all required).
FIELDS = (
    "state_dict", "model", "options", "view", "in_channels", "n_subcarriers", "length", "label",
    "normalize", "extra", "stats", "region_m", "task", "fill", "dataset_sha256", "source",
)  # fmt: skip


class RunModelError(ValueError):
    """A run-model file is missing, unreadable, of another format, or inconsistent."""


@dataclass
class RunModel:
    """A trained localisation model and how its inputs were made (see the module docstring)."""

    state_dict: dict[str, torch.Tensor]
    model: str
    options: dict
    view: str
    in_channels: int
    n_subcarriers: int
    length: int
    label: str
    normalize: str
    extra: tuple[str, ...] = ()
    stats: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    region_m: tuple[float, float] = (1.8, 4.8)
    task: str = "multitask"
    fill: str | None = None
    dataset_sha256: str = ""
    source: dict = field(default_factory=dict)

    def check(self, where: str) -> None:
        """Raise :class:`RunModelError` (naming ``where``) if a field has the wrong type or range."""
        _check_tensors(self.state_dict, where)
        for name in ("options", "stats", "source"):
            if not isinstance(getattr(self, name), dict):
                raise RunModelError(
                    f"{where}: {name} must be a mapping, got {type(getattr(self, name)).__name__}"
                )
        if self.fill is not None and not isinstance(self.fill, str):
            raise RunModelError(f"{where}: fill must be text or None, got {self.fill!r}")
        for name in ("in_channels", "n_subcarriers", "length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise RunModelError(f"{where}: {name} must be a positive whole number, got {value!r}")
        texts = ("model", "view", "label", "normalize", "task")
        if not all(isinstance(getattr(self, n), str) and getattr(self, n) for n in texts):
            raise RunModelError(f"{where}: {', '.join(texts)} must be non-empty text")
        if not all(isinstance(e, str) for e in self.extra):
            raise RunModelError(f"{where}: extra must be a list of input names, got {self.extra!r}")
        if len(self.region_m) != 2 or not all(math.isfinite(v) and v > 0 for v in self.region_m):
            raise RunModelError(f"{where}: region_m must be (width, depth) > 0 m, got {self.region_m!r}")
        for name, stats in self.stats.items():
            _check_stats(name, stats, self.n_subcarriers, where)


def _check_tensors(state_dict: object, where: str) -> None:
    if not isinstance(state_dict, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()
    ):
        raise RunModelError(f"{where}: state_dict must map names to tensors")


def _check_stats(name: str, stats: object, width: int, where: str) -> None:
    """One input's ``{"mean", "std"}``: equal shapes of ``width`` values or one, finite, std > 0."""
    mean, std = (stats.get(k) if isinstance(stats, dict) else None for k in ("mean", "std"))
    if not (isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor)):
        raise RunModelError(f"{where}: stats[{name!r}] must hold mean and std tensors")
    if mean.shape != std.shape or mean.numel() not in (1, width):
        raise RunModelError(
            f"{where}: stats[{name!r}]: mean {tuple(mean.shape)} and std {tuple(std.shape)} must be "
            f"{width} values (or one)"
        )
    if not (torch.isfinite(mean).all() and (std > 0).all()):
        raise RunModelError(f"{where}: stats[{name!r}]: mean must be finite and std positive")


def save_run_model(path: str | Path, run_model: RunModel) -> Path:
    """Write ``run_model`` to ``path`` atomically; returns the path."""
    path = Path(path)
    run_model.check(str(path))
    payload = {
        "format": FORMAT,
        "state_dict": {k: v.detach().cpu().clone() for k, v in run_model.state_dict.items()},
        "model": run_model.model,
        "options": dict(run_model.options),
        "view": run_model.view,
        "in_channels": int(run_model.in_channels),
        "n_subcarriers": int(run_model.n_subcarriers),
        "length": int(run_model.length),
        "label": run_model.label,
        "normalize": run_model.normalize,
        "extra": list(run_model.extra),
        "stats": {
            name: {k: v.detach().cpu().float() for k, v in stats.items()}
            for name, stats in run_model.stats.items()
        },
        "region_m": [float(v) for v in run_model.region_m],
        "task": run_model.task,
        "fill": run_model.fill,
        "dataset_sha256": run_model.dataset_sha256,
        "source": dict(run_model.source),
    }
    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)
    return path


def load_run_model(path: str | Path) -> RunModel:
    """Read a run-model file (``torch.load(weights_only=True)``: no code runs).

    Raises:
        RunModelError: the file is missing or unreadable, is another kind of file (a Lightning
            ``.ckpt``, a CSI-BERT recovery file) or another format version, or is inconsistent.
    """
    path = Path(path)
    if not path.is_file():
        raise RunModelError(f"{path}: no such run-model file")
    payload = _read_payload(path)
    try:
        run_model = RunModel(
            **{name: payload[name] for name in FIELDS if name not in ("extra", "region_m", "fill")},
            extra=tuple(payload["extra"]),
            region_m=tuple(float(v) for v in payload["region_m"]),
            fill=None if payload["fill"] is None else str(payload["fill"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise RunModelError(f"{path}: run-model file lacks or mistypes a field ({err})") from err
    run_model.check(str(path))
    return run_model


def _read_payload(path: Path) -> dict:
    """The file's dict, checked to be of :data:`FORMAT`."""
    remedy = "retrain the run with this version of lofi (`python -m lofi.train`) to write its model.pt"
    return load_format(path, FORMAT, RunModelError, "run-model file", remedy)
